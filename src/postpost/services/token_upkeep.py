"""Keeping connections alive: refresh tokens before the connection runs out, notice the rest.

One pass (`upkeep_once`), run by `TokenUpkeep` in whichever process holds the job's lease:

1. Connections whose end (`access_token_expires_at`, by the rule of `Credentials.expires_at`)
   is within `REFRESH_AHEAD` and that their adapter can refresh are refreshed through the
   credential store, one refresh at a time per connection. A refresh the platform refuses
   marks the connection expired with `lastError` (the store does); an unreachable platform is
   tried again on the next pass.
2. Connections that entered `expiring_soon` (less than seven days left) get a `token.expiring`
   notice, once per expiry: the expiry noticed is kept in `expiry_notice_for`, so a connection
   that is reconnected (a new expiry) and runs low again is noticed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from postpost.config import Settings
from postpost.db.models import Connection
from postpost.db.session import Database
from postpost.ids import new_id, utcnow
from postpost.platforms.base import ErrorCode, PlatformError
from postpost.platforms.registry import Adapters
from postpost.security import SecretBox
from postpost.services import events
from postpost.services.connections import EXPIRING_SOON
from postpost.services.credentials import CredentialStore
from postpost.services.job_leases import hold_lease, release_lease

log = logging.getLogger("postpost.tokens")

JOB = "token-upkeep"
REFRESH_AHEAD = EXPIRING_SOON + timedelta(days=1)  # refreshed before it would show as expiring
MIN_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class UpkeepResult:
    """What one pass did: connections refreshed, found refused (now expired), noticed, left failing."""

    refreshed: int = 0
    expired: int = 0
    noticed: int = 0
    failed: int = 0


async def upkeep_once(
    database: Database, store: CredentialStore, adapters: Adapters, *, now: datetime, sandbox: bool
) -> UpkeepResult:
    """One pass as of `now` (sandbox connections only when the sandbox is on)."""
    refreshed = expired = failed = 0
    for connection_id, platform in await _running_out(database, now, sandbox):
        adapter = adapters.get(platform)
        if adapter is None:
            continue
        try:
            current = await store.load(connection_id)
            if not adapter.needs_refresh(current.creds, now + REFRESH_AHEAD):
                continue  # nothing to refresh with: only its owner can renew it
            await store.refresh(connection_id, current, adapter)
            refreshed += 1
        except PlatformError as error:
            if error.code is ErrorCode.PLATFORM_AUTH_EXPIRED:
                expired += 1
            else:
                failed += 1
            log.warning("refreshing connection %s failed: %s", connection_id, error.message)
    noticed = await notice_expiring(database, max(now, utcnow()))  # after refusals marked "expired" now
    return UpkeepResult(refreshed, expired, noticed, failed)


async def _running_out(database: Database, now: datetime, sandbox: bool) -> list[tuple[str, str]]:
    query = select(Connection.id, Connection.platform).where(
        Connection.access_token_expires_at > now,
        Connection.access_token_expires_at <= now + REFRESH_AHEAD,
    )
    if not sandbox:
        query = query.where(Connection.is_sandbox.is_(False))
    async with database.session() as session:
        return [(row_id, platform) for row_id, platform in (await session.execute(query)).tuples()]


async def notice_expiring(database: Database, now: datetime) -> int:
    """Mark the connections that entered `expiring_soon` since their last notice and emit one
    `token.expiring` event for each, in the same transaction (so each expiry is noticed once)."""
    expires = Connection.access_token_expires_at
    async with database.session() as session:
        marked = await session.execute(
            update(Connection)
            .where(
                expires > now,
                expires < now + EXPIRING_SOON,
                or_(Connection.expiry_notice_for.is_(None), Connection.expiry_notice_for != expires),
            )
            .values(expiry_notice_for=expires)
            .returning(
                Connection.user_id, Connection.platform, Connection.account_id, Connection.username, expires
            )
        )
        notices = [
            events.token_expiring(
                user_id=user_id,
                platform=platform,
                platform_id=f"{platform}-{account_id}",
                username=username,
                expires_at=expires_at,
                at=now,
            )
            for user_id, platform, account_id, username, expires_at in marked.tuples()
            if expires_at is not None
        ]
        await events.emit(session, notices)
        await session.commit()
    return len(notices)


class TokenUpkeep:
    """Runs `upkeep_once` every `token_upkeep_interval_seconds` (never when it is <= 0), in the one
    process of the installation that holds the job's lease (`serve` and `worker` all run one)."""

    def __init__(self, settings: Settings, database: Database, *, sandbox_url: str | None) -> None:
        self.settings = settings
        self.database = database
        self.sandbox = sandbox_url is not None
        self.store = CredentialStore(database, SecretBox(settings.resolved_secret_key), sandbox_url)
        self.adapters = Adapters(
            timeout=settings.platform_timeout_seconds, app_credentials=settings.platform_app
        )
        self.holder = new_id()
        self._stopping = asyncio.Event()

    @property
    def interval(self) -> float:
        return self.settings.token_upkeep_interval_seconds

    async def run(self) -> None:
        if self.interval <= 0:
            return
        lease = max(timedelta(seconds=2 * self.interval), MIN_LEASE)
        try:
            while not self._stopping.is_set():
                try:
                    if await hold_lease(self.database, JOB, self.holder, lease):
                        await self.run_once()
                except Exception:
                    log.exception("token upkeep failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.interval)
        finally:
            with contextlib.suppress(Exception):
                await release_lease(self.database, JOB, self.holder)
            await self.adapters.close()

    async def run_once(self) -> UpkeepResult:
        result = await upkeep_once(
            self.database, self.store, self.adapters, now=utcnow(), sandbox=self.sandbox
        )
        if any(vars(result).values()):
            log.info("token upkeep: %s", result)
        return result

    def stop(self) -> None:
        self._stopping.set()
