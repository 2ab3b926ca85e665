"""The one-process server of `postpost serve`: API, in-process workers, and the sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

from fastapi import FastAPI

from postpost.api.app import Hook, create_app
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
from postpost.services.x_bookmarks.jobs import XBookmarkJobs
from postpost.simulator import create_simulator_app
from postpost.storage import open_storage


class BackgroundJob(Protocol):
    """A long-running job of a process: `run()` until `stop()` is called."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


def background(make_jobs: Callable[[], Sequence[BackgroundJob]]) -> Hook:
    """A lifespan hook that makes the jobs (in the serving loop), runs them while the app serves,
    and stops them (and waits for them) after."""

    @asynccontextmanager
    async def running() -> AsyncIterator[object]:
        jobs = make_jobs()
        tasks = [asyncio.create_task(job.run()) for job in jobs]
        try:
            yield jobs
        finally:
            for job in jobs:
                job.stop()
            await asyncio.gather(*tasks, return_exceptions=True)

    return running


def build_server(settings: Settings, database: Database) -> FastAPI:
    """The API with its background jobs, the MCP server at `/mcp` and, in sandbox mode, the simulator.

    Always: the media sweeper and token upkeep. With `settings.workers` > 0 also the publishing
    workers, the webhook dispatcher and the X bookmarks jobs (0 makes an API-only process).
    The simulator's control routes are reached only through `SandboxControl` (API key, own accounts).
    """
    sandbox_url = settings.resolved_sandbox_url()
    storage = open_storage(settings)

    def jobs() -> list[BackgroundJob]:
        found: list[BackgroundJob] = [
            MediaSweeper(settings, database, storage),
            TokenUpkeep(settings, database, sandbox_url=sandbox_url),
        ]
        if settings.workers > 0:
            found += [Worker(settings, database, sandbox_url=sandbox_url) for _ in range(settings.workers)]
            found += [
                WebhookDispatcher(settings, database),
                XBookmarkJobs(settings, database, storage, sandbox_url=sandbox_url),
            ]
        return found

    mcp = McpEndpoint(McpDeps.build(settings, database, storage, sandbox_url=sandbox_url))
    app = create_app(
        settings,
        database,
        sandbox_url=sandbox_url,
        own_database=True,
        hooks=[background(jobs), mcp.running],
        storage=storage,
    )
    mcp.mount(app)
    if settings.sandbox:
        simulator = create_simulator_app()
        control = SandboxControl(database, KeyHasher(settings.resolved_secret_key), simulator)
        app.mount(f"{SANDBOX_PATH}/_control", control.app())
        app.mount(SANDBOX_PATH, simulator)
    return app
