"""What the MCP tools need, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from postpost.config import Settings
from postpost.db.session import Database
from postpost.platforms.registry import Adapters
from postpost.security import KeyHasher, SecretBox
from postpost.services.connect_links import LinkSigner
from postpost.services.credentials import CredentialStore
from postpost.storage import Storage


@dataclass(frozen=True)
class McpDeps:
    """The parts the tools use; `close()` releases the adapters' HTTP session."""

    settings: Settings
    database: Database
    hasher: KeyHasher
    adapters: Adapters
    credentials: CredentialStore
    links: LinkSigner
    storage: Storage

    @classmethod
    def build(
        cls, settings: Settings, database: Database, storage: Storage, *, sandbox_url: str | None
    ) -> McpDeps:
        key = settings.resolved_secret_key
        return cls(
            settings=settings,
            database=database,
            hasher=KeyHasher(key),
            adapters=Adapters(
                timeout=settings.platform_timeout_seconds, app_credentials=settings.platform_app
            ),
            credentials=CredentialStore(database, SecretBox(key), sandbox_url),
            links=LinkSigner(key, settings.base_url()),
            storage=storage,
        )

    async def close(self) -> None:
        await self.adapters.close()
