"""Tests of the fake Mastodon API."""

from __future__ import annotations

import re
from datetime import datetime

import httpx
import pytest

from tests.media.files import image_bytes
from tests.simulator.conftest import FakeClock

STATUSES = "/mastodon/api/v1/statuses"


def auth(account: str = "42") -> dict[str, str]:
    return {"Authorization": f"Bearer sandbox.{account}.secret"}


async def control_posts(client: httpx.AsyncClient, **params: str) -> list[dict[str, object]]:
    r = await client.get("/_control/posts", params=params)
    assert r.status_code == 200
    posts: list[dict[str, object]] = r.json()["posts"]
    for post in posts:
        assert str(post.pop("at")).endswith("Z")
    return posts


def assert_rate_headers(r: httpx.Response) -> None:
    assert r.headers["X-RateLimit-Limit"] == "300"
    assert int(r.headers["X-RateLimit-Remaining"]) > 0
    datetime.fromisoformat(r.headers["X-RateLimit-Reset"].replace("Z", "+00:00"))


# ----- accounts / instance ----------------------------------------------------


async def test_verify_credentials(client: httpx.AsyncClient) -> None:
    r = await client.get("/mastodon/api/v1/accounts/verify_credentials", headers=auth("42"))
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == "42"
    assert body["username"] == body["acct"] == "user42"
    assert body["note"] == ""
    assert body["url"] == "http://sim/mastodon/@user42"
    assert {"display_name", "avatar"} <= body.keys()
    assert_rate_headers(r)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer nope",
        "Bearer sandbox.abc.x",
        "Bearer sandbox.42",
        "Basic sandbox.42.x",
        "Bearer other.42.x",
    ],
)
async def test_invalid_token_is_401(client: httpx.AsyncClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    r = await client.get("/mastodon/api/v1/accounts/verify_credentials", headers=headers)
    assert r.status_code == 401
    assert r.json() == {"error": "The access token is invalid"}
    r = await client.post(STATUSES, json={"status": "hi"}, headers=headers)
    assert r.status_code == 401
    assert r.json() == {"error": "The access token is invalid"}
    assert await control_posts(client) == []


async def test_instance_v2(client: httpx.AsyncClient) -> None:
    r = await client.get("/mastodon/api/v2/instance")
    assert r.status_code == 200
    body = r.json()
    assert body["domain"] == "sandbox.mastodon"
    assert body["version"] == "4.3.0"
    statuses = body["configuration"]["statuses"]
    assert statuses == {"max_characters": 500, "max_media_attachments": 4, "characters_reserved_per_url": 23}
    media = body["configuration"]["media_attachments"]
    assert media["image_size_limit"] == 16777216
    assert media["video_size_limit"] == 103809024
    assert "image/png" in media["supported_mime_types"]


# ----- create status ----------------------------------------------------------


async def test_create_status_json(client: httpx.AsyncClient) -> None:
    r = await client.post(
        STATUSES,
        json={"status": "Hello <world> & co", "visibility": "unlisted", "language": "en"},
        headers=auth("42"),
    )
    assert r.status_code == 200
    s = r.json()
    assert re.fullmatch(r"[0-9]{15,20}", s["id"])
    assert s["content"] == "<p>Hello &lt;world&gt; &amp; co</p>"
    assert s["visibility"] == "unlisted"
    assert s["language"] == "en"
    assert s["in_reply_to_id"] is None
    assert s["media_attachments"] == []
    assert s["account"]["id"] == "42"
    assert s["url"] == f"http://sim/mastodon/@user42/{s['id']}"
    assert s["uri"] == f"http://sim/mastodon/users/user42/statuses/{s['id']}"
    assert s["created_at"].endswith("Z")
    assert_rate_headers(r)
    assert await control_posts(client) == [
        {
            "platform": "mastodon",
            "account": "42",
            "id": s["id"],
            "text": "Hello <world> & co",
            "replyTo": None,
            "media": [],
        }
    ]


async def test_create_status_form_and_ids_increase(client: httpx.AsyncClient) -> None:
    r1 = await client.post(STATUSES, data={"status": "one"}, headers=auth())
    r2 = await client.post(STATUSES, data={"status": "two", "visibility": "private"}, headers=auth())
    assert r1.status_code == r2.status_code == 200
    assert int(r2.json()["id"]) > int(r1.json()["id"])
    assert r1.json()["visibility"] == "public"
    assert r2.json()["visibility"] == "private"


async def test_media_only_status_via_form_array(client: httpx.AsyncClient) -> None:
    ids = []
    for _ in range(2):
        files = {"file": ("a.png", image_bytes("PNG"), "image/png")}
        uploaded = await client.post("/mastodon/api/v2/media", files=files, headers=auth())
        ids.append(uploaded.json()["id"])
    r = await client.post(
        STATUSES,
        content=f"status=&media_ids[]={ids[0]}&media_ids[]={ids[1]}",
        headers={**auth(), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200
    assert [m["id"] for m in r.json()["media_attachments"]] == ids


@pytest.mark.parametrize("payload", [{"status": ""}, {"status": "   \n"}, {}, {"status": None}])
async def test_blank_status_is_422(client: httpx.AsyncClient, payload: dict[str, object]) -> None:
    r = await client.post(STATUSES, json=payload, headers=auth())
    assert r.status_code == 422
    assert r.json() == {"error": "Validation failed: Text can't be blank"}
    assert_rate_headers(r)
    assert await control_posts(client) == []


async def test_character_limit(client: httpx.AsyncClient) -> None:
    r = await client.post(STATUSES, json={"status": "é" * 500}, headers=auth())
    assert r.status_code == 200
    r = await client.post(STATUSES, json={"status": "a" * 501}, headers=auth())
    assert r.status_code == 422
    assert r.json() == {"error": "Validation failed: Text character limit of 500 exceeded"}
    assert len(await control_posts(client)) == 1


async def test_urls_count_as_23(client: httpx.AsyncClient) -> None:
    url = "https://example.com/" + "x" * 200
    ok = "a" * (500 - 23 - 1) + " " + url
    r = await client.post(STATUSES, json={"status": ok}, headers=auth())
    assert r.status_code == 200
    too_long = "a" * (500 - 23) + " " + url
    r = await client.post(STATUSES, json={"status": too_long}, headers=auth())
    assert r.status_code == 422
    short_url = "a" * (500 - 23) + " http://a.io"  # short URLs also count as 23
    r = await client.post(STATUSES, json={"status": short_url}, headers=auth())
    assert r.status_code == 422


async def test_reply_and_unknown_parent(client: httpx.AsyncClient) -> None:
    r = await client.post(STATUSES, json={"status": "reply", "in_reply_to_id": "999"}, headers=auth())
    assert r.status_code == 404
    assert r.json() == {"error": "Record not found"}
    parent = (await client.post(STATUSES, json={"status": "parent"}, headers=auth())).json()
    r = await client.post(
        STATUSES, data={"status": "child", "in_reply_to_id": parent["id"]}, headers=auth("7")
    )
    assert r.status_code == 200
    child = r.json()
    assert child["in_reply_to_id"] == parent["id"]
    assert child["in_reply_to_account_id"] == "42"
    posts = await control_posts(client)
    assert [p["replyTo"] for p in posts] == [None, parent["id"]]


# ----- read endpoints ---------------------------------------------------------


async def test_get_status(client: httpx.AsyncClient) -> None:
    created = (await client.post(STATUSES, json={"status": "x"}, headers=auth())).json()
    r = await client.get(f"{STATUSES}/{created['id']}")
    assert r.status_code == 200
    assert r.json() == created
    r = await client.get(f"{STATUSES}/123")
    assert r.status_code == 404
    assert r.json() == {"error": "Record not found"}


async def test_account_statuses_newest_first(client: httpx.AsyncClient) -> None:
    ids = [
        (await client.post(STATUSES, json={"status": f"n{i}"}, headers=auth("5"))).json()["id"]
        for i in range(3)
    ]
    await client.post(STATUSES, json={"status": "other"}, headers=auth("6"))
    r = await client.get("/mastodon/api/v1/accounts/5/statuses", headers=auth("5"))
    assert r.status_code == 200
    assert [s["id"] for s in r.json()] == ids[::-1]
    r = await client.get("/mastodon/api/v1/accounts/5/statuses", params={"limit": "2"})
    assert [s["id"] for s in r.json()] == ids[:0:-1]


# ----- idempotency ------------------------------------------------------------


async def test_idempotency_key_returns_same_status(client: httpx.AsyncClient, clock: FakeClock) -> None:
    headers = {**auth("42"), "Idempotency-Key": "k-1"}
    r1 = await client.post(STATUSES, json={"status": "once"}, headers=headers)
    r2 = await client.post(STATUSES, json={"status": "once"}, headers=headers)
    assert r1.status_code == r2.status_code == 200
    assert r1.json()["id"] == r2.json()["id"]
    assert len(await control_posts(client)) == 1
    # the same key from another account is independent
    r3 = await client.post(
        STATUSES, json={"status": "once"}, headers={**auth("43"), "Idempotency-Key": "k-1"}
    )
    assert r3.json()["id"] != r1.json()["id"]
    # keys expire after an hour
    clock.now += 3601
    r4 = await client.post(STATUSES, json={"status": "once"}, headers=headers)
    assert r4.json()["id"] != r1.json()["id"]
    assert len(await control_posts(client)) == 3


# ----- content markers --------------------------------------------------------


async def test_marker_auth_expired_is_permanent(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        r = await client.post(STATUSES, json={"status": "x #sandbox:auth-expired"}, headers=auth())
        assert r.status_code == 401
        assert r.json() == {"error": "The access token is invalid"}
    assert await control_posts(client) == []
    r = await client.get("/mastodon/api/v1/accounts/verify_credentials", headers=auth())
    assert r.status_code == 200


async def test_marker_invalid_content(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        r = await client.post(
            STATUSES, json={"status": "x #sandbox:invalid-content@mastodon"}, headers=auth()
        )
        assert r.status_code == 422
        assert r.json() == {"error": "Validation failed: Text contains disallowed content"}
    assert await control_posts(client) == []


async def test_marker_rate_limit_once(client: httpx.AsyncClient, clock: FakeClock) -> None:
    headers = {**auth(), "Idempotency-Key": "rl"}
    r = await client.post(STATUSES, json={"status": "x #sandbox:rate-limit-once"}, headers=headers)
    assert r.status_code == 429
    assert r.json() == {"error": "Too many requests"}
    assert r.headers["Retry-After"] == "1"
    assert r.headers["X-RateLimit-Remaining"] == "0"
    reset = datetime.fromisoformat(r.headers["X-RateLimit-Reset"].replace("Z", "+00:00")).timestamp()
    assert reset == pytest.approx(clock.now + 1, abs=0.01)
    r = await client.post(STATUSES, json={"status": "x #sandbox:rate-limit-once"}, headers=headers)
    assert r.status_code == 200
    posts = await control_posts(client)
    assert [p["text"] for p in posts] == ["x #sandbox:rate-limit-once"]


async def test_marker_server_error_once_without_key(client: httpx.AsyncClient) -> None:
    r = await client.post(STATUSES, json={"status": "y #sandbox:server-error-once"}, headers=auth())
    assert r.status_code == 503
    assert r.json() == {"error": "Service Unavailable"}
    assert await control_posts(client) == []
    r = await client.post(STATUSES, json={"status": "y #sandbox:server-error-once"}, headers=auth())
    assert r.status_code == 200
    assert len(await control_posts(client)) == 1


async def test_marker_for_other_platform_does_not_fire(client: httpx.AsyncClient) -> None:
    text = (
        "z #sandbox:auth-expired@bluesky #sandbox:invalid-content@bluesky #sandbox:server-error-once@bluesky"
    )
    r = await client.post(STATUSES, json={"status": text}, headers=auth())
    assert r.status_code == 200
    assert (await control_posts(client))[0]["text"] == text


async def test_unknown_marker_is_ignored(client: httpx.AsyncClient) -> None:
    r = await client.post(STATUSES, json={"status": "#sandbox:whatever"}, headers=auth())
    assert r.status_code == 200
