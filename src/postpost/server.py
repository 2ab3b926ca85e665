"""The one-process server of `postpost serve`: API, in-process workers, and the sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from postpost.api.app import create_app
from postpost.config import Settings
from postpost.db.session import Database
from postpost.engine.webhook_delivery import WebhookDispatcher
from postpost.engine.worker import Worker
from postpost.mcp.deps import McpDeps
from postpost.mcp.http import McpEndpoint
from postpost.sandbox import SANDBOX_PATH
from postpost.sandbox_control import SandboxControl
from postpost.security import KeyHasher
from postpost.services.media_sweeper import MediaSweeper
from postpost.services.token_upkeep import TokenUpkeep
from postpost.simulator import create_simulator_app
from postpost.storage import open_storage


def build_server(settings: Settings, database: Database) -> FastAPI:
    """The API with `settings.workers` in-process workers and a webhook dispatcher (none when
    `workers` is 0), the MCP server at `/mcp` and, in sandbox mode, the simulator.

    The simulator's control routes are reached only through `SandboxControl` (API key, own accounts).
    """
    sandbox_url = settings.resolved_sandbox_url()

    @asynccontextmanager
    async def workers() -> AsyncIterator[object]:
        running: list[Worker | WebhookDispatcher] = [
            Worker(settings, database, sandbox_url=sandbox_url) for _ in range(settings.workers)
        ]
        running.append(WebhookDispatcher(settings, database))
        tasks = [asyncio.create_task(worker.run()) for worker in running]
        try:
            yield running
        finally:
            for worker in running:
                worker.stop()
            await asyncio.gather(*tasks, return_exceptions=True)

    storage = open_storage(settings)

    @asynccontextmanager
    async def media_sweeper() -> AsyncIterator[object]:
        sweeper = MediaSweeper(settings, database, storage)
        task = asyncio.create_task(sweeper.run())
        try:
            yield sweeper
        finally:
            sweeper.stop()
            await asyncio.gather(task, return_exceptions=True)

    @asynccontextmanager
    async def token_upkeep() -> AsyncIterator[object]:
        upkeep = TokenUpkeep(settings, database, sandbox_url=sandbox_url)
        task = asyncio.create_task(upkeep.run())
        try:
            yield upkeep
        finally:
            upkeep.stop()
            await asyncio.gather(task, return_exceptions=True)

    mcp = McpEndpoint(McpDeps.build(settings, database, storage, sandbox_url=sandbox_url))
    app = create_app(
        settings,
        database,
        sandbox_url=sandbox_url,
        own_database=True,
        hooks=([workers] if settings.workers > 0 else []) + [media_sweeper, token_upkeep, mcp.running],
        storage=storage,
    )
    mcp.mount(app)
    if settings.sandbox:
        simulator = create_simulator_app()
        control = SandboxControl(database, KeyHasher(settings.resolved_secret_key), simulator)
        app.mount(f"{SANDBOX_PATH}/_control", control.app())
        app.mount(SANDBOX_PATH, simulator)
    return app
