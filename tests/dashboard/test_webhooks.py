"""`/webhooks`, the dashboard variant of INVENTORY §1.5, and the `/app/webhooks` page."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from postpost.api.app import create_app
from postpost.config import Settings
from postpost.db.models import Webhook
from postpost.db.session import Database
from postpost.net.url_guard import UrlGuard
from tests.conftest import ServerThread
from tests.dashboard.conftest import Dash, DashUser, SignedInClient

PUBLIC = "https://93.184.216.34/hook"  # a public literal address: no DNS needed
EVENTS = ["post.published", "post.failed"]


async def test_create_list_update_delete(
    signed_in_client: SignedInClient, dash_user: DashUser, dash_database: Database
) -> None:
    http, headers = signed_in_client.http, signed_in_client.json_headers
    first = await http.post("/webhooks", json={"name": "A", "url": PUBLIC, "events": EVENTS}, headers=headers)
    assert first.status_code == 201
    hook = first.json()["webhook"]
    assert first.json()["success"] is True
    assert set(hook) == {"_id", "name", "url", "events", "secret", "isActive", "createdAt"}
    assert re.fullmatch(r"[0-9a-f]{64}", hook["secret"]) and hook["isActive"] is True
    second = (
        await http.post(
            "/webhooks", json={"name": "B", "url": PUBLIC, "events": ["post.failed"]}, headers=headers
        )
    ).json()["webhook"]

    listed = (await http.get("/webhooks")).json()
    assert listed["success"] is True
    assert [h["name"] for h in listed["webhooks"]] == ["B", "A"]  # newest first
    assert all("secret" not in h and h["userId"] == dash_user.id for h in listed["webhooks"])

    async with dash_database.session() as session:  # five failures disabled it
        await session.execute(
            update(Webhook).where(Webhook.id == hook["_id"]).values(failure_count=5, is_active=False)
        )
        await session.commit()
    r = await http.patch(f"/webhooks/{hook['_id']}", json={"isActive": "true", "name": ""}, headers=headers)
    assert r.status_code == 200
    updated = r.json()["webhook"]
    assert (updated["isActive"], updated["failureCount"], updated["name"]) == (True, 0, "")
    assert set(updated) == {
        "_id",
        "name",
        "url",
        "events",
        "isActive",
        "failureCount",
        "lastTriggeredAt",
        "updatedAt",
    }
    r = await http.patch(f"/webhooks/{hook['_id']}", json={"isActive": False}, headers=headers)
    assert r.json()["webhook"]["isActive"] is False

    r = await http.delete(f"/webhooks/{second['_id']}", headers=headers)
    assert (r.status_code, r.json()) == (200, {"success": True})
    assert [h["_id"] for h in (await http.get("/webhooks")).json()["webhooks"]] == [hook["_id"]]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"url": PUBLIC, "events": EVENTS}, "Name, URL, and at least one event are required"),
        ({"name": "x", "url": PUBLIC, "events": []}, "Name, URL, and at least one event are required"),
        ({"name": "x", "url": "not a url", "events": EVENTS}, "Invalid URL format"),
        ({"name": "x", "url": PUBLIC, "events": ["post.published", "foo"]}, "Invalid events: foo"),
        (
            {"name": "x", "url": "ftp://93.184.216.34/", "events": EVENTS},
            "Only HTTP and HTTPS URLs are allowed",
        ),
        ({"name": "x", "url": "http://localhost:8080/", "events": EVENTS}, "Localhost URLs are not allowed"),
        ({"name": "x", "url": "http://[::1]/", "events": EVENTS}, "Localhost URLs are not allowed"),
        ({"name": "x", "url": "http://app.localhost/", "events": EVENTS}, "Localhost URLs are not allowed"),
        (
            {"name": "x", "url": "http://192.168.1.5/", "events": EVENTS},
            "Private IP addresses are not allowed",
        ),
        (
            {"name": "x", "url": "http://169.254.169.254/", "events": EVENTS},
            "Cloud metadata endpoints are not allowed",
        ),
    ],
)
async def test_create_errors(signed_in_client: SignedInClient, body: dict[str, Any], message: str) -> None:
    r = await signed_in_client.http.post("/webhooks", json=body, headers=signed_in_client.json_headers)
    assert (r.status_code, r.json()) == (400, {"error": message})


async def test_update_errors_limit_and_foreign_webhooks(dash: Dash, signed_in_client: SignedInClient) -> None:
    http, headers = signed_in_client.http, signed_in_client.json_headers
    hook = (
        await http.post("/webhooks", json={"name": "A", "url": PUBLIC, "events": EVENTS}, headers=headers)
    ).json()["webhook"]
    path = f"/webhooks/{hook['_id']}"
    for body, message in [
        ({"events": ["nope"]}, "Invalid events: nope"),
        ({"url": ""}, "Invalid URL format"),
        ({"url": "gopher://93.184.216.34/"}, "Only HTTP and HTTPS URLs are allowed"),
        ({"url": "http://127.0.0.1/"}, "Localhost URLs are not allowed"),
        ({"isActive": "maybe"}, "isActive must be true or false"),
    ]:
        r = await http.patch(path, json=body, headers=headers)
        assert (r.status_code, r.json()) == (400, {"error": message}), body
    for method in ("PATCH", "DELETE"):
        r = await http.request(method, "/webhooks/0123456789abcdef01234567", json={}, headers=headers)
        assert (r.status_code, r.json()) == (404, {"error": "Webhook not found"})
    other = await dash.signed_in_client(await dash.make_user())
    r = await other.http.delete(path, headers=other.json_headers)
    assert (r.status_code, r.json()) == (404, {"error": "Webhook not found"})
    await other.http.aclose()

    for n in range(9):
        body = {"name": f"h{n}", "url": PUBLIC, "events": EVENTS}
        assert (await http.post("/webhooks", json=body, headers=headers)).status_code == 201
    r = await http.post("/webhooks", json={"name": "11th", "url": PUBLIC, "events": EVENTS}, headers=headers)
    assert (r.status_code, r.json()) == (400, {"error": "Maximum of 10 webhooks per user"})


class Receiver:
    """An HTTP endpoint on a loopback port that records what it receives."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.received.append({"headers": headers, "body": json.loads(body or b"{}")})
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    found = Receiver()
    with ServerThread(found) as url:
        yield found, url


async def test_page_creates_tests_disables_enables_and_deletes(
    dash: Dash,
    dash_user: DashUser,
    settings: Settings,
    dash_database: Database,
    receiver: tuple[Receiver, str],
) -> None:
    found, receiver_url = receiver
    received = found.received
    # an app whose guard lets webhooks reach the loopback receiver
    app = create_app(settings, dash_database, url_guard=UrlGuard(allow_private=True))
    cookie = await dash.session_cookie(dash_user)
    try:
        await _use_the_page(app, cookie, received, receiver_url)
    finally:
        await app.state.services.webhook_client.close()
        await app.state.services.adapters.close()


async def _use_the_page(app: Any, cookie: str, received: list[dict[str, Any]], receiver_url: str) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", cookies={"postpost_session": cookie}
    ) as http:
        page = await http.get("/app/webhooks")
        assert page.status_code == 200 and "No webhooks yet." in page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf
        token = csrf.group(1)
        r = await http.post(
            "/app/webhooks", data={"csrf_token": token, "name": "Mine", "url": "ftp://x/", "events": EVENTS}
        )
        assert (
            r.status_code == 400
            and "Only HTTP and HTTPS URLs are allowed" in r.text
            and 'value="Mine"' in r.text
        )
        r = await http.post(
            "/app/webhooks",
            data={"csrf_token": token, "name": "Mine", "url": f"{receiver_url}/in", "events": EVENTS},
        )
        assert r.status_code == 201 and "shown only now" in r.text
        secret = re.search(r'id="new-secret">([0-9a-f]{64})<', r.text)
        assert secret
        hook_id = (await http.get("/webhooks")).json()["webhooks"][0]["_id"]

        r = await http.post(f"/app/webhooks/{hook_id}/test", data={"csrf_token": token})
        assert r.status_code == 200 and "Test ping delivered" in r.text and "HTTP 204" in r.text
        assert received[-1]["body"]["event"] == "ping" and received[-1]["body"]["data"] == {
            "webhookId": hook_id
        }
        assert "<code>ping</code>" in r.text  # the recent deliveries list

        r = await http.post(f"/app/webhooks/{hook_id}/disable", data={"csrf_token": token})
        assert r.headers["location"] == "/app/webhooks?done=disabled"
        assert ">disabled<" in (await http.get("/app/webhooks")).text
        r = await http.post(f"/app/webhooks/{hook_id}/enable", data={"csrf_token": token})
        assert r.headers["location"] == "/app/webhooks?done=enabled"
        r = await http.post(f"/app/webhooks/{hook_id}/delete", data={"csrf_token": token})
        assert r.headers["location"] == "/app/webhooks?done=deleted"
        assert (await http.get("/webhooks")).json()["webhooks"] == []
        r = await http.post(f"/app/webhooks/{hook_id}/test", data={"csrf_token": token})
        assert r.status_code == 404 and "Webhook not found" in r.text
