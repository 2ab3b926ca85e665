"""Outbound HTTP to addresses people type in (a Mastodon instance): the public internet only.

A server-side request to a user-given URL must not reach this host, its private network or a
cloud metadata service (SSRF). `PublicResolver` checks every address when the connection is
made, so a name that resolves differently later (DNS rebinding) is caught too; `public_url`
checks the URL itself, including hosts written as IP addresses (which skip the resolver).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from postpost.errors import InvalidInput


def is_public_address(address: str) -> bool:
    """True for a globally routable IP address (not loopback, private, link-local, reserved…)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class PublicResolver(AbstractResolver):
    """aiohttp's resolver, keeping only public addresses (none left: the name is refused)."""

    def __init__(self) -> None:
        self._inner = aiohttp.DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        public = [entry for entry in found if is_public_address(entry["host"])]
        if not public:
            raise OSError(f"{host} does not resolve to a public internet address")
        return public

    async def close(self) -> None:
        await self._inner.close()


def public_session() -> aiohttp.ClientSession:
    """A client session that connects to public internet addresses only."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=PublicResolver(), use_dns_cache=False)
    )


def public_url(raw: str, *, allow_private: bool = False) -> str:
    """`raw` as an origin (``https://host[:port]``, with a path prefix if it has one).

    A bare host name gets ``https://``; ``@user@host`` names its host. Without `allow_private`
    the URL must use https and must not name a private, loopback or otherwise non-public host.
    """
    text = raw.strip()
    if text.startswith("@") or ("@" in text and "://" not in text):
        text = text.rsplit("@", 1)[-1]
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InvalidInput(f"Not a valid address: {raw.strip()}") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host or parts.username or parts.password:
        raise InvalidInput(f"Not a valid address: {raw.strip()}")
    if parts.query or parts.fragment:
        raise InvalidInput(f"Give the server's address only, without a query: {raw.strip()}")
    if not allow_private:
        if parts.scheme != "https":
            raise InvalidInput("The server must be reached over https")
        if host == "localhost" or host.endswith(".localhost") or _private_literal(host):
            raise InvalidInput(f"{host} is not a public internet address")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def _private_literal(host: str) -> bool:
    """True when `host` is an IP address that is not public (a name is checked when resolved)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return not is_public_address(host)
