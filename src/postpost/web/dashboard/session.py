"""Dashboard sessions: who is signed in (a signed cookie), who they act as, and CSRF checks.

The session cookie (`postpost_session`) is signed with the secret key (itsdangerous), HttpOnly,
SameSite=Lax, Secure when the public URL is https. It carries the account id, the managed user
switched to (if any), the CSRF token, and the account's session epoch: signing out or a new
password bumps the epoch, which ends every session of the account. Forms shown before sign-in
carry the token of a separate signed cookie (`postpost_csrf`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer

from postpost.api.deps import get_services
from postpost.db.models import User
from postpost.errors import Forbidden, NotFound, Unauthenticated
from postpost.services import dashboard_auth

SESSION_COOKIE = "postpost_session"
CSRF_COOKIE = "postpost_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CSRF_REFUSED = "Invalid CSRF token"
JSON_PREFIXES = ("/auth/", "/webhooks")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True)
class Viewer:
    """The person signed in (`account`) and the user whose data they see and change (`user`):
    the account itself, or a managed user of the account's workspace they switched to."""

    account: User
    user: User
    csrf_token: str
    managed: tuple[User, ...] = ()  # the users the account may switch to (workspace owners)

    @property
    def switched(self) -> bool:
        return self.user.id != self.account.id


class Interrupt(Exception):  # noqa: N818 - not an error: a response a dependency answers with
    """Stop handling the request and answer `response` (a redirect to sign in, a refusal page)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class PageRefusal(Exception):  # noqa: N818 - answered with an error page, see templating.error_page
    """Stop handling an HTML request and answer an error page with `status` and `message`."""

    def __init__(self, status: int, message: str, viewer: Viewer | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.viewer = viewer


class Sessions:
    """Reads and writes the signed session and anonymous-CSRF cookies."""

    def __init__(self, secret_key: bytes, *, secure: bool, max_age: float) -> None:
        self._session = URLSafeTimedSerializer(secret_key, salt="postpost-dashboard-session")
        self._csrf = URLSafeTimedSerializer(secret_key, salt="postpost-dashboard-csrf")
        self.secure = secure
        self.max_age = int(max_age)

    def read(self, request: Request) -> dict[str, Any] | None:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            data = self._session.loads(raw, max_age=self.max_age)
        except BadSignature:
            return None
        return data if isinstance(data, dict) and isinstance(data.get("u"), str) else None

    def start(self, response: Response, account: User, acting_user_id: str | None = None) -> str:
        """Sign `account` in on `response` (acting as `acting_user_id`); a fresh CSRF token."""
        token = secrets.token_urlsafe(32)
        payload = {"u": account.id, "a": acting_user_id, "c": token, "e": account.session_epoch}
        self._set(response, SESSION_COOKIE, self._session.dumps(payload), self.max_age)
        response.delete_cookie(CSRF_COOKIE, path="/")
        return token

    def switch(self, response: Response, viewer: Viewer, acting_user_id: str | None) -> None:
        """Keep the session (and its CSRF token) but act as `acting_user_id` (None: oneself)."""
        payload = {
            "u": viewer.account.id,
            "a": acting_user_id,
            "c": viewer.csrf_token,
            "e": viewer.account.session_epoch,
        }
        self._set(response, SESSION_COOKIE, self._session.dumps(payload), self.max_age)

    def end(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/", secure=self.secure, httponly=True, samesite="lax")

    def anonymous_token(self, request: Request) -> str | None:
        raw = request.cookies.get(CSRF_COOKIE)
        if not raw:
            return None
        try:
            token = self._csrf.loads(raw, max_age=self.max_age)
        except BadSignature:
            return None
        return token if isinstance(token, str) else None

    @staticmethod
    def new_anonymous_token() -> str:
        return secrets.token_urlsafe(32)

    def set_anonymous_token(self, response: Response, token: str) -> None:
        self._set(response, CSRF_COOKIE, self._csrf.dumps(token), self.max_age)

    def _set(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name, value, max_age=max_age, path="/", secure=self.secure, httponly=True, samesite="lax"
        )


def get_sessions(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.dashboard_sessions
    return sessions


def wants_json(request: Request) -> bool:
    """Whether refusals for this request are JSON (the JSON routes, and script requests)."""
    if request.url.path.startswith(JSON_PREFIXES):
        return True
    content_type = request.headers.get("content-type", "")
    accept = request.headers.get("accept", "")
    return "application/json" in content_type or ("application/json" in accept and "text/html" not in accept)


async def optional_viewer(request: Request) -> Viewer | None:
    """The viewer of a valid session, else None."""
    data = get_sessions(request).read(request)
    if data is None:
        return None
    async with get_services(request).database.session() as session:
        account = await session.get(User, data["u"])
        if account is None or not account.password_hash or account.session_epoch != data.get("e"):
            return None
        user = account
        acting = data.get("a")
        if isinstance(acting, str):
            try:
                user = await dashboard_auth.managed_user(session, account.id, acting)
            except NotFound:
                user = account  # no longer managed by this account: back to one's own data
        managed: list[User] = []
        if account.workspaces_enabled or account.is_admin:
            managed = await dashboard_auth.managed_users(session, account.id)
    return Viewer(account=account, user=user, csrf_token=str(data.get("c") or ""), managed=tuple(managed))


OptionalViewerDep = Annotated[Viewer | None, Depends(optional_viewer)]


async def current_viewer(request: Request, viewer: OptionalViewerDep) -> Viewer:
    """HTML routes: the viewer, or a 303 to the sign-in page that comes back here."""
    if viewer is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise Interrupt(RedirectResponse(f"/sign-in?next={quote(target, safe='')}", 303))
    return viewer


async def current_viewer_json(viewer: OptionalViewerDep) -> Viewer:
    """JSON routes: the viewer, or 401 `{"error": "Unauthorized"}`."""
    if viewer is None:
        raise Unauthenticated("Unauthorized")
    return viewer


async def csrf_checked(request: Request, viewer: OptionalViewerDep) -> None:
    """Every state-changing request: the `csrf_token` form field or the X-CSRF-Token header must
    equal the session's token (before sign-in: the anonymous cookie's)."""
    expected = viewer.csrf_token if viewer is not None else get_sessions(request).anonymous_token(request)
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        submitted = str((await request.form()).get(CSRF_FIELD) or "")
    if expected and submitted and secrets.compare_digest(expected, submitted):
        return
    if wants_json(request):
        raise Forbidden(CSRF_REFUSED)
    raise PageRefusal(403, CSRF_REFUSED, viewer)


ViewerDep = Annotated[Viewer, Depends(current_viewer)]
ViewerJsonDep = Annotated[Viewer, Depends(current_viewer_json)]
CsrfDep = Annotated[None, Depends(csrf_checked)]
