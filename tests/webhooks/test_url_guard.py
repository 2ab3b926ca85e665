"""The SSRF guard: every blocked range with its message, IPv6 and numeric forms, DNS answers,
and the aiohttp resolver that pins connections to checked addresses."""

from __future__ import annotations

import socket

import pytest
from aiohttp import web

from postpost.errors import InvalidInput
from postpost.net.url_guard import BlockedAddress, UrlGuard
from postpost.net.webhook_client import WebhookClient
from tests.webhooks.conftest import PUBLIC_IP, FakeResolver

LOCALHOST = "Localhost URLs are not allowed"
PRIVATE = "Private IP addresses are not allowed"
LINK_LOCAL = "Link-local addresses are not allowed"
METADATA = "Cloud metadata endpoints are not allowed"

BLOCKED = [
    ("http://localhost/hook", LOCALHOST),
    ("http://LOCALHOST./hook", LOCALHOST),
    ("http://api.localhost/hook", LOCALHOST),
    ("http://127.0.0.1/hook", LOCALHOST),
    ("http://127.255.10.3:8080/hook", LOCALHOST),
    ("http://[::1]/hook", LOCALHOST),
    ("http://0.0.0.0/hook", LOCALHOST),
    ("http://0.1.2.3/hook", LOCALHOST),
    ("http://[::]/hook", LOCALHOST),
    ("http://2130706433/hook", LOCALHOST),
    ("http://0x7f000001/hook", LOCALHOST),
    ("http://0177.0.0.1/hook", LOCALHOST),
    ("http://127.1/hook", LOCALHOST),
    ("http://[::ffff:127.0.0.1]/hook", LOCALHOST),
    ("http://[::127.0.0.1]/hook", LOCALHOST),
    ("http://[64:ff9b::7f00:1]/hook", LOCALHOST),
    ("http://10.0.0.1/hook", PRIVATE),
    ("http://10.255.255.255/hook", PRIVATE),
    ("http://172.16.0.1/hook", PRIVATE),
    ("http://172.31.255.254/hook", PRIVATE),
    ("http://192.168.1.1/hook", PRIVATE),
    ("http://100.64.0.1/hook", PRIVATE),
    ("http://100.127.255.254/hook", PRIVATE),
    ("http://[fc00::1]/hook", PRIVATE),
    ("http://[fd12:3456::1]/hook", PRIVATE),
    ("http://[fec0::1]/hook", PRIVATE),
    ("http://[::ffff:10.0.0.1]/hook", PRIVATE),
    ("http://[::ffff:a00:1]/hook", PRIVATE),
    ("http://[2002:c0a8:101::1]/hook", PRIVATE),
    ("http://224.0.0.1/hook", PRIVATE),
    ("http://[ff02::1]/hook", PRIVATE),
    ("http://240.0.0.1/hook", PRIVATE),
    ("http://255.255.255.255/hook", PRIVATE),
    ("http://192.0.2.10/hook", PRIVATE),
    ("http://[2001:db8::1]/hook", PRIVATE),
    ("http://169.254.0.1/hook", LINK_LOCAL),
    ("http://169.254.255.254/hook", LINK_LOCAL),
    ("http://[fe80::1]/hook", LINK_LOCAL),
    ("http://[fe80::1%25eth0]/hook", LINK_LOCAL),
    ("http://[::ffff:169.254.1.1]/hook", LINK_LOCAL),
    ("http://169.254.169.254/latest/meta-data", METADATA),
    ("http://169.254.170.2/v2/credentials", METADATA),
    ("http://[fd00:ec2::254]/latest", METADATA),
    ("http://100.100.100.200/latest", METADATA),
    ("http://metadata.google.internal/computeMetadata/v1/", METADATA),
    ("http://METADATA.google.internal./x", METADATA),
    ("http://metadata/computeMetadata", METADATA),
    ("http://[::ffff:169.254.169.254]/", METADATA),
    ("http://[64:ff9b::a9fe:a9fe]/", METADATA),
]


@pytest.mark.parametrize(("url", "message"), BLOCKED)
def test_blocked_targets_get_the_contract_message(url, message):
    with pytest.raises(InvalidInput) as caught:
        UrlGuard().check_literal(url)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "Invalid URL format"),
        ("example.com/hook", "Invalid URL format"),
        ("http://", "Invalid URL format"),
        ("https://exa mple.com/", "Invalid URL format"),
        ("http://example.com:99999/", "Invalid URL format"),
        ("http://[::1/", "Invalid URL format"),
        ("http://8.8.8.8\n/", "Invalid URL format"),
        ("http://134744072/", "Invalid URL format"),  # 8.8.8.8 spelled as one number
        ("ftp://example.com/hook", "URL must use HTTPS"),
        ("file:///etc/passwd", "URL must use HTTPS"),
        ("javascript:alert(1)", "URL must use HTTPS"),
        ("mailto:ops@example.com", "URL must use HTTPS"),
    ],
)
def test_malformed_and_non_http_urls(url, message):
    with pytest.raises(InvalidInput) as caught:
        UrlGuard().check_literal(url)
    assert caught.value.message == message


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hook",
        "http://example.com:8080/hook?x=1",
        f"https://{PUBLIC_IP}/hook",
        "https://[2606:4700:4700::1111]/hook",
        "https://bücher.example/hook",
        "https://user:pass@example.com/hook",
    ],
)
def test_public_targets_pass(url):
    target = UrlGuard().check_literal(url)
    assert target.scheme in ("http", "https")


def test_allow_private_lets_loopback_and_private_through_but_not_metadata_or_link_local():
    guard = UrlGuard(allow_private=True)
    for url in ("http://localhost:8001/hook", "http://127.0.0.1/", "http://[::1]/", "http://10.1.2.3/"):
        guard.check_literal(url)
    for url, message in (("http://169.254.169.254/", METADATA), ("http://169.254.1.1/", LINK_LOCAL)):
        with pytest.raises(InvalidInput) as caught:
            guard.check_literal(url)
        assert caught.value.message == message


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (["127.0.0.1"], LOCALHOST),
        (["::1"], LOCALHOST),
        (["10.0.0.7"], PRIVATE),
        ([PUBLIC_IP, "192.168.0.10"], PRIVATE),  # one bad address is enough
        (["::ffff:127.0.0.1"], LOCALHOST),
        (["169.254.169.254"], METADATA),
        (["fe80::1%2"], LINK_LOCAL),
    ],
)
async def test_names_are_resolved_and_every_address_checked(answer, message):
    resolver = FakeResolver({"hooks.example.com": answer})
    with pytest.raises(InvalidInput) as caught:
        await UrlGuard(resolver=resolver).check("https://hooks.example.com/hook")
    assert caught.value.message == message
    assert resolver.calls == ["hooks.example.com"]


async def test_public_names_pass_and_unresolvable_names_are_left_for_delivery():
    resolver = FakeResolver({"hooks.example.com": [PUBLIC_IP, "2606:4700::1111"]})
    guard = UrlGuard(resolver=resolver)
    await guard.check("https://hooks.example.com/hook")
    await guard.check("https://not-yet.example.com/hook")
    assert resolver.calls == ["hooks.example.com", "not-yet.example.com"]
    await guard.check(f"https://{PUBLIC_IP}/hook")  # literals need no resolution
    assert len(resolver.calls) == 2


async def test_aiohttp_resolver_returns_only_checked_addresses():
    resolver = FakeResolver({"hooks.example.com": [[PUBLIC_IP], ["127.0.0.1"]]})
    pinned = UrlGuard(resolver=resolver).resolver()
    [first] = await pinned.resolve("hooks.example.com", 443)
    assert (first["host"], first["port"], first["hostname"]) == (PUBLIC_IP, 443, "hooks.example.com")
    with pytest.raises(BlockedAddress) as caught:  # the rebound answer is checked, not trusted
        await pinned.resolve("hooks.example.com", 443)
    assert caught.value.message == LOCALHOST


async def test_rebinding_between_check_and_connect_never_reaches_loopback(receiver):
    """The name answers public at creation and at the delivery's check, then loopback. A client
    that resolved again to connect would reach the local receiver; the guarded one connects to
    the address it checked, and refuses the loopback answer on the next connection."""
    host = "rebind.example.com"
    resolver = FakeResolver({host: [[PUBLIC_IP], [PUBLIC_IP], ["127.0.0.1"]]})
    guard = UrlGuard(resolver=resolver)
    url = f"http://{host}:{receiver.port}/hook"
    await guard.check(url)  # creation-time check sees the public answer
    client = WebhookClient(guard, timeout=1.0)
    try:
        result = await client.post(url, b"{}", {"Content-Type": "application/json"})
        again = await client.post(url, b"{}", {"Content-Type": "application/json"})
    finally:
        await client.close()
    assert resolver.calls == [host, host, host]
    assert not result.ok and result.status_code is None
    assert again.error == LOCALHOST
    assert receiver.requests == []


async def test_delivery_time_check_refuses_a_name_that_now_points_at_loopback(receiver):
    resolver = FakeResolver({"internal.example.com": ["127.0.0.1"]})
    client = WebhookClient(UrlGuard(resolver=resolver), timeout=1.0)
    try:
        result = await client.post(f"http://internal.example.com:{receiver.port}/hook", b"{}", {})
        literal = await client.post(f"http://127.0.0.1:{receiver.port}/hook", b"{}", {})
    finally:
        await client.close()
    assert (result.status_code, result.error) == (None, LOCALHOST)
    assert (literal.status_code, literal.error) == (None, LOCALHOST)
    assert receiver.requests == []
    # control: the same receiver is reachable when private targets are allowed
    allowed = WebhookClient(UrlGuard(allow_private=True, resolver=resolver), timeout=1.0)
    try:
        ok = await allowed.post(f"http://internal.example.com:{receiver.port}/hook", b"{}", {})
    finally:
        await allowed.close()
    assert ok.status_code == 200 and ok.ok
    assert len(receiver.requests) == 1


async def test_redirects_are_not_followed(receiver):
    async def redirect(_request: web.Request) -> web.Response:
        raise web.HTTPFound(receiver.url("/target"))

    app = web.Application()
    app.router.add_post("/moved", redirect)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    client = WebhookClient(UrlGuard(allow_private=True), timeout=2.0)
    try:
        result = await client.post(f"http://127.0.0.1:{port}/moved", b"{}", {})
    finally:
        await client.close()
        await runner.cleanup()
    assert (result.status_code, result.error, result.ok) == (302, "HTTP 302", False)
    assert receiver.requests == []


async def test_network_errors_and_timeouts_are_reported_not_raised(receiver):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    receiver.hold.add("/slow")
    client = WebhookClient(UrlGuard(allow_private=True), timeout=0.5)
    try:
        refused = await client.post(f"http://127.0.0.1:{closed_port}/", b"{}", {})
        slow = await client.post(receiver.url("/slow"), b"{}", {})
    finally:
        await client.close()
    assert refused.status_code is None and refused.error.startswith("Connection failed")
    assert (slow.status_code, slow.error) == (None, "Timed out after 0.5 s")
    assert [r.path for r in receiver.requests] == ["/slow"]
