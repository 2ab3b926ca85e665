"""The sandbox's control routes as `postpost serve` exposes them: per tenant, behind an API key.

The simulator's own control API (`/_control`: posts listing, fault queue, reset) is open, as a
fake of the outside world used by tests may be. On a shared server that would let anyone read
every tenant's sandbox posts or break their accounts, so the server mounts this guard at
`/sandbox/_control`, in front of the simulator. It authenticates `x-api-key` exactly like the
API and forwards to the simulator's control API only what concerns the caller's own sandbox
accounts (the user's connections with `is_sandbox`), matched by (platform, account).

    GET  /posts[?platform=&account=]     {"posts": [...]}: the caller's sandbox posts only
    GET  /faults                         {"faults": [...]}: faults queued for the caller's accounts
    POST /faults {"platform", "account", "fault", "times"}: only for one of the caller's accounts
    POST /reset [{"platform", "account"}]: forget the caller's accounts' posts (or one account's)
    GET  /health                         open
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from postpost.db.session import Database
from postpost.errors import Forbidden, InvalidInput, NotFound, PostpostError
from postpost.sandbox import AccountRef, user_accounts
from postpost.security import KeyHasher
from postpost.services.auth import authenticate


class SandboxControl:
    """Authenticating, tenant-filtering front of the simulator's control API."""

    def __init__(self, database: Database, hasher: KeyHasher, simulator: ASGIApp) -> None:
        self.database = database
        self.hasher = hasher
        self.simulator = simulator

    def app(self) -> Starlette:
        """The ASGI app to mount at `/sandbox/_control`."""
        return Starlette(
            routes=[
                Route("/posts", self.posts, methods=["GET"]),
                Route("/faults", self.list_faults, methods=["GET"]),
                Route("/faults", self.queue_fault, methods=["POST"]),
                Route("/reset", self.reset, methods=["POST"]),
                Route("/health", self.health, methods=["GET"]),
            ],
            exception_handlers={
                PostpostError: _domain_error,
                404: _not_found,
                405: _not_allowed,
                Exception: _server_error,
            },
        )

    async def posts(self, request: Request) -> Response:
        accounts = await self._sandbox_accounts(request)
        listing = await self._forward("GET", "/posts", params=dict(request.query_params))
        posts = [p for p in listing.json()["posts"] if _owned(accounts, p)]
        return JSONResponse({"posts": posts})

    async def list_faults(self, request: Request) -> Response:
        accounts = await self._sandbox_accounts(request)
        pending = (await self._forward("GET", "/faults")).json()["faults"]
        return JSONResponse({"faults": [f for f in pending if _owned(accounts, f)]})

    async def queue_fault(self, request: Request) -> Response:
        accounts = await self._sandbox_accounts(request, all_accounts=True)
        body = await _json_object(request)
        target = _designated(accounts, body)
        return await self._relay("POST", "/faults", {**body, "account": target.account_id})

    async def reset(self, request: Request) -> Response:
        accounts = await self._sandbox_accounts(request, all_accounts=True)
        targets = [a for a in accounts if a.is_sandbox]
        if (await request.body()).strip():
            targets = [_designated(accounts, await _json_object(request))]
        reset = [{"platform": t.platform, "account": t.account_id} for t in targets]
        for account in reset:
            await self._forward("POST", "/reset", json=account)
        return JSONResponse({"status": "ok", "accounts": reset})

    async def health(self, _request: Request) -> Response:
        return await self._relay("GET", "/health")

    async def _sandbox_accounts(self, request: Request, *, all_accounts: bool = False) -> list[AccountRef]:
        """Authenticate the request; return the effective user's (sandbox) accounts."""
        async with self.database.session() as session:
            principal = await authenticate(
                session,
                self.hasher,
                api_key=request.headers.get("x-api-key"),
                acting_user_id=request.headers.get("x-postpost-user-id"),
                client=request.headers.get("x-postpost-client"),
            )
            if session.dirty:
                await session.commit()
            accounts = await user_accounts(session, principal.user_id)
        return accounts if all_accounts else [a for a in accounts if a.is_sandbox]

    async def _forward(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.simulator)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return await client.request(method, f"/_control{path}", **kwargs)

    async def _relay(self, method: str, path: str, body: dict[str, Any] | None = None) -> Response:
        """The simulator's answer, passed on as it is."""
        reply = await self._forward(method, path, json=body)
        return JSONResponse(reply.json(), reply.status_code)


def _owned(accounts: list[AccountRef], item: dict[str, Any]) -> bool:
    return any((a.platform, a.account_id) == (item.get("platform"), item.get("account")) for a in accounts)


def _designated(accounts: list[AccountRef], body: dict[str, Any]) -> AccountRef:
    """The caller's account `body` names; another user's account is simply not found."""
    platform, account = body.get("platform"), body.get("account")
    if not isinstance(platform, str) or not isinstance(account, str) or not account:
        raise InvalidInput("platform and account are required")
    for candidate in accounts:
        if candidate.named_by(platform, account):
            if not candidate.is_sandbox:
                raise Forbidden(f"Not a sandbox account: {platform}-{candidate.account_id}")
            return candidate
    raise NotFound("Sandbox account not found")


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    return body


async def _domain_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PostpostError)  # registered for PostpostError only
    return JSONResponse(exc.body(), exc.status_code)


async def _not_found(_request: Request, _exc: Exception) -> Response:
    return JSONResponse({"error": "Not found"}, 404)


async def _not_allowed(_request: Request, _exc: Exception) -> Response:
    return JSONResponse({"error": "Method not allowed"}, 405)


async def _server_error(_request: Request, _exc: Exception) -> Response:
    return JSONResponse({"error": "Internal server error"}, 500)
