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


class AdapterPool:
    """One shared aiohttp session and one adapter per platform, created on first use."""

    def __init__(self, *, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._http: aiohttp.ClientSession | None = None
        self._adapters: dict[str, PlatformAdapter] = {}

    def get(self, platform: str) -> PlatformAdapter | None:
        """The adapter for `platform`, or None when none is implemented. Call inside the event loop."""
        if platform not in ADAPTERS:
            return None
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300))
            self._adapters = {}
        if platform not in self._adapters:
            self._adapters[platform] = adapter_for(platform, self._http, timeout=self.timeout)
        return self._adapters[platform]

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
