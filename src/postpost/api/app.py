"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from postpost import __version__
from postpost.api.body_limit import BodyLimitMiddleware
from postpost.api.deps import Services
from postpost.api.errors import install_error_handlers
from postpost.api.routes import connections, posts
from postpost.config import Settings
from postpost.db.session import Database
from postpost.security import KeyHasher, SecretBox

API_PREFIX = "/api/v1"


def create_app(settings: Settings, database: Database, *, own_database: bool = False) -> FastAPI:
    """Build the API around ready parts; `own_database` disposes the engine on shutdown."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if own_database:
            await database.dispose()

    app = FastAPI(
        title="postpost",
        version=__version__,
        description="Self-hostable implementation of the PostPost v1 publishing API.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.services = Services(
        settings=settings,
        database=database,
        hasher=KeyHasher(settings.resolved_secret_key),
        box=SecretBox(settings.resolved_secret_key),
    )
    install_error_handlers(app)
    for module in (posts, connections):
        app.include_router(module.router, prefix=API_PREFIX, tags=["v1"])

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    return app
