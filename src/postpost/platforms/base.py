"""The adapter interface and the value types passed across it.

An adapter speaks one platform's protocol. It receives a `PublishJob` (one part of a post: text,
media, settings, credentials, where it replies, and any state left by an earlier step) and
answers with `Published`, or `InProgress` when the platform needs time (an upload being
processed, a container to poll): the engine stores the state and calls again later, from any
worker. Adapters raise only `PlatformError`, never sleep and never retry: the engine decides.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Literal, Protocol

import aiohttp

from postpost.platforms.descriptor import PlatformDescriptor


class ErrorCode(StrEnum):
    """The documented error codes of a failed platform post."""

    PLATFORM_AUTH_EXPIRED = "PLATFORM_AUTH_EXPIRED"
    RATE_LIMITED = "RATE_LIMITED"
    INVALID_CONTENT = "INVALID_CONTENT"
    CONTENT_TOO_LARGE = "CONTENT_TOO_LARGE"
    PLATFORM_SERVER_ERROR = "PLATFORM_SERVER_ERROR"
    NETWORK_ERROR = "NETWORK_ERROR"
    TIMEOUT_ERROR = "TIMEOUT_ERROR"
    UNKNOWN_ERROR = "UNKNOWN_ERROR"


RETRYABLE_CODES = frozenset(
    {
        ErrorCode.RATE_LIMITED,
        ErrorCode.PLATFORM_SERVER_ERROR,
        ErrorCode.NETWORK_ERROR,
        ErrorCode.TIMEOUT_ERROR,
    }
)


class PlatformError(Exception):
    """A classified failure of a platform call.

    `retry_at` is the platform's own reset time when it gave one; `refreshable` says that the
    credentials may work again after a refresh; `maybe_published` says the call may have
    reached the platform (timeout, dropped connection, 5xx after a create).
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        status: int | None = None,
        platform_error: str | None = None,
        retry_at: datetime | None = None,
        refreshable: bool = False,
        maybe_published: bool = False,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.platform_error = platform_error
        self.retry_at = retry_at
        self.refreshable = refreshable
        self.maybe_published = maybe_published
        self._retryable = retryable

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE_CODES if self._retryable is None else self._retryable


class Secrets(Mapping[str, str]):
    """Decrypted tokens and passwords: a read-only mapping whose repr never shows the values."""

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self._values = {k: str(v) for k, v in (values or {}).items() if v is not None}

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Any:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Secrets({', '.join(sorted(self._values))}: hidden)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self._values) == dict(other)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._values.items())))

    def merged(self, **changes: str | None) -> Secrets:
        """A copy with `changes` applied (a None value removes the key)."""
        values: dict[str, Any] = {**self._values, **changes}
        return Secrets({k: v for k, v in values.items() if v is not None})


@dataclass(frozen=True)
class Credentials:
    """What an adapter needs to act for one connected account.

    `endpoints` are the platform's origins for this account by role (`api`, `upload`, `auth`, …):
    the real ones, a connection's own (a Mastodon instance), or the sandbox. `expires_at` is when
    the connection stops working unless its owner reconnects: the access token's end for a token
    that cannot be refreshed, the refresh token's end (when known) for one that can, None when it
    never expires. A short-lived access token that is refreshed automatically keeps its own expiry
    in `secrets` (it is not the connection's: tokenStatus would always say "expiring").
    """

    account_id: str
    endpoints: Mapping[str, str]
    secrets: Secrets = field(default_factory=Secrets)
    username: str | None = None
    expires_at: datetime | None = None
    scopes: tuple[str, ...] = ()

    def endpoint(self, role: str = "api") -> str:
        """The origin for `role`, falling back to the API origin."""
        return (self.endpoints.get(role) or self.endpoints["api"]).rstrip("/")

    @property
    def base_url(self) -> str:
        return self.endpoint("api")


class MediaSource(Protocol):
    """The bytes of one (possibly converted) media file, read on demand."""

    async def read(self) -> bytes:
        """The whole file (for small images)."""
        ...

    def chunks(self, *, offset: int = 0, chunk_size: int = 4 * 1024 * 1024) -> AsyncIterator[bytes]:
        """The file from `offset` on, in chunks (for uploads that must not hold a video in memory)."""
        ...


@dataclass(frozen=True)
class MediaFile:
    """One media item as it is to be published on one platform (already converted for it)."""

    id: str
    kind: Literal["image", "video"]
    mime_type: str
    size: int
    source: MediaSource = field(repr=False, compare=False)
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    frame_rate: float | None = None
    alt_text: str | None = None
    fetch_url: str | None = None  # a signed URL the platform may fetch the file from


@dataclass(frozen=True)
class PostPart:
    """One post, or one part of a reply chain. Media travels with the first part only."""

    text: str
    media: tuple[MediaFile, ...] = ()


@dataclass(frozen=True)
class Published:
    """A post as the platform stored it. `ref` carries platform-specific handles (e.g. a cid)."""

    remote_id: str
    url: str | None = None
    ref: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InProgress:
    """The platform is still working: call `publish` again after `check_after` with `state`.

    `state` is small JSON (ids, an upload URI, a step name) stored on the post row; any worker
    may resume from it, so it must hold everything the next step needs.
    """

    state: Mapping[str, Any]
    check_after: timedelta = timedelta(seconds=1)


@dataclass(frozen=True)
class ReplyTo:
    """Where a thread part attaches: the chain's first post and the previous one."""

    root: Published
    parent: Published


@dataclass(frozen=True)
class PublishJob:
    """One call of `publish`: everything the adapter may use.

    `unsure` says an earlier attempt of this part may have reached the platform (its outcome
    was lost: a timeout, or a worker died holding it); adapters with reconciliation by state
    use it to check before repeating a side effect. `since` is when the first attempt began.
    """

    part: PostPart
    creds: Credentials
    idempotency_key: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    reply_to: ReplyTo | None = None
    state: Mapping[str, Any] | None = None
    unsure: bool = False
    since: datetime | None = None
    index: int = 0  # position of the part in its chain


@dataclass(frozen=True)
class Profile:
    """An account as its platform describes it, read when the account is connected.

    `secrets` are what a connection to this account keeps besides the tokens it was connected
    with (e.g. the author URN of a LinkedIn organisation).
    """

    account_id: str
    username: str | None = None
    display_name: str | None = None
    avatar_url: str | None = None
    profile_url: str | None = None
    secrets: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ConnectionCheck:
    """Outcome of a live credentials check."""

    ok: bool
    message: str
    username: str | None = None
    permissions: Sequence[str] = ()


class PlatformAdapter(abc.ABC):
    """One platform's publishing protocol. Stateless: one instance serves every account."""

    descriptor: ClassVar[PlatformDescriptor]

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        timeout: float = 10.0,
        app: Mapping[str, str] | None = None,
    ) -> None:
        self.http = http
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.app: Mapping[str, str] = app or {}  # this server's client id/secret on the platform

    @property
    def name(self) -> str:
        return self.descriptor.name

    async def text_limit(self, creds: Credentials) -> int:
        """The longest post this account may publish (a server's own setting where it has one)."""
        return self.descriptor.text.limit

    def needs_refresh(self, creds: Credentials, now: datetime) -> bool:
        """True when the credentials must be refreshed before use (no session yet, or expiring)."""
        return False

    async def refresh(self, creds: Credentials) -> Credentials:
        """New credentials (refresh grant or new session). Raises PlatformError.

        Called one at a time per connection; the caller stores the result before using it.
        """
        raise PlatformError(
            ErrorCode.PLATFORM_AUTH_EXPIRED,
            f"{self.descriptor.title} credentials cannot be refreshed; reconnect the account",
        )

    @abc.abstractmethod
    async def publish(self, job: PublishJob) -> Published | InProgress:
        """Publish one part (or take its next step). Raises PlatformError."""

    async def find_published(self, job: PublishJob) -> Published | None:
        """Look up what an uncertain earlier attempt of `job` created (None when nothing).

        Used by the CHOSEN_ID and LOOKUP reconciliation modes.
        """
        return None

    @abc.abstractmethod
    async def check_connection(self, creds: Credentials) -> ConnectionCheck:
        """Validate the credentials live (the test-connection endpoint); never creates a session."""

    async def read_profile(self, creds: Credentials) -> Profile:
        """The account fresh credentials act for (when it is connected). Raises PlatformError."""
        return Profile(creds.account_id, creds.username)

    async def managed_pages(self, creds: Credentials) -> list[Profile]:
        """Pages or organisations the account may publish as, each connected on its own."""
        return []

    async def register_app(
        self, instance: str, *, name: str, redirect_uri: str, website: str
    ) -> dict[str, str]:
        """Register this server as an app on one instance (``client_id``, ``client_secret``).

        Only platforms whose OAuth flow is per instance (`OAuthFlow.per_instance`) have one.
        """
        raise PlatformError(
            ErrorCode.UNKNOWN_ERROR, f"{self.descriptor.title} has no per-instance apps", retryable=False
        )
