"""The webhook routes on both engines: every field, status code and error string, and tenancy."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import update

from postpost.api.app import create_app
from postpost.db.models import Webhook
from postpost.net.url_guard import UrlGuard
from postpost.security import SecretBox
from tests.conftest import SECRET
from tests.webhooks.conftest import PUBLIC_IP, FakeResolver

URL = "https://hooks.example.com/postpost"
ALL_EVENTS = ["post.scheduled", "post.published", "post.failed", "token.expiring"]
NOT_FOUND = {"error": "Webhook not found"}
REQUIRED = {"error": "Name, URL, and at least one event are required"}
HEX64 = re.compile(r"^[0-9a-f]{64}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture(scope="session")
def resolver() -> FakeResolver:
    return FakeResolver(
        {
            "hooks.example.com": [PUBLIC_IP],
            "other.example.com": ["2606:4700::1111"],
            "internal.example.com": ["127.0.0.1"],
            "intranet.example.com": [PUBLIC_IP, "10.1.2.3"],
            "imds.example.com": ["169.254.169.254"],
            "ll.example.com": ["fe80::1"],
        }
    )


@pytest_asyncio.fixture
async def api(settings, database, resolver) -> AsyncIterator[httpx.AsyncClient]:
    """The API with the production guard (no private targets) and a resolver the test controls."""
    app = create_app(settings, database, url_guard=UrlGuard(resolver=resolver))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client
    await app.state.services.webhook_client.close()


async def create(api, user, **overrides: Any) -> httpx.Response:
    body = {"name": "Production Notifications", "url": URL, "events": ["post.published", "post.failed"]}
    body.update(overrides)
    return await api.post("/api/v1/webhooks", headers=user.headers, json=body)


async def created(api, user, **overrides: Any) -> dict[str, Any]:
    r = await create(api, user, **overrides)
    assert r.status_code == 201, r.text
    return dict(r.json()["webhook"])


async def test_create_answers_201_with_the_secret_once(api, make_user):
    user = await make_user()
    r = await create(api, user, events=ALL_EVENTS)
    assert r.status_code == 201
    body = r.json()
    assert list(body) == ["success", "webhook"] and body["success"] is True
    hook = body["webhook"]
    assert list(hook) == ["_id", "name", "url", "events", "secret", "isActive", "createdAt"]
    assert re.match(r"^[0-9a-f]{24}$", hook["_id"])
    assert (hook["name"], hook["url"], hook["events"], hook["isActive"]) == (
        "Production Notifications",
        URL,
        ALL_EVENTS,
        True,
    )
    assert HEX64.match(hook["secret"]) and ISO.match(hook["createdAt"])
    listed = (await api.get("/api/v1/webhooks", headers=user.headers)).json()
    assert listed["success"] is True
    [entry] = listed["webhooks"]
    assert list(entry) == [
        "_id",
        "name",
        "url",
        "events",
        "isActive",
        "failureCount",
        "lastTriggeredAt",
        "createdAt",
        "updatedAt",
    ]
    assert entry["failureCount"] == 0 and entry["lastTriggeredAt"] is None
    assert "secret" not in str(listed) and hook["secret"] not in str(listed)


async def test_secret_is_stored_encrypted(api, make_user, database):
    user = await make_user()
    hook = await created(api, user)
    async with database.session() as session:
        stored = await session.get(Webhook, hook["_id"])
    assert stored is not None and hook["secret"] not in stored.secret
    assert SecretBox(SECRET.encode()).decrypt(stored.secret) == {"secret": hook["secret"]}


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": None},
        {"name": ""},
        {"name": 42},
        {"url": None},
        {"url": ""},
        {"events": None},
        {"events": []},
        {"events": "post.failed"},
    ],
)
async def test_create_requires_name_url_and_events(api, make_user, overrides):
    user = await make_user()
    r = await create(api, user, **overrides)
    assert (r.status_code, r.json()) == (400, REQUIRED)


async def test_create_with_no_body_or_not_an_object(api, make_user):
    user = await make_user()
    for content in (b"", b"[]", b'"x"'):
        r = await api.post(
            "/api/v1/webhooks", headers={**user.headers, "Content-Type": "application/json"}, content=content
        )
        assert (r.status_code, r.json()) == (400, REQUIRED)


async def test_create_invalid_events_lists_valid_ones(api, make_user):
    user = await make_user()
    r = await create(api, user, events=["post.published", "foo", "post.deleted"])
    assert r.status_code == 400
    assert r.json() == {
        "error": "Invalid events: foo, post.deleted. Valid events: post.scheduled, post.published, "
        "post.failed, token.expiring"
    }


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "Invalid URL format"),
        ("ftp://hooks.example.com/x", "URL must use HTTPS"),
        ("http://localhost:3000/hook", "Localhost URLs are not allowed"),
        ("http://127.0.0.1/hook", "Localhost URLs are not allowed"),
        ("http://[::1]/hook", "Localhost URLs are not allowed"),
        ("http://app.localhost/hook", "Localhost URLs are not allowed"),
        ("http://10.0.0.5/hook", "Private IP addresses are not allowed"),
        ("http://172.20.1.1/hook", "Private IP addresses are not allowed"),
        ("http://192.168.0.1/hook", "Private IP addresses are not allowed"),
        ("http://169.254.10.10/hook", "Link-local addresses are not allowed"),
        ("http://169.254.169.254/latest/meta-data", "Cloud metadata endpoints are not allowed"),
        ("http://metadata.google.internal/", "Cloud metadata endpoints are not allowed"),
        ("https://internal.example.com/hook", "Localhost URLs are not allowed"),
        ("https://intranet.example.com/hook", "Private IP addresses are not allowed"),
        ("https://imds.example.com/hook", "Cloud metadata endpoints are not allowed"),
        ("https://ll.example.com/hook", "Link-local addresses are not allowed"),
    ],
)
async def test_create_url_rules(api, make_user, url, message):
    user = await make_user()
    r = await create(api, user, url=url)
    assert (r.status_code, r.json()) == (400, {"error": message})
    assert (await api.get("/api/v1/webhooks", headers=user.headers)).json()["webhooks"] == []


async def test_http_is_accepted_and_checks_run_in_the_contract_order(api, make_user):
    user = await make_user()
    assert (await create(api, user, url=f"http://{PUBLIC_IP}/hook")).status_code == 201
    assert (await create(api, user, url="https://other.example.com/hook")).status_code == 201
    # URL format before events; events before the scheme and address checks
    r = await create(api, user, url="::nope::", events=["foo"])
    assert r.json() == {"error": "Invalid URL format"}
    r = await create(api, user, url="ftp://x.example.com/", events=["foo"])
    assert r.json()["error"].startswith("Invalid events: foo.")
    r = await create(api, user, name="", url="::nope::")
    assert r.json() == REQUIRED


async def test_at_most_ten_webhooks_per_user(api, make_user):
    user, other = await make_user(), await make_user()
    for n in range(10):
        await created(api, user, name=f"hook {n}")
    r = await create(api, user)
    assert (r.status_code, r.json()) == (400, {"error": "Maximum of 10 webhooks per user"})
    assert len((await api.get("/api/v1/webhooks", headers=user.headers)).json()["webhooks"]) == 10
    assert (await create(api, other)).status_code == 201  # per user


async def test_name_length_is_bounded(api, make_user):
    user = await make_user()
    r = await create(api, user, name="x" * 201)
    assert (r.status_code, r.json()) == (400, {"error": "Name must be at most 200 characters"})
    assert (await create(api, user, name="x" * 200)).status_code == 201


async def test_update_applies_truthy_fields_and_real_booleans(api, make_user):
    user = await make_user()
    hook = await created(api, user)
    path = f"/api/v1/webhooks/{hook['_id']}"
    r = await api.patch(
        path,
        headers=user.headers,
        json={"name": "Updated Name", "url": "https://other.example.com/new", "events": ["post.failed"]},
    )
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["success", "webhook"] and body["success"] is True
    assert list(body["webhook"]) == ["_id", "name", "url", "events", "isActive", "updatedAt"]
    assert body["webhook"] == {
        "_id": hook["_id"],
        "name": "Updated Name",
        "url": "https://other.example.com/new",
        "events": ["post.failed"],
        "isActive": True,
        "updatedAt": body["webhook"]["updatedAt"],
    }
    # empty strings and lists are ignored, and so is a string isActive
    r = await api.patch(
        path, headers=user.headers, json={"name": "", "url": "", "events": [], "isActive": "false"}
    )
    assert r.status_code == 200
    assert {k: r.json()["webhook"][k] for k in ("name", "url", "events", "isActive")} == {
        "name": "Updated Name",
        "url": "https://other.example.com/new",
        "events": ["post.failed"],
        "isActive": True,
    }
    r = await api.patch(path, headers=user.headers, json={"isActive": False})
    assert r.json()["webhook"]["isActive"] is False
    r = await api.patch(path, headers=user.headers)  # no body: nothing changes
    assert r.status_code == 200 and r.json()["webhook"]["isActive"] is False
    [listed] = (await api.get("/api/v1/webhooks", headers=user.headers)).json()["webhooks"]
    assert listed["isActive"] is False and listed["name"] == "Updated Name"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"events": ["post.failed", "nope"]}, "Invalid events: nope"),
        ({"events": "post.failed"}, "Invalid events: post.failed"),
        ({"url": "not a url"}, "Invalid URL format"),
        ({"url": "gopher://hooks.example.com"}, "URL must use HTTPS"),
        ({"url": "http://localhost/x"}, "Localhost URLs are not allowed"),
        ({"url": "https://internal.example.com/x"}, "Localhost URLs are not allowed"),
        ({"url": "http://[fd00::1]/x"}, "Private IP addresses are not allowed"),
        ({"url": "http://[fe80::2]/x"}, "Link-local addresses are not allowed"),
        ({"url": "http://[fd00:ec2::254]/x"}, "Cloud metadata endpoints are not allowed"),
        ({"url": 5}, "Invalid URL format"),
    ],
)
async def test_update_errors_change_nothing(api, make_user, body, message):
    user = await make_user()
    hook = await created(api, user)
    r = await api.patch(
        f"/api/v1/webhooks/{hook['_id']}", headers=user.headers, json={"name": "changed", **body}
    )
    assert (r.status_code, r.json()) == (400, {"error": message})
    [listed] = (await api.get("/api/v1/webhooks", headers=user.headers)).json()["webhooks"]
    assert (listed["name"], listed["url"], listed["events"]) == (hook["name"], URL, hook["events"])


async def test_deliveries_of_a_new_webhook(api, make_user):
    user = await make_user()
    hook = await created(api, user)
    for params in ({}, {"limit": "0"}, {"limit": "500"}, {"limit": "x"}):
        r = await api.get(f"/api/v1/webhooks/{hook['_id']}/deliveries", headers=user.headers, params=params)
        assert (r.status_code, r.json()) == (200, {"success": True, "deliveries": []})


async def test_delete(api, make_user):
    user = await make_user()
    keep, gone = await created(api, user, name="keep"), await created(api, user, name="gone")
    r = await api.delete(f"/api/v1/webhooks/{gone['_id']}", headers=user.headers)
    assert (r.status_code, r.json()) == (200, {"success": True})
    r = await api.delete(f"/api/v1/webhooks/{gone['_id']}", headers=user.headers)
    assert (r.status_code, r.json()) == (404, NOT_FOUND)
    listed = (await api.get("/api/v1/webhooks", headers=user.headers)).json()["webhooks"]
    assert [h["_id"] for h in listed] == [keep["_id"]]


async def test_regenerate_secret(api, make_user, database):
    user = await make_user()
    hook = await created(api, user)
    path = f"/api/v1/webhooks/{hook['_id']}/regenerate-secret"
    r = await api.post(path, headers=user.headers)
    assert r.status_code == 200
    assert list(r.json()) == ["success", "secret"] and r.json()["success"] is True
    secret = r.json()["secret"]
    assert HEX64.match(secret) and secret != hook["secret"]
    box = SecretBox(SECRET.encode())
    async with database.session() as session:
        stored = await session.get(Webhook, hook["_id"])
        assert stored is not None
        assert box.decrypt(stored.secret) == {"secret": secret}
        assert stored.previous_secret is None
    r = await api.post(path, headers=user.headers, json={"graceSeconds": 3600})
    assert r.status_code == 200 and list(r.json()) == ["success", "secret", "previousSecretExpiresAt"]
    assert ISO.match(r.json()["previousSecretExpiresAt"])
    async with database.session() as session:
        stored = await session.get(Webhook, hook["_id"])
        assert stored is not None
        assert box.decrypt(stored.previous_secret) == {"secret": secret}
    for grace in (-1, 604801, "60", 1.5, True):
        r = await api.post(path, headers=user.headers, json={"graceSeconds": grace})
        assert (r.status_code, r.json()) == (
            400,
            {"error": "graceSeconds must be an integer from 0 to 604800"},
        )


async def test_another_tenants_webhook_is_not_found(api, make_user):
    owner, stranger = await make_user(), await make_user()
    hook = await created(api, owner)
    base = f"/api/v1/webhooks/{hook['_id']}"
    for method, path in (
        ("PATCH", base),
        ("DELETE", base),
        ("POST", f"{base}/regenerate-secret"),
        ("POST", f"{base}/test"),
        ("GET", f"{base}/deliveries"),
    ):
        r = await api.request(method, path, headers=stranger.headers, json={"name": "mine now"})
        assert (r.status_code, r.json()) == (404, NOT_FOUND), (method, path)
    assert (await api.get("/api/v1/webhooks", headers=stranger.headers)).json()["webhooks"] == []
    [listed] = (await api.get("/api/v1/webhooks", headers=owner.headers)).json()["webhooks"]
    assert listed["name"] == hook["name"]


@pytest.mark.parametrize("webhook_id", ["nope", "0" * 24, "g" * 24, "1" * 25])
async def test_unknown_or_malformed_ids_are_not_found(api, make_user, webhook_id):
    user = await make_user()
    for method, suffix in (("PATCH", ""), ("DELETE", ""), ("POST", "/regenerate-secret"), ("POST", "/test")):
        r = await api.request(method, f"/api/v1/webhooks/{webhook_id}{suffix}", headers=user.headers)
        assert (r.status_code, r.json()) == (404, NOT_FOUND)


async def test_workspace_owner_manages_a_managed_users_webhooks(api, make_user):
    owner = await make_user("premium", workspace=True)
    managed = await make_user(parent=owner)
    as_managed = {**owner.headers, "x-postpost-user-id": managed.id}
    r = await api.post(
        "/api/v1/webhooks", headers=as_managed, json={"name": "m", "url": URL, "events": ["post.failed"]}
    )
    assert r.status_code == 201, r.text
    assert len((await api.get("/api/v1/webhooks", headers=managed.headers)).json()["webhooks"]) == 1
    assert (await api.get("/api/v1/webhooks", headers=owner.headers)).json()["webhooks"] == []


async def test_authentication_errors(api, make_user):
    r = await api.get("/api/v1/webhooks")
    assert (r.status_code, r.json()) == (401, {"error": "API key is required"})
    r = await api.post("/api/v1/webhooks", headers={"x-api-key": "sk_nope.nope"}, json={})
    assert (r.status_code, r.json()) == (401, {"error": "Invalid API key"})
    starter = await make_user("starter")
    r = await api.get("/api/v1/webhooks", headers=starter.headers)
    assert (r.status_code, r.json()) == (403, {"error": "API access is not enabled for this account"})


async def test_server_failures_use_the_documented_messages(api, make_user, database):
    """A row the service cannot read (an undecryptable secret, a corrupt events list)."""
    user = await make_user()
    hook = await created(api, user)
    async with database.session() as session:
        await session.execute(
            update(Webhook).where(Webhook.id == hook["_id"]).values(events=5, secret="garbage")
        )
        await session.commit()
    r = await api.get("/api/v1/webhooks", headers=user.headers)
    assert (r.status_code, r.json()) == (500, {"error": "Failed to list webhooks"})
    r = await api.patch(f"/api/v1/webhooks/{hook['_id']}", headers=user.headers, json={"name": "x"})
    assert (r.status_code, r.json()) == (500, {"error": "Failed to update webhook"})
    r = await api.post(f"/api/v1/webhooks/{hook['_id']}/test", headers=user.headers)
    assert (r.status_code, r.json()) == (500, {"error": "Failed to test webhook"})
