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
from postpost.sandbox import SANDBOX_PATH
from postpost.simulator import create_simulator_app


def build_server(settings: Settings, database: Database) -> FastAPI:
    """The API with `settings.workers` in-process workers and a webhook dispatcher (none when
    `workers` is 0) and, in sandbox mode, the simulator."""
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

    app = create_app(
        settings,
        database,
        sandbox_url=sandbox_url,
        own_database=True,
        hooks=[workers] if settings.workers > 0 else [],
    )
    if settings.sandbox:
        app.mount(SANDBOX_PATH, create_simulator_app())
    return app
