"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from postpost import __version__
from postpost.api.body_limit import BodyLimitMiddleware
from postpost.api.deps import Services
from postpost.api.errors import install_error_handlers
from postpost.api.routes import (
    connection_checks,
    connections,
    events,
    linkedin,
    logs,
    media,
    posts,
    webhooks,
    workspace,
    x_bookmarks,
)
from postpost.config import Settings
from postpost.db.session import Database
from postpost.net.url_guard import UrlGuard
from postpost.net.webhook_client import WebhookClient
from postpost.platforms.registry import Adapters
from postpost.security import KeyHasher, SecretBox
from postpost.services.connect_flows import ConnectFlows
from postpost.services.connect_links import LinkSigner
from postpost.services.credentials import CredentialStore
from postpost.storage import LocalStorage, Storage, open_storage
from postpost.storage.local import URL_PATH
from postpost.web import dashboard
from postpost.web.connect import connect_router

API_PREFIX = "/api/v1"
Hook = Callable[[], AbstractAsyncContextManager[object]]


def create_app(
    settings: Settings,
    database: Database,
    *,
    sandbox_url: str | None = None,
    own_database: bool = False,
    hooks: Sequence[Hook] = (),
    storage: Storage | None = None,
    url_guard: UrlGuard | None = None,
) -> FastAPI:
    """Build the API around ready parts.

    `sandbox_url` is where sandbox connections publish (the mounted simulator); `hooks` are
    context managers run for the server's lifetime (e.g. in-process workers); `own_database`
    disposes the engine on shutdown. `storage` (default: from the settings) holds media and is
    closed on shutdown; `url_guard` checks webhook URLs (default: the system resolver).
    """
    adapters = Adapters(timeout=settings.platform_timeout_seconds, app_credentials=settings.platform_app)
    box = SecretBox(settings.resolved_secret_key)
    media_storage = storage or open_storage(settings)
    guard = url_guard or UrlGuard(allow_private=settings.webhooks_allow_private)
    webhook_client = WebhookClient(guard, timeout=settings.webhook_timeout_seconds)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for hook in hooks:
                await stack.enter_async_context(hook())
            yield
        await adapters.close()
        await media_storage.close()
        await webhook_client.close()
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
        box=box,
        adapters=adapters,
        credentials=CredentialStore(database, box, sandbox_url),
        links=LinkSigner(settings.resolved_secret_key, settings.base_url()),
        sandbox_url=sandbox_url,
        storage=media_storage,
        url_guard=guard,
        webhook_client=webhook_client,
    )
    install_error_handlers(app)
    for module in (
        posts,
        media,
        connections,
        connection_checks,
        logs,
        workspace,
        webhooks,
        events,
        linkedin,
        x_bookmarks,
    ):
        app.include_router(module.router, prefix=API_PREFIX, tags=["v1"])
    if isinstance(media_storage, LocalStorage):
        app.include_router(media.files_router)
    services = app.state.services
    flows = ConnectFlows(settings, database, box, adapters, services.links, sandbox_url)
    app.include_router(connect_router(flows))
    dashboard.install(app, settings)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.max_body_bytes, exempt_prefixes=(URL_PATH + "/",)
    )
    return app
