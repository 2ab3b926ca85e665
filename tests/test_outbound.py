"""Outbound requests to addresses people type in reach the public internet only."""

from __future__ import annotations

import pytest

from postpost.errors import InvalidInput
from postpost.outbound import PublicResolver, is_public_address, public_url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("mastodon.social", "https://mastodon.social"),
        ("https://Mastodon.Social/", "https://mastodon.social"),
        ("@alice@fosstodon.org", "https://fosstodon.org"),
        ("alice@fosstodon.org", "https://fosstodon.org"),
        ("https://example.org:8443/", "https://example.org:8443"),
        ("https://93.184.216.34", "https://93.184.216.34"),
    ],
)
def test_public_url_normalises(raw: str, expected: str) -> None:
    assert public_url(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "http://mastodon.social",
        "https://localhost",
        "https://sub.localhost",
        "https://127.0.0.1",
        "https://10.0.0.8",
        "https://192.168.1.1",
        "https://169.254.169.254",
        "https://[::1]",
        "https://[fd00::1]",
        "https://[::ffff:127.0.0.1]",
        "https://user:pw@mastodon.social",
        "https://mastodon.social/?x=1",
        "ftp://mastodon.social",
        "",
        "https://",
    ],
)
def test_public_url_refuses(raw: str) -> None:
    with pytest.raises(InvalidInput):
        public_url(raw)


def test_private_addresses_allowed_when_configured() -> None:
    assert (
        public_url("http://127.0.0.1:9000/mastodon/", allow_private=True) == "http://127.0.0.1:9000/mastodon"
    )


def test_address_classes() -> None:
    assert is_public_address("93.184.216.34") and is_public_address("2606:4700::1111")
    for address in (
        "127.0.0.1",
        "10.1.1.1",
        "172.16.0.1",
        "100.64.0.1",
        "::1",
        "fe80::1%eth0",
        "224.0.0.1",
        "x",
    ):
        assert not is_public_address(address), address


async def test_resolver_refuses_names_of_private_addresses() -> None:
    resolver = PublicResolver()
    try:
        with pytest.raises(OSError, match="public internet address"):
            await resolver.resolve("localhost", 443)
    finally:
        await resolver.close()
