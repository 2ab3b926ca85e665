"""The simulator's ASGI app: every fake platform, mounted at its name, and the control API.

Layout (relative to the mount point)::

    /<platform>/...      each fake (e.g. /mastodon is a Mastodon instance's base URL)
    /_control/...        accepted posts, fault queue, reset, request log, health
    /_control/<platform>/...  a fake's own controls (e.g. LinkedIn's analytics faults)

A fake is found by name: ``postpost.simulator.<platform>`` defining ``FAKE``.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from postpost.simulator.fake import Fake
from postpost.simulator.faults import normalize_fault
from postpost.simulator.world import World

# the platforms the simulator may fake (its own list: it knows nothing of postpost's adapters)
PLATFORM_NAMES = (
    "twitter",
    "linkedin",
    "instagram",
    "threads",
    "tiktok",
    "youtube",
    "facebook",
    "bluesky",
    "mastodon",
    "telegram",
)


def fake_classes() -> dict[str, type[Fake]]:
    """The fake of every platform that has a simulator module."""
    found: dict[str, type[Fake]] = {}
    for name in PLATFORM_NAMES:
        try:
            module = importlib.import_module(f"postpost.simulator.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"postpost.simulator.{name}":
                raise
            continue
        found[name] = module.FAKE
    return found


class ControlAPI:
    """Test and sandbox hooks: inspect accepted posts and requests, queue faults, reset."""

    def __init__(self, world: World, fakes: Mapping[str, Fake]) -> None:
        self.world = world
        self.fakes = fakes

    def routes(self) -> list[Route]:
        """Routes relative to ``/_control``."""
        return [
            Route("/posts", self.posts, methods=["GET"]),
            Route("/reset", self.reset, methods=["POST"]),
            Route("/faults", self.queue_fault, methods=["POST"]),
            Route("/faults", self.list_faults, methods=["GET"]),
            Route("/requests", self.requests, methods=["GET"]),
            Route("/health", self.health, methods=["GET"]),
        ]

    async def posts(self, request: Request) -> Response:
        """``GET /_control/posts?platform=&account=`` in acceptance order."""
        platform = request.query_params.get("platform") or None
        account = request.query_params.get("account") or None
        posts = self.world.accepted
        if platform is not None:
            posts = [p for p in posts if p.platform == platform]
        if account is not None:
            keys = {account} | {
                fake.account_key(account) for name, fake in self.fakes.items() if platform in (None, name)
            }
            posts = [p for p in posts if p.account in keys]
        return JSONResponse({"posts": [p.as_json() for p in posts]})

    async def reset(self, request: Request) -> Response:
        """``POST /_control/reset``: everything, or one account with ``{"platform", "account"}``."""
        raw = await request.body()
        if not raw.strip():
            self.world.forget()
            for fake in self.fakes.values():
                fake.forget()
            return JSONResponse({"status": "ok"})
        target = self._target(raw)
        if isinstance(target, Response):
            return target
        fake, key, _body = target
        self.world.forget(fake.name, key)
        fake.forget(key)
        return JSONResponse({"status": "ok", "platform": fake.name, "account": key})

    async def queue_fault(self, request: Request) -> Response:
        """``POST /_control/faults`` ``{"platform", "account", "fault", "times"}``."""
        target = self._target(await request.body())
        if isinstance(target, Response):
            return target
        fake, key, body = target
        name, times = body.get("fault"), body.get("times", 1)
        fault = normalize_fault(name) if isinstance(name, str) else None
        if fault is None:
            return JSONResponse({"error": f"unknown fault {name!r}"}, 400)
        if not isinstance(times, int) or isinstance(times, bool) or times < 1:
            return JSONResponse({"error": "times must be a positive integer"}, 400)
        queued = self.world.faults.push(fake.name, key, fault, times)
        return JSONResponse({"platform": fake.name, "account": key, "fault": fault, "queued": queued})

    def _target(self, raw: bytes) -> tuple[Fake, str, dict[str, Any]] | Response:
        """The fake, account key and body of a control request naming an account, or a 400."""
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return JSONResponse({"error": "body must be a JSON object"}, 400)
        platform, account = body.get("platform"), body.get("account")
        fake = self.fakes.get(platform) if isinstance(platform, str) else None
        if fake is None:
            return JSONResponse({"error": f"platform must be one of {sorted(self.fakes)}"}, 400)
        if not isinstance(account, str) or not account:
            return JSONResponse({"error": "account must be a non-empty string"}, 400)
        return fake, fake.account_key(account), body

    async def list_faults(self, request: Request) -> Response:
        """``GET /_control/faults``: faults still queued."""
        return JSONResponse({"faults": self.world.faults.pending()})

    async def requests(self, request: Request) -> Response:
        """``GET /_control/requests?platform=&path=``: the requests the fakes received, oldest first."""
        platform = request.query_params.get("platform") or None
        path = request.query_params.get("path") or None
        found = [
            r
            for r in self.world.requests
            if (platform is None or r["platform"] == platform) and (path is None or r["path"] == path)
        ]
        return JSONResponse({"requests": found})

    async def health(self, request: Request) -> Response:
        """``GET /_control/health``."""
        return JSONResponse({"status": "ok", "platforms": sorted(self.fakes)})


class RequestLog:
    """ASGI middleware noting every request a fake receives (platform, method, path)."""

    def __init__(self, app: ASGIApp, world: World, names: frozenset[str]) -> None:
        self.app = app
        self.world = world
        self.names = names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            root = scope.get("root_path", "")
            path: str = scope["path"][len(root) :] if scope["path"].startswith(root) else scope["path"]
            platform, _, rest = path.lstrip("/").partition("/")
            if platform in self.names:
                self.world.log_request(platform, scope["method"], "/" + rest)
        await self.app(scope, receive, send)


def create_simulator_app(
    *,
    stall_seconds: float = 30.0,
    slow_seconds: float = 5.0,
    hold_seconds: float = 1.0,
    clock: Callable[[], float] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> Starlette:
    """Build the simulator.

    ``stall_seconds``: how long a ``timeout-after-commit`` answer stalls; ``slow_seconds``: how long
    a ``#sandbox:slow`` publish takes; ``hold_seconds``: the reset a 429 announces; ``clock``
    (default :func:`time.time`) drives tokens, timestamps and ids; ``options`` are per-platform
    settings of the fakes (e.g. ``{"mastodon": {"max_characters": 1000}}``). The world is
    exposed as ``app.state.world``.
    """
    world = World(
        clock=clock or time.time,
        stall_seconds=stall_seconds,
        slow_seconds=slow_seconds,
        hold_seconds=hold_seconds,
    )
    fakes = {name: cls(world, **dict((options or {}).get(name, {}))) for name, cls in fake_classes().items()}
    routes = [Mount(f"/{name}", routes=fake.routes()) for name, fake in fakes.items()]
    controls = [Mount(f"/{name}", routes=fake.control_routes()) for name, fake in fakes.items()]
    routes.append(Mount("/_control", routes=[*ControlAPI(world, fakes).routes(), *controls]))
    app = Starlette(routes=routes)
    app.add_middleware(RequestLog, world=world, names=frozenset(fakes))
    app.state.world = world
    return app
