"""Webhook fixtures: a real receiver on loopback, a resolver the test controls, the docs' verifiers,
and an environment with a fresh database, the API, workers and a webhook dispatcher."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from postpost.api.app import create_app
from postpost.config import async_database_url
from postpost.db.session import Database
from postpost.engine.webhook_delivery import WebhookDispatcher
from postpost.net.url_guard import UrlGuard
from postpost.services import events
from tests.conftest import TestUser
from tests.engine.conftest import Harness, engine_settings, wait_until

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
PUBLIC_IP = "93.184.216.34"


def docs_block(first_line: str) -> str:
    """The python code block of docs/webhooks.md whose first line is `first_line`, dedented."""
    for block in re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.S):
        lines = block.splitlines()
        indent = len(lines[0]) - len(lines[0].lstrip())
        code = "\n".join(line[indent:] for line in lines)
        if code.startswith(first_line):
            return code
    raise AssertionError(f"no python block starting with {first_line!r} in {DOCS}")


def docs_function(first_line: str, name: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {"__name__": "docs"}
    exec(compile(docs_block(first_line), str(DOCS), "exec"), namespace)
    return namespace[name]  # type: ignore[no-any-return]


verify_signature = docs_function("# receiver.py", "verify_signature")
verify_delivery = docs_function("# verify_delivery.py", "verify_delivery")


class FakeResolver:
    """Answers from a table; a list of answers is served in turn (the last one repeats)."""

    def __init__(self, table: dict[str, Any] | None = None) -> None:
        self.table: dict[str, Any] = dict(table or {})
        self.calls: list[str] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        answer = self.table.get(host)
        if answer is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if answer and isinstance(answer[0], list):
            return list(answer.pop(0) if len(answer) > 1 else answer[0])
        return list(answer)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """An aiohttp server on 127.0.0.1 that records every request. Per path: a status to answer,
    how many first requests fail with 500 (`fail_first`), or `hold` requests until released."""

    port: int = 0
    requests: list[Received] = field(default_factory=list)
    status: dict[str, int] = field(default_factory=dict)
    fail_first: dict[str, int] = field(default_factory=dict)
    hold: set[str] = field(default_factory=set)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append(Received(request.path, dict(request.headers), body, time.monotonic()))
        if request.path in self.hold:
            await self.released.wait()
        if self.fail_first.get(request.path, 0) > 0:
            self.fail_first[request.path] -= 1
            return web.Response(status=500, text="not yet")
        return web.Response(status=self.status.get(request.path, 200), text="ok")

    async def wait_for(self, count: int, path: str | None = None, seconds: float = 10.0) -> list[Received]:
        def got() -> list[Received]:
            return self.requests if path is None else self.at(path)

        await wait_until(lambda: len(got()) >= count, seconds, lambda: f"receiver got {len(got())} < {count}")
        return got()


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", found.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    found.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield found
    finally:
        found.released.set()
        await runner.cleanup()


@pytest.fixture
def webhook_database_url(engine_name: str, migrated_database_url: Callable[[str], str]) -> str:
    """A fresh, migrated database for this test only: a dispatcher claims every due delivery it holds."""
    return migrated_database_url(engine_name)


@dataclass
class HookEnv(Harness):
    """The engine harness plus a controllable resolver, the shared URL guard and dispatchers."""

    resolver: FakeResolver = field(default_factory=FakeResolver)
    guard: UrlGuard = field(default_factory=UrlGuard)
    dispatchers: list[tuple[WebhookDispatcher, asyncio.Task[None]]] = field(default_factory=list)

    def start_dispatcher(self) -> WebhookDispatcher:
        dispatcher = WebhookDispatcher(self.settings, self.database, guard=self.guard)
        self.dispatchers.append((dispatcher, asyncio.create_task(dispatcher.run())))
        return dispatcher

    async def stop_dispatchers(self) -> None:
        for dispatcher, _task in self.dispatchers:
            dispatcher.stop()
        for _dispatcher, task in self.dispatchers:
            await asyncio.wait_for(task, 20)
        self.dispatchers.clear()

    async def webhook(self, user: TestUser, url: str, events: list[str] | None = None) -> dict[str, Any]:
        body = {"name": "test hook", "url": url, "events": events or list(EVENTS)}
        r = await self.client.post("/api/v1/webhooks", headers=user.headers, json=body)
        assert r.status_code == 201, r.text
        return dict(r.json()["webhook"])

    async def hook_state(self, user: TestUser, webhook_id: str) -> dict[str, Any]:
        r = await self.client.get("/api/v1/webhooks", headers=user.headers)
        assert r.status_code == 200, r.text
        return next(h for h in r.json()["webhooks"] if h["_id"] == webhook_id)

    async def attempts(self, user: TestUser, webhook_id: str) -> list[dict[str, Any]]:
        r = await self.client.get(
            f"/api/v1/webhooks/{webhook_id}/deliveries", headers=user.headers, params={"limit": 100}
        )
        assert r.status_code == 200, r.text
        return list(r.json()["deliveries"])

    async def emit(self, *new: events.NewEvent) -> None:
        async with self.database.session() as session:
            await events.emit(session, list(new))
            await session.commit()


EVENTS = events.EVENT_NAMES
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def failed_event(user_id: str, message: str, n: int = 0) -> events.NewEvent:
    """A post.failed event for a made-up platform post number `n`."""
    return events.post_failed(
        user_id=user_id,
        post_id=f"{n:024x}",
        group_id="a" * 24,
        platform="threads",
        code="PLATFORM_AUTH_EXPIRED",
        message=message,
        failed_at=AT,
    )


@pytest_asyncio.fixture
async def hooks(webhook_database_url: str, tmp_path: Path, simulator: str) -> AsyncIterator[HookEnv]:
    """A fresh database, the API with a controllable resolver (private targets allowed), no
    worker and no dispatcher yet. Retries after 0.2 s and 0.4 s; 2 s request timeout."""
    url = webhook_database_url
    database = Database(async_database_url(url))
    settings = engine_settings(
        url,
        tmp_path,
        simulator,
        webhooks_allow_private=True,
        webhook_retry_seconds=[0.2, 0.4],
        webhook_timeout_seconds=2.0,
    )
    resolver = FakeResolver()
    guard = UrlGuard(allow_private=True, resolver=resolver)
    app = create_app(settings, database, sandbox_url=simulator, url_guard=guard)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
        httpx.AsyncClient(base_url=simulator, timeout=30) as control,
    ):
        env = HookEnv(settings, database, simulator, client, control, resolver=resolver, guard=guard)
        try:
            yield env
        finally:
            await env.stop_dispatchers()
            await env.stop_workers()
            await app.state.services.adapters.close()  # ASGITransport runs no lifespan
            await app.state.services.webhook_client.close()
            await database.dispose()
