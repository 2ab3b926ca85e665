"""Which platforms exist, which can publish, and the one owner of adapter instances.

The ten platform names are the contract's. A platform can publish when a module
`postpost.platforms.<name>` defines `ADAPTER` (a `PlatformAdapter` subclass carrying its
descriptor): adding a platform adds that one module, and everything here finds it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from functools import cache

import aiohttp

from postpost.platforms.base import PlatformAdapter
from postpost.platforms.descriptor import PlatformDescriptor

PLATFORM_NAMES: tuple[str, ...] = (
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


@cache
def adapter_classes() -> dict[str, type[PlatformAdapter]]:
    """The adapter class of every platform that has one, by platform name."""
    found: dict[str, type[PlatformAdapter]] = {}
    for name in PLATFORM_NAMES:
        try:
            module = importlib.import_module(f"postpost.platforms.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"postpost.platforms.{name}":
                raise
            continue
        adapter: type[PlatformAdapter] = module.ADAPTER
        if adapter.descriptor.name != name:
            raise RuntimeError(f"postpost.platforms.{name} describes {adapter.descriptor.name!r}")
        found[name] = adapter
    return found


def descriptors() -> dict[str, PlatformDescriptor]:
    """The descriptor of every platform that can publish."""
    return {name: cls.descriptor for name, cls in adapter_classes().items()}


def descriptor(name: str) -> PlatformDescriptor | None:
    cls = adapter_classes().get(name)
    return cls.descriptor if cls else None


def can_publish(name: str) -> bool:
    return name in adapter_classes()


AppCredentials = Callable[[str], Mapping[str, str]]


class Adapters:
    """Owns one shared aiohttp session and one adapter per platform, created on first use.

    The API (test-connection) and each worker hold one; `close()` ends the session.
    """

    def __init__(self, *, timeout: float = 10.0, app_credentials: AppCredentials | None = None) -> None:
        self.timeout = timeout
        self._app_credentials = app_credentials or (lambda _name: {})
        self._http: aiohttp.ClientSession | None = None
        self._adapters: dict[str, PlatformAdapter] = {}

    def get(self, platform: str) -> PlatformAdapter | None:
        """The adapter for `platform`, or None when it cannot publish. Call inside the event loop."""
        cls = adapter_classes().get(platform)
        if cls is None:
            return None
        if self._http is None or self._http.closed:
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
            self._http = aiohttp.ClientSession(connector=connector)
            self._adapters = {}
        if platform not in self._adapters:
            self._adapters[platform] = cls(
                self._http, timeout=self.timeout, app=self._app_credentials(platform)
            )
        return self._adapters[platform]

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
            self._adapters = {}
