"""The adapter interface and the value types passed across it."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

import aiohttp


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
    credentials may work again after `PlatformAdapter.refresh`; `maybe_published` says the call
    may have reached the platform (timeout, dropped connection, 5xx after a create).
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
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.platform_error = platform_error
        self.retry_at = retry_at
        self.refreshable = refreshable
        self.maybe_published = maybe_published

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE_CODES


@dataclass(frozen=True)
class Credentials:
    """What an adapter needs to act for one connected account.

    `secrets` holds tokens/passwords (decrypted by the caller); `base_url` is the platform's
    API origin for this account (a Mastodon instance, a Bluesky PDS, or the sandbox).
    """

    account_id: str
    base_url: str
    secrets: Mapping[str, str] = field(default_factory=dict)
    username: str | None = None


@dataclass(frozen=True)
class PostPart:
    """One post, or one part of a reply chain."""

    text: str


@dataclass(frozen=True)
class Published:
    """A post as the platform stored it. `ref` carries platform-specific handles (e.g. a cid)."""

    remote_id: str
    url: str | None = None
    ref: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReplyTo:
    """Where a thread part attaches: the chain's first post and the previous one."""

    root: Published
    parent: Published


@dataclass(frozen=True)
class ConnectionCheck:
    """Outcome of a live credentials check."""

    ok: bool
    message: str
    username: str | None = None
    permissions: Sequence[str] = ()


class PlatformAdapter(abc.ABC):
    """One platform's publishing protocol. Stateless: one instance serves every account."""

    name: ClassVar[str]
    max_text_length: ClassVar[int]
    #: True when publishing again with the same idempotency key never creates a duplicate (the
    #: platform answers with the post created earlier), so re-publishing is itself the reconcile.
    idempotent_publish: ClassVar[bool] = False

    def __init__(self, http: aiohttp.ClientSession, *, timeout: float = 10.0) -> None:
        self.http = http
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    @abc.abstractmethod
    def text_length(self, text: str) -> int:
        """Length of `text` as this platform counts it."""

    async def text_limit(self, creds: Credentials) -> int:
        """The longest post this account may publish (a server's own setting where it has one)."""
        return self.max_text_length

    @abc.abstractmethod
    async def prepare(self, creds: Credentials) -> Credentials:
        """Return credentials ready to publish with (log in / refresh when needed).

        Returns the same object when nothing changed; the caller persists a changed one.
        """

    @abc.abstractmethod
    async def publish(
        self, part: PostPart, creds: Credentials, *, idempotency_key: str, reply_to: ReplyTo | None = None
    ) -> Published:
        """Publish one post (or one reply in a chain). Raises PlatformError."""

    @abc.abstractmethod
    async def find_published(self, creds: Credentials, *, idempotency_key: str) -> Published | None:
        """Look up a post an earlier attempt with this key may have created (None if absent)."""

    @abc.abstractmethod
    async def refresh(self, creds: Credentials) -> Credentials:
        """New credentials after the platform rejected the current ones. Raises PlatformError."""

    @abc.abstractmethod
    async def check_connection(self, creds: Credentials) -> ConnectionCheck:
        """Validate the credentials live (the test-connection endpoint)."""
