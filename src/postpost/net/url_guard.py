"""SSRF guard for outbound requests to user-given URLs (webhooks now, media URLs later).

`UrlGuard.check(url)` validates the URL and the addresses its host resolves to, raising
`InvalidInput` with the contract's messages. `UrlGuard.resolver()` is an aiohttp resolver that
resolves, checks and returns the checked addresses, so the connection goes to exactly the
address that passed the check (no DNS rebinding between check and connect). IP-literal hosts
never reach a resolver; `check_literal` covers them and must run before every request.

Blocked (message): loopback 127/8, ::1, 0/8, ::, `localhost`, `*.localhost` ("Localhost URLs are
not allowed"); cloud metadata addresses and hosts ("Cloud metadata endpoints are not allowed"),
checked before link-local 169.254/16, fe80::/10 ("Link-local addresses are not allowed"); private
10/8, 172.16/12, 192.168/16, CGNAT 100.64/10, ULA fc00::/7, site-local, multicast, reserved and
documentation ranges, and anything else not globally routable ("Private IP addresses are not
allowed"). IPv4 embedded in IPv6 (mapped, compatible, NAT64, 6to4) is judged as that IPv4.
`allow_private` (development and tests only) lets loopback and private targets through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult

from postpost.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

INVALID_URL = "Invalid URL format"
NOT_HTTP = "URL must use HTTPS"
LOCALHOST = "Localhost URLs are not allowed"
PRIVATE = "Private IP addresses are not allowed"
LINK_LOCAL = "Link-local addresses are not allowed"
METADATA = "Cloud metadata endpoints are not allowed"

METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$")
_HOST_CHARS = re.compile(r"^[a-z0-9.\-_~!$&'()*+,;=%]+$")
RESOLVE_TIMEOUT_SECONDS = 5.0
VERDICT_CACHE_SIZE = 4096


class BlockedAddress(OSError):
    """A host resolved to an address the guard refuses; `message` is the contract's text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Resolver(Protocol):
    """Host name to IP addresses (the system resolver in production; a fake in tests)."""

    async def resolve(self, host: str, port: int) -> list[str]: ...


class SystemResolver:
    """getaddrinfo in the event loop's executor."""

    async def resolve(self, host: str, port: int) -> list[str]:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_problem(address: IPAddress, *, allow_private: bool = False) -> str | None:
    """The message refusing `address`, or None when it may be contacted."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return address_problem(embedded, allow_private=allow_private)
    if address in METADATA_ADDRESSES:
        return METADATA
    if address.is_link_local:
        return LINK_LOCAL
    if allow_private:
        return None
    if address.is_loopback or address.is_unspecified or address in _THIS_NETWORK:
        return LOCALHOST
    if address.is_multicast or not address.is_global or getattr(address, "is_site_local", False):
        return PRIVATE
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Numeric IPv4 spellings the C library accepts (`2130706433`, `0x7f.1`, `0177.0.0.1`)."""
    if not _LEGACY_IPV4.match(host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _valid_name(host: str) -> bool:
    try:
        ascii_host = host if host.isascii() else host.encode("idna").decode()
    except UnicodeError:
        return False
    return bool(_HOST_CHARS.match(ascii_host))


@dataclass(frozen=True)
class Target:
    """A parsed URL: scheme, host (lowercase, no brackets or final dot; empty unless http(s)), port,
    and the host's address when it is an IP literal."""

    scheme: str
    host: str
    port: int
    address: IPAddress | None


def parse_target(url: str) -> Target:
    """Parse the URL as a browser would; only an unparseable one raises ("Invalid URL format")."""
    if not isinstance(url, str) or len(url) > 2048 or any(c.isspace() or ord(c) < 32 for c in url):
        raise InvalidInput(INVALID_URL)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput(INVALID_URL) from None
    if not parts.scheme or not re.match(r"^[a-z][a-z0-9+.\-]*$", parts.scheme, re.IGNORECASE):
        raise InvalidInput(INVALID_URL)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return Target(scheme, "", 0, None)
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidInput(INVALID_URL)
    address: IPAddress | None
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        address = _legacy_ipv4(host)
        if address is None and not _valid_name(host):
            raise InvalidInput(INVALID_URL) from None
    return Target(scheme, host, port or (443 if scheme == "https" else 80), address)


class UrlGuard:
    """The checks, with the resolver to use and whether private targets are allowed."""

    def __init__(self, *, allow_private: bool = False, resolver: Resolver | None = None) -> None:
        self.allow_private = allow_private
        self.inner = resolver or SystemResolver()
        self._verdicts: dict[tuple[str, bool], Target | str] = {}

    def check_literal(self, url: str) -> Target:
        """Syntax, scheme, and every check possible without DNS (names, literal addresses).

        Verdicts are remembered per URL (they depend on nothing else), so a delivery pays once.
        """
        key = (url, self.allow_private)
        verdict = self._verdicts.get(key)
        if verdict is None:
            try:
                verdict = self._check_literal(url)
            except InvalidInput as refused:
                verdict = refused.message
            if len(self._verdicts) >= VERDICT_CACHE_SIZE:
                self._verdicts.clear()
            self._verdicts[key] = verdict
        if isinstance(verdict, str):
            raise InvalidInput(verdict)
        return verdict

    def _check_literal(self, url: str) -> Target:
        target = parse_target(url)
        if target.scheme not in ("http", "https"):
            raise InvalidInput(NOT_HTTP)
        host = target.host
        if host in METADATA_HOSTS:
            raise InvalidInput(METADATA)
        if not self.allow_private and (host == "localhost" or host.endswith(".localhost")):
            raise InvalidInput(LOCALHOST)
        if target.address is not None:
            problem = address_problem(target.address, allow_private=self.allow_private)
            if problem:
                raise InvalidInput(problem)
            if str(target.address) != host.split("%", 1)[0] and target.address.version == 4:
                raise InvalidInput(INVALID_URL)  # e.g. 2130706433 for a public address: ambiguous
        return target

    async def check(self, url: str) -> None:
        """All checks, resolving the host now. A name that does not resolve is not refused here:
        it is checked again, like every name, when a request is made."""
        target = self.check_literal(url)
        if target.address is not None:
            return
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
                addresses = await self.inner.resolve(target.host, target.port)
        except (OSError, TimeoutError):
            return
        try:
            self.checked(addresses)
        except BlockedAddress as blocked:
            raise InvalidInput(blocked.message) from None

    def checked(self, addresses: Sequence[str]) -> list[IPAddress]:
        """Parse and check resolved addresses; BlockedAddress if any one is refused."""
        parsed = [ipaddress.ip_address(a.split("%", 1)[0]) for a in addresses]
        for address in parsed:
            problem = address_problem(address, allow_private=self.allow_private)
            if problem:
                raise BlockedAddress(problem)
        return parsed

    def resolver(self) -> AbstractResolver:
        """An aiohttp resolver returning only checked addresses (connections are pinned to them)."""
        return _GuardedResolver(self)


class _GuardedResolver(AbstractResolver):
    def __init__(self, guard: UrlGuard) -> None:
        self.guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            addresses = await self.guard.inner.resolve(host, port)
        except OSError:
            raise
        except Exception as exc:  # a resolver failing any other way is a connection error
            raise OSError(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise OSError(f"cannot resolve {host}")
        return [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                proto=socket.IPPROTO_TCP,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self.guard.checked(addresses)
        ]

    async def close(self) -> None:
        return None
