"""ASGI application assembling the fake platforms and the control API.

Layout (relative to the mount point)::

    /mastodon/...        Mastodon instance base URL
    /bluesky/xrpc/...    Bluesky PDS base URL
    /_control/...        posts listing, fault queue, reset (all or one account), health
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from postpost.simulator.bluesky import BlueskyAPI
from postpost.simulator.faults import PLATFORMS, normalize_fault
from postpost.simulator.mastodon import MastodonAPI
from postpost.simulator.state import SimulatorState, did_for_identifier


def _account_key(platform: str, account: str) -> str:
    """Normalise a control-API account reference (Bluesky handles map to their DID)."""
    if platform == "bluesky" and not account.startswith("did:"):
        return did_for_identifier(account)[0]
    return account


def _target(raw: bytes) -> tuple[str, str, dict[str, Any]] | Response:
    """``(platform, account key, body)`` of a control request naming an account, or its 400 answer."""
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return JSONResponse({"error": "body must be a JSON object"}, 400)
    platform, account = body.get("platform"), body.get("account")
    if platform not in PLATFORMS:
        return JSONResponse({"error": f"platform must be one of {sorted(PLATFORMS)}"}, 400)
    if not isinstance(account, str) or not account:
        return JSONResponse({"error": "account must be a non-empty string"}, 400)
    return platform, _account_key(platform, account), body


class ControlAPI:
    """Test/benchmark hooks: inspect posts, queue faults, reset."""

    def __init__(self, state: SimulatorState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        """Routes relative to ``/_control``."""
        return [
            Route("/posts", self.posts, methods=["GET"]),
            Route("/reset", self.reset, methods=["POST"]),
            Route("/faults", self.queue_fault, methods=["POST"]),
            Route("/faults", self.list_faults, methods=["GET"]),
            Route("/health", self.health, methods=["GET"]),
        ]

    async def posts(self, request: Request) -> Response:
        """``GET /_control/posts?platform=&account=`` in acceptance order."""
        platform = request.query_params.get("platform") or None
        account = request.query_params.get("account") or None
        posts = self.state.posts
        if platform is not None:
            posts = [p for p in posts if p.platform == platform]
        if account is not None:
            keys = {account} | {_account_key(p, account) for p in PLATFORMS if platform in (None, p)}
            posts = [p for p in posts if p.account in keys]
        return JSONResponse({"posts": [p.as_json() for p in posts]})

    async def reset(self, request: Request) -> Response:
        """``POST /_control/reset``: everything, or one account with ``{"platform", "account"}``."""
        raw = await request.body()
        if not raw.strip():
            self.state.reset()
            return JSONResponse({"status": "ok"})
        target = _target(raw)
        if isinstance(target, Response):
            return target
        platform, key, _body = target
        self.state.reset_account(platform, key)
        return JSONResponse({"status": "ok", "platform": platform, "account": key})

    async def queue_fault(self, request: Request) -> Response:
        """``POST /_control/faults`` ``{"platform", "account", "fault", "times"}``."""
        target = _target(await request.body())
        if isinstance(target, Response):
            return target
        platform, key, body = target
        name, times = body.get("fault"), body.get("times", 1)
        fault = normalize_fault(name) if isinstance(name, str) else None
        if fault is None:
            return JSONResponse({"error": f"unknown fault {name!r}"}, 400)
        if not isinstance(times, int) or isinstance(times, bool) or times < 1:
            return JSONResponse({"error": "times must be a positive integer"}, 400)
        queued = self.state.faults.push(platform, key, fault, times)
        return JSONResponse({"platform": platform, "account": key, "fault": fault, "queued": queued})

    async def list_faults(self, request: Request) -> Response:
        """``GET /_control/faults``: faults still queued."""
        return JSONResponse({"faults": self.state.faults.pending()})

    async def health(self, request: Request) -> Response:
        """``GET /_control/health``."""
        return JSONResponse({"status": "ok"})


def create_simulator_app(
    *,
    stall_seconds: float = 30.0,
    clock: Callable[[], float] | None = None,
    mastodon_max_characters: int = 500,
) -> Starlette:
    """Build the simulator ASGI app.

    ``stall_seconds`` is how long a ``timeout-after-commit`` response stalls;
    ``clock`` (default :func:`time.time`) drives token expiry, timestamps and ids;
    ``mastodon_max_characters`` is the fake instance's configured status length.
    The :class:`SimulatorState` is exposed as ``app.state.simulator``.
    """
    state = SimulatorState(
        clock=clock or time.time, stall_seconds=stall_seconds, mastodon_max_characters=mastodon_max_characters
    )
    app = Starlette(
        routes=[
            Mount("/mastodon", routes=MastodonAPI(state).routes()),
            Mount("/bluesky", routes=BlueskyAPI(state).routes()),
            Mount("/_control", routes=ControlAPI(state).routes()),
        ]
    )
    app.state.simulator = state
    return app
