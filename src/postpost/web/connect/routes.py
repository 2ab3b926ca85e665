"""The connect pages' routes: HTML in, HTML or redirects out; the work is `ConnectFlows`'.

    GET  /connect/<token>                       the page: platforms, connected accounts
    POST /connect/<token>/disconnect            remove one account (form: platformId)
    GET  /connect/<token>/<platform>            start OAuth (302), or show the platform's form
    POST /connect/<token>/<platform>            a form: sign in (Bluesky), bot (Telegram), instance
    GET  /oauth/callback/<platform>             back from the platform: store, or choose pages
    POST /connect/<token>/<platform>/pages      the chosen pages (form: key, page…)

Every failure is an HTML page with its status (400, 403, 404, 410); nothing is stored then.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from postpost.errors import InvalidInput, LimitExceeded, PostpostError
from postpost.platforms.base import PlatformError
from postpost.platforms.registry import descriptor
from postpost.services.connect_flows import BACK_DASHBOARD, Completed, ConnectFlows, FlowFailed
from postpost.web.connect.render import HEADERS, error_page, page

TRUE = ("1", "true", "yes", "on")
DASHBOARD_CHANNELS = "/app/channels"  # where flows started on the dashboard come back to


class PageRoute(APIRoute):
    """A route whose domain and platform errors become HTML pages instead of JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except FlowFailed as failed:
                return _error(failed.error, failed.token)
            except (PostpostError, PlatformError) as exc:
                return _error(exc, request.path_params.get("token"))

        return handle


def _error(exc: PostpostError | PlatformError, token: str | None) -> Response:
    """The page for a failure; it links back to the connect page while the link is usable."""
    if isinstance(exc, LimitExceeded):
        message = str(exc.fields.get("message") or exc.message)
        return error_page(exc.status_code, message, token=token, code=str(exc.fields.get("code")))
    if isinstance(exc, PostpostError):
        return error_page(exc.status_code, exc.message, token=token if exc.status_code < 404 else None)
    return error_page(400, exc.message, token=token)


@dataclass(frozen=True)
class Field:
    """One input of a sign-in form."""

    name: str
    label: str
    hint: str
    type: str = "text"
    value: str = ""


def _sandbox_fields(platform: str) -> dict[str, str]:
    """Values the simulator accepts, filled in on a sandbox form (each visit a new account)."""
    if platform == "bluesky":
        return {
            "identifier": f"sandbox-{secrets.token_hex(4)}.bsky.social",
            "password": "sandbox-app-password",
        }
    if platform == "telegram":
        bot = secrets.randbelow(9 * 10**9) + 10**9
        channel = secrets.randbelow(9 * 10**9) + 10**9
        return {"bot_token": f"{bot}:sandbox-{secrets.token_hex(8)}", "chat": f"-100{channel}"}
    return {"instance": "sandbox"}


FORMS = {
    "bluesky": [
        Field("identifier", "Handle or DID", "e.g. alice.bsky.social"),
        Field("password", "App password", "Settings → Privacy and security → App passwords", "password"),
    ],
    "telegram": [
        Field("bot_token", "Bot token", "from @BotFather", "password"),
        Field("chat", "Channel", "@name or numeric id; the bot must be an administrator allowed to post"),
    ],
    "mastodon": [Field("instance", "Your server", "e.g. mastodon.social")],
}


def connect_router(flows: ConnectFlows) -> APIRouter:
    """The connect pages, served by `flows`."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    def done(result: Completed) -> RedirectResponse:
        connected = quote(",".join(result.platform_ids))
        target = f"/connect/{result.token}?connected={connected}"
        if result.back == BACK_DASHBOARD:
            target = f"{DASHBOARD_CHANNELS}?connected={connected}"
        return RedirectResponse(target, 303, headers=HEADERS)

    def form(
        token: str, platform: str, *, sandbox: bool, problem: str | None = None, status: int = 200
    ) -> Response:
        described = descriptor(platform)
        values = _sandbox_fields(platform) if sandbox else {}
        fields = [Field(f.name, f.label, f.hint, f.type, values.get(f.name, "")) for f in FORMS[platform]]
        title = described.title if described else platform
        context = {"token": token, "platform": platform, "title": title, "fields": fields, "sandbox": sandbox}
        return page("form.html", status, problem=problem, **context)

    @router.get("/connect/{token}")
    async def show(token: str, connected: str = "") -> Response:
        found = await flows.page(token)
        mine = {c.platform_id for c in found.connections}
        shown = [pid for pid in connected.split(",") if pid in mine]
        return page("connect.html", page=found, connected=shown, removal=None)

    @router.post("/connect/{token}/disconnect")
    async def disconnect(token: str, request: Request) -> Response:
        data = await request.form()
        platform_id = str(data.get("platformId") or "")
        removal = await flows.disconnect(token, platform_id)
        return page("connect.html", page=await flows.page(token), connected=[], removal=removal)

    @router.get("/connect/{token}/{platform}")
    async def start(
        token: str, platform: str, sandbox: str = "", pages: str = "", instance: str = ""
    ) -> Response:
        in_sandbox = sandbox.lower() in TRUE
        if platform in FORMS and not (platform == "mastodon" and (in_sandbox or instance)):
            await flows.page(token)  # the link must be valid before a form is shown
            return form(token, platform, sandbox=in_sandbox)
        url = await flows.begin(
            token, platform, sandbox=in_sandbox, pages=pages.lower() in TRUE, instance=instance
        )
        return RedirectResponse(url, 302, headers=HEADERS)

    @router.post("/connect/{token}/{platform}")
    async def submit(token: str, platform: str, request: Request) -> Response:
        if platform not in FORMS:
            return error_page(404, f"Unknown platform: {platform}")
        data = {k: str(v) for k, v in (await request.form()).items()}
        sandbox = data.get("sandbox", "").lower() in TRUE
        if platform == "mastodon":
            url = await flows.begin(token, platform, sandbox=sandbox, instance=data.get("instance", ""))
            return RedirectResponse(url, 303, headers=HEADERS)
        try:
            if platform == "bluesky":
                result = await flows.sign_in(
                    token, platform, data.get("identifier", ""), data.get("password", ""), sandbox=sandbox
                )
            else:
                result = await flows.add_bot(
                    token, platform, data.get("bot_token", ""), data.get("chat", ""), sandbox=sandbox
                )
        except (PlatformError, InvalidInput) as exc:  # shown on the form, to try again
            return form(token, platform, sandbox=sandbox, problem=exc.message, status=400)
        return done(result)

    @router.get("/oauth/callback/{platform}")
    async def callback(platform: str, request: Request) -> Response:
        result = await flows.complete(platform, dict(request.query_params))
        if isinstance(result, Completed):
            return done(result)
        return page("choose.html", choice=result)

    @router.post("/connect/{token}/{platform}/pages")
    async def choose(token: str, platform: str, request: Request) -> Response:
        data = await request.form()
        chosen = [str(v) for v in data.getlist("page")]
        return done(await flows.choose(token, platform, str(data.get("key") or ""), chosen))

    return router
