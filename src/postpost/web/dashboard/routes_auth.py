"""Signing up, in and out, and switching to a managed user.

GET  /                  to the posts when signed in, else to the sign-in page
GET  /sign-in           the form;  POST: check, start the session, go to `next`
GET  /sign-up           the form (403 when sign-up is off);  POST: create the account
GET  /sign-out          a confirmation form;  POST: end the session
POST /app/workspace     act as a managed user (field `user_id`; empty: as oneself)
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from postpost.api.deps import SessionDep, get_services
from postpost.errors import Conflict, InvalidInput, Unauthenticated
from postpost.services import dashboard_auth
from postpost.web.dashboard.session import (
    CsrfDep,
    OptionalViewerDep,
    PageRefusal,
    ViewerDep,
    get_sessions,
)
from postpost.web.dashboard.templating import PageRoute, page

HOME = "/app/posts"
SIGNUP_OFF = "Sign-up is turned off on this server. Ask its operator for an account."

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def safe_next(target: str | None) -> str:
    """`target` when it is a path on this site, else the home page (no open redirects)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return HOME


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/")
async def home(viewer: OptionalViewerDep) -> Response:
    return RedirectResponse(HOME if viewer else "/sign-in", 303)


@router.get("/sign-in")
async def sign_in_form(request: Request, viewer: OptionalViewerDep, next: str = "") -> Response:
    if viewer is not None:
        return RedirectResponse(safe_next(next), 303)
    signup = get_services(request).settings.signup
    return page(
        request, None, "auth/sign_in.html", next=safe_next(next), email="", problem=None, signup=signup
    )


@router.post("/sign-in")
async def sign_in(request: Request, session: SessionDep, _csrf: CsrfDep) -> Response:
    form = await request.form()
    email = str(form.get("email") or "").strip()
    target = safe_next(str(form.get("next") or ""))
    settings = get_services(request).settings
    policy = dashboard_auth.SignInPolicy(
        settings.sign_in_max_failures, timedelta(seconds=settings.sign_in_window_seconds)
    )
    try:
        account = await dashboard_auth.sign_in(
            session, policy, email, str(form.get("password") or ""), client_address(request)
        )
    except (Unauthenticated, dashboard_auth.TooManyAttempts) as exc:
        answer = page(
            request,
            None,
            "auth/sign_in.html",
            status_code=exc.status_code,
            next=target,
            email=email,
            problem=exc.message,
            signup=settings.signup,
        )
        answer.headers.update(getattr(exc, "headers", None) or {})
        return answer
    response = RedirectResponse(target, 303)
    get_sessions(request).start(response, account)
    return response


@router.get("/sign-up")
async def sign_up_form(request: Request, viewer: OptionalViewerDep) -> Response:
    if not get_services(request).settings.signup:
        raise PageRefusal(403, SIGNUP_OFF, viewer)
    if viewer is not None:
        return RedirectResponse(HOME, 303)
    return page(request, None, "auth/sign_up.html", email="", problem=None)


@router.post("/sign-up")
async def sign_up(request: Request, session: SessionDep, _csrf: CsrfDep) -> Response:
    settings = get_services(request).settings
    if not settings.signup:
        raise PageRefusal(403, SIGNUP_OFF)
    form = await request.form()
    email = str(form.get("email") or "").strip()
    password = str(form.get("password") or "")
    try:
        if password != str(form.get("password_confirm") or ""):
            raise InvalidInput("The two passwords do not match")
        account = await dashboard_auth.sign_up(session, email, password, plan=settings.signup_plan)
    except (InvalidInput, Conflict) as exc:
        return page(
            request, None, "auth/sign_up.html", status_code=exc.status_code, email=email, problem=exc.message
        )
    response = RedirectResponse(HOME, 303)
    get_sessions(request).start(response, account)
    return response


@router.get("/sign-out")
async def sign_out_form(request: Request, viewer: ViewerDep) -> Response:
    return page(request, viewer, "auth/sign_out.html")


@router.post("/sign-out")
async def sign_out(
    request: Request, viewer: OptionalViewerDep, session: SessionDep, _csrf: CsrfDep
) -> Response:
    if viewer is not None:
        await dashboard_auth.end_sessions(session, viewer.account.id)
    response = RedirectResponse("/sign-in", 303)
    get_sessions(request).end(response)
    return response


@router.post("/app/workspace")
async def switch_user(request: Request, viewer: ViewerDep, session: SessionDep, _csrf: CsrfDep) -> Response:
    form = await request.form()
    user_id = str(form.get("user_id") or "").strip()
    acting = None
    if user_id and user_id != viewer.account.id:
        acting = (await dashboard_auth.managed_user(session, viewer.account.id, user_id)).id
    response = RedirectResponse(safe_next(str(form.get("next") or "")), 303)
    get_sessions(request).switch(response, viewer, acting)
    return response
