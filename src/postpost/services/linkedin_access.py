"""Reaching LinkedIn for one of the caller's connections: lookup, fresh credentials, cache, holds, failures.

The connection is looked up among the effective user's LinkedIn connections only. Calls go through
the LinkedIn adapter's `insights` with credentials from the credential store; a refusal that a
refresh may cure is retried once with refreshed credentials. Answers are cached (see
`linkedin_cache`); a 429 puts that family of LinkedIn's APIs on hold for the connection until
LinkedIn's reset. No database transaction stays open while LinkedIn is asked.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import Connection
from postpost.errors import NotFound, PostpostError
from postpost.ids import iso, utcnow
from postpost.platforms._linkedin_insights import Insights
from postpost.platforms.base import Credentials, ErrorCode, PlatformAdapter, PlatformError
from postpost.platforms.linkedin import LinkedInAdapter
from postpost.services import linkedin_cache as cache
from postpost.services.auth import Principal
from postpost.services.credentials import CredentialStore, Versioned

T = TypeVar("T")
AdapterLookup = Callable[[str], PlatformAdapter | None]
Fetch = Callable[[Insights, Credentials], Awaitable[T]]

POSTS, FOLLOWERS, REACTIONS, COMMENTS = "posts", "followers", "reactions", "comments"
FORWARDED = (403, 429)  # LinkedIn's statuses passed on to the client; others answer 500
REDACTED = "[redacted]"
CREDENTIAL_WORDS = ("token", "secret", "password")  # stored secrets that are credentials


class LinkedInFailure(PostpostError):
    """A LinkedIn call failed: the route's message, LinkedIn's 403/429 passed on, else 500.

    `fields` are extra body fields (`details`, `status`); `headers` carries `Retry-After` on a 429.
    """

    def __init__(
        self,
        message: str,
        status_code: int = 500,
        *,
        fields: Mapping[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.fields = dict(fields or {})
        self.headers = {"Retry-After": str(retry_after)} if retry_after is not None else None

    def body(self) -> dict[str, Any]:
        return {"error": self.message, **self.fields}


@dataclass(frozen=True)
class Want:
    """One cached answer a use case needs: its key, API family, lifetime and how to fetch it."""

    key: str
    family: str
    ttl: timedelta
    fetch: Fetch[dict[str, Any]]


@dataclass(frozen=True)
class Got:
    """A wanted answer: its stored value, or the error fetching it."""

    value: dict[str, Any] | None
    cached: bool = False
    error: PlatformError | None = None


class LinkedInAccount:
    """One of the caller's LinkedIn connections, and calls to LinkedIn on its behalf."""

    def __init__(
        self, session: AsyncSession, connection_id: str, store: CredentialStore, adapter: LinkedInAdapter
    ) -> None:
        self.session = session
        self.connection_id = connection_id
        self.store = store
        self.adapter = adapter
        self._creds: Versioned | None = None
        self._creds_lock = asyncio.Lock()
        self._secrets: set[str] = set()

    @classmethod
    async def open(
        cls,
        session: AsyncSession,
        principal: Principal,
        account: str,
        store: CredentialStore,
        adapters: AdapterLookup,
    ) -> LinkedInAccount:
        """The effective user's LinkedIn connection `account`; 404 when there is none."""
        connection_id = await session.scalar(
            select(Connection.id).where(
                Connection.user_id == principal.user_id,
                Connection.platform == "linkedin",
                Connection.account_id == account,
            )
        )
        if connection_id is None:
            raise NotFound("LinkedIn connection not found")
        adapter = adapters("linkedin")
        if not isinstance(adapter, LinkedInAdapter):
            raise RuntimeError("the LinkedIn adapter is not available")
        return cls(session, connection_id, store, adapter)

    async def fetch(self, wants: Sequence[Want]) -> dict[str, Got]:
        """Each wanted answer, from the cache or fetched concurrently (and then cached).

        Raises the 429 `PlatformError` when a needed family is on hold or LinkedIn rate-limits a
        call now (answers fetched meanwhile are still stored).
        """
        now = utcnow()
        families = {w.family for w in wants}
        found = await self._read([w.key for w in wants] + [cache.hold_key(f) for f in families], now)
        got = {w.key: Got(found[w.key], cached=True) for w in wants if w.key in found}
        missing = [w for w in wants if w.key not in found]
        for want in missing:
            _raise_if_held(found.get(cache.hold_key(want.family)), now)
        outcomes = await asyncio.gather(*(self._call(w.fetch) for w in missing), return_exceptions=True)
        entries: dict[str, tuple[dict[str, Any], datetime]] = {}
        limited: PlatformError | None = None
        for want, outcome in zip(missing, outcomes, strict=True):
            if isinstance(outcome, PlatformError):
                got[want.key] = Got(None, error=outcome)
                if outcome.status == 429:
                    limited = outcome
                    entries[cache.hold_key(want.family)] = _hold(outcome, now)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                got[want.key] = Got(outcome)
                entries[want.key] = (outcome, now + want.ttl)
        if entries:
            await self._store(entries, now)
        if limited is not None:
            raise limited
        return got

    async def act(self, family: str, fn: Fetch[T]) -> T:
        """An uncached call (a reaction, a comment), unless `family` is on hold; a 429 holds it."""
        now = utcnow()
        held = await self._read([cache.hold_key(family)], now)
        _raise_if_held(held.get(cache.hold_key(family)), now)
        try:
            return await self._call(fn)
        except PlatformError as error:
            if error.status == 429:
                await self._store({cache.hold_key(family): _hold(error, now)}, now)
            raise

    def failure(
        self, error: PlatformError, message: str, *, details: Literal["object", "text"] | None = None
    ) -> LinkedInFailure:
        """The route's answer to `error`: LinkedIn's 403/429 passed on, anything else a 500.

        `details` adds LinkedIn's error body (``object``, with its ``status``) or its message
        (``text``); no token, secret or password of the connection ever appears in them.
        """
        status = error.status if error.status in FORWARDED else 500
        fields: dict[str, Any] = {}
        if details == "object":
            fields["details"] = self._redact(getattr(error, "details", None) or {"message": error.message})
            if error.status is not None:
                fields["status"] = error.status
        elif details == "text":
            fields["details"] = self._redact(getattr(error, "detail", None) or error.message)
        retry_after = None
        if status == 429 and error.retry_at is not None:
            retry_after = max(1, math.ceil((error.retry_at - utcnow()).total_seconds()))
        return LinkedInFailure(message, status, fields=fields, retry_after=retry_after)

    async def _read(self, keys: list[str], now: datetime) -> dict[str, dict[str, Any]]:
        found = await cache.read(self.session, self.connection_id, keys, now)
        await self.session.rollback()  # end the read: no transaction is held while LinkedIn answers
        return found

    async def _store(self, entries: dict[str, tuple[dict[str, Any], datetime]], now: datetime) -> None:
        try:
            await cache.write(self.session, self.connection_id, entries, now)
            await self.session.commit()
        except IntegrityError:  # the connection was removed meanwhile: nothing to keep
            await self.session.rollback()

    async def _call(self, fn: Fetch[T]) -> T:
        current = await self._credentials()
        try:
            return await fn(self.adapter.insights, current.creds)
        except PlatformError as error:
            if not error.refreshable:
                raise
            fresh = await self.store.refresh(self.connection_id, current, self.adapter)
            self._remember(fresh)
            return await fn(self.adapter.insights, fresh.creds)

    async def _credentials(self) -> Versioned:
        async with self._creds_lock:
            if self._creds is None:
                loaded = await self.store.load(self.connection_id)
                self._remember(await self.store.usable(self.connection_id, loaded, self.adapter))
            assert self._creds is not None
            return self._creds

    def _remember(self, creds: Versioned) -> None:
        self._creds = creds
        self._secrets |= {
            value
            for key, value in creds.creds.secrets.items()
            if len(value) >= 8 and any(word in key for word in CREDENTIAL_WORDS)
        }

    def _redact(self, value: Any) -> Any:
        """`value` with every stored secret of the connection replaced."""
        if isinstance(value, str):
            for secret in self._secrets:
                value = value.replace(secret, REDACTED)
            return value
        if isinstance(value, dict):
            return {self._redact(str(k)): self._redact(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._redact(v) for v in value]
        return value


def _hold(error: PlatformError, now: datetime) -> tuple[dict[str, Any], datetime]:
    until = error.retry_at if error.retry_at and error.retry_at > now else now + timedelta(seconds=60)
    return {"until": iso(until)}, until


def _raise_if_held(hold: dict[str, Any] | None, now: datetime) -> None:
    """LinkedIn's own 429, replayed without asking it, while a hold lasts."""
    if hold is None:
        return
    until = datetime.fromisoformat(str(hold["until"]).replace("Z", "+00:00"))
    raise PlatformError(
        ErrorCode.RATE_LIMITED,
        "LinkedIn rate limit reached; waiting for its reset",
        status=429,
        retry_at=max(until, now + timedelta(seconds=1)),
    )
