"""Keeping a connection's credentials usable: serialised refresh, stored before use.

A refresh runs one at a time per connection, across tasks (an asyncio lock) and across workers
and hosts (a short lease on the connection row, `refresh_lease_until`). Whoever loses the race
waits for the winner and uses the tokens it stored (`secrets_version` tells them apart). The new
tokens are written before anyone uses them. If a refresh was interrupted (its lease expired), a
rotating refresh token may already be spent: it is never sent again, and the adapter may only
log in afresh where it can (a Bluesky app password); otherwise the connection is expired.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update

from postpost.db.models import Connection
from postpost.db.session import Database
from postpost.ids import iso, utcnow
from postpost.platforms.base import Credentials, ErrorCode, PlatformAdapter, PlatformError
from postpost.security import SecretBox, SecretsUnreadable
from postpost.services.connections import credentials_for

REFRESH_LEASE = timedelta(seconds=30)
WAIT_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Versioned:
    """Credentials and the `secrets_version` they were read at."""

    creds: Credentials
    version: int


class CredentialStore:
    """Reads, refreshes and stores connection credentials (one per process part)."""

    def __init__(self, database: Database, box: SecretBox, sandbox_url: str | None) -> None:
        self.database = database
        self.box = box
        self.sandbox_url = sandbox_url
        self._locks: dict[str, asyncio.Lock] = {}

    async def load(self, connection_id: str) -> Versioned:
        """The connection's current credentials; PlatformError when gone or unreadable."""
        async with self.database.session() as session:
            connection = await session.get(Connection, connection_id)
            if connection is None:
                raise PlatformError(ErrorCode.UNKNOWN_ERROR, "Connection not found", retryable=False)
            return Versioned(self._decrypt(connection), connection.secrets_version)

    async def usable(self, connection_id: str, current: Versioned, adapter: PlatformAdapter) -> Versioned:
        """`current`, or refreshed credentials when the adapter says they must be refreshed first."""
        if not adapter.needs_refresh(current.creds, utcnow()):
            return current
        return await self.refresh(connection_id, current, adapter)

    async def refresh(self, connection_id: str, stale: Versioned, adapter: PlatformAdapter) -> Versioned:
        """Fresh credentials: refreshed here, or by whoever refreshed since `stale` was read."""
        lock = self._locks.setdefault(connection_id, asyncio.Lock())
        async with lock:
            while True:
                outcome = await self._take_lease(connection_id, stale.version)
                if isinstance(outcome, Versioned):
                    return outcome  # refreshed by someone else meanwhile
                if outcome is not None:
                    return await self._refresh_holding_lease(connection_id, adapter, interrupted=outcome)
                await asyncio.sleep(WAIT_POLL_SECONDS)

    async def _take_lease(self, connection_id: str, version: int) -> Versioned | bool | None:
        """Newer credentials, or True/False (lease taken; whether a refresh was interrupted), or None
        (another refresh is running: wait)."""
        now = utcnow()
        async with self.database.session() as session:
            row = (
                await session.execute(
                    select(Connection.secrets_version, Connection.refresh_lease_until).where(
                        Connection.id == connection_id
                    )
                )
            ).one_or_none()
            if row is None:
                raise PlatformError(ErrorCode.UNKNOWN_ERROR, "Connection not found", retryable=False)
            current_version, lease = row
            if current_version != version:
                connection = await session.get(Connection, connection_id)
                assert connection is not None
                return Versioned(self._decrypt(connection), connection.secrets_version)
            if lease is not None and lease > now:
                return None
            taken = await session.execute(
                update(Connection)
                .where(
                    Connection.id == connection_id,
                    Connection.secrets_version == version,
                    or_(Connection.refresh_lease_until.is_(None), Connection.refresh_lease_until <= now),
                )
                .values(refresh_lease_until=now + REFRESH_LEASE)
                .returning(Connection.id)
            )
            if taken.first() is None:
                await session.rollback()
                return None
            await session.commit()
            return lease is not None

    async def _refresh_holding_lease(
        self, connection_id: str, adapter: PlatformAdapter, *, interrupted: bool
    ) -> Versioned:
        current = await self.load(connection_id)
        creds = current.creds
        if interrupted and adapter.descriptor.rotating_refresh:
            creds = dataclasses.replace(
                creds, secrets=creds.secrets.merged(refresh_token=None, refresh_jwt=None)
            )
        try:
            fresh = await adapter.refresh(creds)
        except PlatformError as error:
            await self._release(
                connection_id, error if error.code is ErrorCode.PLATFORM_AUTH_EXPIRED else None
            )
            raise
        except BaseException:
            await self._release(connection_id, None)
            raise
        return await self._store(connection_id, fresh, current.version + 1)

    async def _store(self, connection_id: str, fresh: Credentials, version: int) -> Versioned:
        async with self.database.session() as session:
            await session.execute(
                update(Connection)
                .where(Connection.id == connection_id)
                .values(
                    secrets=self.box.encrypt(dict(fresh.secrets)),
                    secrets_version=version,
                    access_token_expires_at=fresh.expires_at,
                    refresh_lease_until=None,
                    updated_at=utcnow(),
                )
            )
            await session.commit()
        return Versioned(fresh, version)

    async def _release(self, connection_id: str, refused: PlatformError | None) -> None:
        """Give the lease back; a refused refresh marks the connection expired."""
        now = utcnow()
        values: dict[str, object] = {"refresh_lease_until": None}
        if refused is not None:
            values |= {
                "access_token_expires_at": now,
                "last_error": {"message": refused.message, "occurredAt": iso(now)},
            }
        async with self.database.session() as session:
            await session.execute(update(Connection).where(Connection.id == connection_id).values(**values))
            await session.commit()

    def _decrypt(self, connection: Connection) -> Credentials:
        try:
            return credentials_for(connection, self.box, self.sandbox_url)
        except SecretsUnreadable as exc:
            raise unreadable_secrets(str(exc)) from exc


def unreadable_secrets(detail: str) -> PlatformError:
    """The failure of a post whose connection's secrets cannot be decrypted."""
    return PlatformError(
        ErrorCode.PLATFORM_AUTH_EXPIRED,
        "The connection's stored credentials cannot be decrypted: POSTPOST_SECRET_KEY is not the key "
        "they were saved with. Restore that key, or reconnect the account.",
        platform_error=detail,
        retryable=False,
    )
