"""Which adapter serves which platform."""

from __future__ import annotations

import aiohttp

from postpost.platforms.base import PlatformAdapter
from postpost.platforms.bluesky import BlueskyAdapter
from postpost.platforms.mastodon import MastodonAdapter

SUPPORTED_PLATFORMS: tuple[str, ...] = (
    "twitter",
    "linkedin",
    "instagram",
    "threads",
    "tiktok",
    "youtube",
    "facebook",
    "bluesky",
    "mastodon",
    "telegram",
)

ADAPTERS: dict[str, type[PlatformAdapter]] = {
    "mastodon": MastodonAdapter,
    "bluesky": BlueskyAdapter,
}


def adapter_for(platform: str, http: aiohttp.ClientSession, *, timeout: float = 10.0) -> PlatformAdapter:
    """An adapter for `platform` using the shared session; KeyError when none is implemented."""
    try:
        cls = ADAPTERS[platform]
    except KeyError:
        raise KeyError(f"no adapter for platform {platform!r}") from None
    return cls(http, timeout=timeout)
