"""The one-process server of `postpost serve`: API, in-process workers, and the sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from postpost.api.app import create_app
from postpost.config import Settings
from postpost.db.session import Database
from postpost.engine.worker import Worker
from postpost.sandbox import SANDBOX_PATH
from postpost.sandbox_control import SandboxControl
from postpost.security import KeyHasher
from postpost.services.media_sweeper import MediaSweeper
from postpost.services.x_bookmarks.jobs import XBookmarkJobs
from postpost.simulator import create_simulator_app
from postpost.storage import open_storage


def build_server(settings: Settings, database: Database) -> FastAPI:
    """The API with `settings.workers` in-process workers and, in sandbox mode, the simulator.

    The simulator's control routes are reached only through `SandboxControl` (API key, own accounts).
    """
    sandbox_url = settings.resolved_sandbox_url()

    @asynccontextmanager
    async def workers() -> AsyncIterator[object]:
        running = [Worker(settings, database, sandbox_url=sandbox_url) for _ in range(settings.workers)]
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
    async def x_bookmark_jobs() -> AsyncIterator[object]:
        jobs = XBookmarkJobs(settings, database, storage, sandbox_url=sandbox_url)
        task = asyncio.create_task(jobs.run())
        try:
            yield jobs
        finally:
            jobs.stop()
            await asyncio.gather(task, return_exceptions=True)

    app = create_app(
        settings,
        database,
        sandbox_url=sandbox_url,
        own_database=True,
        hooks=([workers, x_bookmark_jobs] if settings.workers > 0 else []) + [media_sweeper],
        storage=storage,
    )
    if settings.sandbox:
        simulator = create_simulator_app()
        control = SandboxControl(database, KeyHasher(settings.resolved_secret_key), simulator)
        app.mount(f"{SANDBOX_PATH}/_control", control.app())
        app.mount(SANDBOX_PATH, simulator)
    return app
