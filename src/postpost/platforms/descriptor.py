"""What a platform is, as data: the descriptor every part of postpost reads.

Each adapter module (`platforms/<name>.py`) defines one `PlatformDescriptor`. Validation at
create-post, media checks, the sandbox, the CLI, pacing and the docs read it; the engine reads
its reconciliation mode and rate limits. Nothing here performs I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from postpost.platforms.text import TextCounter

MB = 1024 * 1024


class CredentialKind(StrEnum):
    """How an account's credentials are obtained."""

    OAUTH2 = "oauth2"
    APP_PASSWORD = "app_password"
    BOT_TOKEN = "bot_token"
    INSTANCE_APP = "instance_app"


class Reconciliation(StrEnum):
    """How the engine learns whether an attempt that may have reached the platform did publish.

    - IDEMPOTENCY_KEY: the platform honours a key; publishing again returns the earlier post.
    - CHOSEN_ID: the post's id is chosen before the first attempt; the adapter reads it back.
    - LOOKUP: the adapter lists the account's recent posts and matches the part's content
      within the attempt's time window.
    - NONE: nothing can tell; an uncertain attempt is never repeated (at most once).
    """

    IDEMPOTENCY_KEY = "idempotency_key"
    CHOSEN_ID = "chosen_id"
    LOOKUP = "lookup"
    NONE = "none"


@dataclass(frozen=True)
class TextRules:
    """How long a post may be and what happens to longer text.

    `threads`: over-long text (and `---` separated text) becomes a reply chain; otherwise it is
    refused at create-post. `max_bytes` is an extra UTF-8 limit some platforms add.
    """

    limit: int
    counter: TextCounter
    threads: bool
    max_bytes: int | None = None
    caption_limit: int | None = None  # limit of the text that accompanies media, where smaller
    max_hashtags: int | None = None


@dataclass(frozen=True)
class MediaRules:
    """What media a post may carry (INVENTORY §4.5). Sizes in bytes, durations in seconds."""

    max_images: int = 0
    max_videos: int = 0
    image_types: frozenset[str] = frozenset()
    video_types: frozenset[str] = frozenset()
    image_max_bytes: int | None = None
    video_max_bytes: int | None = None
    video_min_seconds: float | None = None
    video_max_seconds: float | None = None
    video_min_fps: float | None = None
    mix_images_and_videos: bool = False
    min_items: int = 0  # e.g. 2 for a carousel-only platform; 0 when one item is fine
    needs_media: bool = False
    needs_video: bool = False
    alt_text_max: int | None = None  # None: the platform has no alt text
    video_alt_text_max: int | None = None  # when a video's alt text has a lower limit than an image's
    image_max_pixels: tuple[int, int] | None = None  # (width, height) after conversion
    convert: Mapping[str, str] = field(default_factory=dict)  # MIME type → MIME type at publish
    max_bytes_by_type: Mapping[str, int] = field(default_factory=dict)  # e.g. X: GIF 15 MB, images 5 MB

    @property
    def takes_media(self) -> bool:
        return self.max_images > 0 or self.max_videos > 0

    def max_bytes(self, mime_type: str) -> int | None:
        """The size limit of one file of `mime_type` (a per-type limit first, else its kind's)."""
        if mime_type in self.max_bytes_by_type:
            return self.max_bytes_by_type[mime_type]
        return self.video_max_bytes if mime_type.startswith("video/") else self.image_max_bytes


@dataclass(frozen=True)
class RateWindow:
    """At most `count` posts per `seconds`, as a budget that refills continuously."""

    count: int
    seconds: float


@dataclass(frozen=True)
class Pacing:
    """Documented publishing rate limits, per account and per app (all accounts of this server)."""

    per_account: tuple[RateWindow, ...] = ()
    per_app: tuple[RateWindow, ...] = ()
    concurrency: int | None = None  # in-flight publishes per worker; None: the worker's default cap


@dataclass(frozen=True)
class SettingField:
    """One field of `platformSettings.<platform>`: its default and, if restricted, its values."""

    default: Any
    allowed: tuple[Any, ...] | None = None
    kind: type = str


@dataclass(frozen=True)
class SandboxAccount:
    """A sandbox account as the simulator will accept it: no I/O is needed to make one."""

    account_id: str
    username: str
    secrets: Mapping[str, str]
    display_name: str | None = None
    expires_at: datetime | None = None  # when the access token in `secrets` stops working


@dataclass(frozen=True)
class TokenExchange:
    """A step after the code exchange: the short-lived token is traded for a long-lived one.

    ``GET <role origin><path>`` with `grant_type`, the app's secret (and its id when
    `sends_client_id`) and the short-lived token as `token_param`; the answer's token and
    ``expires_in`` replace the first answer's (Meta: ``fb_exchange_token``, ``ig_exchange_token``,
    ``th_exchange_token``).
    """

    role: str
    path: str
    grant_type: str
    token_param: str = "access_token"
    sends_client_id: bool = False


@dataclass(frozen=True)
class OAuthFlow:
    """How a person connects an account with OAuth 2 (the authorization-code grant).

    `authorize` and `token` are (endpoint role, path): the origin comes from the descriptor's
    `endpoints` for that role, the sandbox's, or the instance's (Mastodon). `client_auth` is how
    the token request proves the app (``client_secret_basic`` or ``client_secret_post``; a public
    client without a secret sends only its id); `client_id_param` names the app's id where the
    platform calls it otherwise (TikTok's ``client_key``). With `refreshes_access` the adapter
    renews short-lived access tokens by itself, so their end is kept in the secrets
    (``access_expires_at``) and the connection lasts as long as its refresh token.
    `exchange` trades the first token for a long-lived one before anything else uses it.
    With `pages_only` the account itself is never connected, only pages it manages (chosen on a
    page); with `page_tokens` each page comes with its own token (in `Profile.secrets`), which
    the page's connection keeps alone, without the account's token or its expiry.
    """

    authorize: tuple[str, str]
    token: tuple[str, str]
    scopes: tuple[str, ...]
    pkce: bool = True
    client_auth: str = "client_secret_post"
    client_id_param: str = "client_id"
    scope_separator: str = " "
    authorize_params: Mapping[str, str] = field(default_factory=dict)
    refreshes_access: bool = False
    account_id_field: str | None = None  # a field of the token answer naming the account (TikTok: open_id)
    pages_scopes: tuple[str, ...] = ()  # asked in addition when connecting pages the account manages
    per_instance: bool = False  # an app is registered on each instance (Mastodon): no server-wide app
    token_method: str = "POST"  # Facebook documents GET with the parameters in the query
    exchange: TokenExchange | None = None
    pages_only: bool = False
    page_tokens: bool = False


@dataclass(frozen=True)
class PlatformDescriptor:
    """Everything postpost knows about a platform apart from how to speak its protocol."""

    name: str  # as in platformIds: twitter, linkedin, …
    title: str  # for people: "X (Twitter)", "LinkedIn", …
    text: TextRules
    media: MediaRules
    credential: CredentialKind
    endpoints: Mapping[str, str]  # e.g. {"api": "https://api.x.com", "upload": …}; "api" is required
    reconciliation: Reconciliation
    pacing: Pacing = Pacing()
    settings: Mapping[str, SettingField] = field(default_factory=dict)
    rotating_refresh: bool = False  # a refresh token is single-use: never send it twice
    scopes: tuple[str, ...] = ()
    sandbox_account: Callable[[], SandboxAccount] | None = None
    oauth: OAuthFlow | None = None  # how a person connects an account in the browser (OAuth 2 platforms)

    @property
    def default_settings(self) -> dict[str, Any]:
        return {name: spec.default for name, spec in self.settings.items()}
