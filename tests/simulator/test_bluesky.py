"""Tests of the fake Bluesky PDS (XRPC)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

import httpx
import pytest

from postpost.simulator import create_simulator_app
from tests.simulator.conftest import FakeClock

XRPC = "/bluesky/xrpc"
CREATE = f"{XRPC}/com.atproto.repo.createRecord"
POST = "app.bsky.feed.post"
CREATED_AT = "2026-01-02T03:04:05.678Z"


def expected_did(handle: str) -> str:
    digest = base64.b32encode(hashlib.sha256(handle.encode()).digest()).decode().lower().rstrip("=")
    return "did:plc:" + digest[:24]


def jwt_part(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


async def login(client: httpx.AsyncClient, handle: str = "alice.bsky.social") -> dict[str, Any]:
    r = await client.post(
        f"{XRPC}/com.atproto.server.createSession", json={"identifier": handle, "password": "app-password"}
    )
    assert r.status_code == 200, r.text
    session: dict[str, Any] = r.json()
    return session


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def post_body(did: str, text: str, **extra: Any) -> dict[str, Any]:
    rkey = extra.pop("rkey", None)
    record = {"$type": POST, "text": text, "createdAt": CREATED_AT, **extra}
    body: dict[str, Any] = {"repo": did, "collection": POST, "record": record}
    if rkey is not None:
        body["rkey"] = rkey
    return body


async def create(
    client: httpx.AsyncClient, session: dict[str, Any], text: str, **extra: Any
) -> httpx.Response:
    return await client.post(
        CREATE, json=post_body(session["did"], text, **extra), headers=bearer(session["accessJwt"])
    )


async def control_posts(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    posts: list[dict[str, Any]] = (await client.get("/_control/posts")).json()["posts"]
    for post in posts:
        assert post.pop("at").endswith("Z")
    return posts


def assert_error(r: httpx.Response, status: int, error: str, message: str | None = None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == error
    if message is not None:
        assert body["message"] == message


# ----- sessions ---------------------------------------------------------------


async def test_create_session(client: httpx.AsyncClient, clock: FakeClock) -> None:
    s = await login(client, "alice.bsky.social")
    assert s["did"] == expected_did("alice.bsky.social")
    assert re.fullmatch(r"did:plc:[a-z2-7]{24}", s["did"])
    assert s["handle"] == "alice.bsky.social"
    assert s["active"] is True
    assert "didDoc" not in s
    assert jwt_part(s["accessJwt"], 0) == {"alg": "HS256", "typ": "at+jwt"}
    assert jwt_part(s["refreshJwt"], 0) == {"alg": "HS256", "typ": "refresh+jwt"}
    access = jwt_part(s["accessJwt"], 1)
    refresh = jwt_part(s["refreshJwt"], 1)
    assert access["scope"] == "com.atproto.access"
    assert refresh["scope"] == "com.atproto.refresh"
    assert access["sub"] == refresh["sub"] == s["did"]
    assert access["iat"] == int(clock.now)
    assert access["exp"] == access["iat"] + 7200
    assert refresh["exp"] == refresh["iat"] + 90 * 24 * 3600
    assert access["jti"] and refresh["jti"]


async def test_create_session_with_did(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{XRPC}/com.atproto.server.createSession",
        json={"identifier": "did:plc:abcdefghijklmnopqrstuvwx", "password": "p"},
    )
    assert r.status_code == 200
    assert r.json()["did"] == "did:plc:abcdefghijklmnopqrstuvwx"
    assert r.json()["handle"] == "abcdefghijklmnopqrstuvwx.sandbox.bsky"


async def test_create_session_empty_password(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{XRPC}/com.atproto.server.createSession", json={"identifier": "alice.bsky.social", "password": ""}
    )
    assert r.status_code == 401
    assert r.json() == {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}


async def test_get_session(client: httpx.AsyncClient) -> None:
    s = await login(client)
    r = await client.get(f"{XRPC}/com.atproto.server.getSession", headers=bearer(s["accessJwt"]))
    assert r.status_code == 200
    assert r.json() == {"handle": "alice.bsky.social", "did": s["did"], "active": True}


async def test_refresh_rotation(client: httpx.AsyncClient) -> None:
    s = await login(client)
    url = f"{XRPC}/com.atproto.server.refreshSession"
    r = await client.post(url, headers=bearer(s["refreshJwt"]))
    assert r.status_code == 200
    new = r.json()
    assert new["did"] == s["did"] and new["handle"] == s["handle"]
    assert new["refreshJwt"] != s["refreshJwt"]
    r = await client.post(url, headers=bearer(s["refreshJwt"]))
    assert r.status_code == 400
    assert r.json() == {"error": "ExpiredToken", "message": "Token has been revoked"}
    r = await client.post(url, headers=bearer(new["refreshJwt"]))
    assert r.status_code == 200
    assert (await create(client, new, "after refresh")).status_code == 200


async def test_token_errors(client: httpx.AsyncClient, clock: FakeClock) -> None:
    s = await login(client)
    body = post_body(s["did"], "hi")
    r = await client.post(CREATE, json=body)
    assert r.status_code == 401
    assert r.json() == {"error": "AuthenticationRequired", "message": "Authentication Required"}
    head, payload, _sig = s["accessJwt"].split(".")
    r = await client.post(CREATE, json=body, headers=bearer(f"{head}.{payload}.AAAA"))
    assert r.status_code == 401
    assert r.json() == {"error": "AuthenticationRequired", "message": "Authentication Required"}
    # token signed by another simulator instance
    other = create_simulator_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://o") as oc:
        foreign = await login(oc)
    r = await client.post(CREATE, json=body, headers=bearer(foreign["accessJwt"]))
    assert r.status_code == 401
    r = await client.post(CREATE, json=body, headers=bearer(s["refreshJwt"]))
    assert r.status_code == 400
    assert r.json() == {"error": "InvalidToken", "message": "Bad token scope"}
    clock.now += 7201
    r = await client.post(CREATE, json=body, headers=bearer(s["accessJwt"]))
    assert r.status_code == 400
    assert r.json() == {"error": "ExpiredToken", "message": "Token has expired"}
    r = await client.get(f"{XRPC}/com.atproto.server.getSession", headers=bearer(s["accessJwt"]))
    assert_error(r, 400, "ExpiredToken")
    r = await client.post(f"{XRPC}/com.atproto.server.refreshSession", headers=bearer(s["refreshJwt"]))
    assert r.status_code == 200
    assert await control_posts(client) == []


# ----- createRecord / getRecord / listRecords ------------------------------------


async def test_create_and_get_record(client: httpx.AsyncClient) -> None:
    s = await login(client)
    r = await create(client, s, "hello", langs=["en"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert re.fullmatch(rf"at://{s['did']}/app\.bsky\.feed\.post/[2-7a-j][2-7a-z]{{12}}", body["uri"])
    assert re.fullmatch(r"bafyrei[a-z2-7]{52}", body["cid"])
    assert re.fullmatch(r"bafyrei[a-z2-7]{52}", body["commit"]["cid"])
    assert re.fullmatch(r"[2-7a-z]{13}", body["commit"]["rev"])
    assert body["validationStatus"] == "valid"
    assert r.headers["ratelimit-limit"] == "5000"
    assert int(r.headers["ratelimit-remaining"]) > 0
    assert r.headers["ratelimit-policy"] == "5000;w=3600"
    assert int(r.headers["ratelimit-reset"]) > 1_780_000_000
    rkey = body["uri"].rsplit("/", 1)[1]
    r = await client.get(
        f"{XRPC}/com.atproto.repo.getRecord", params={"repo": s["did"], "collection": POST, "rkey": rkey}
    )
    assert r.status_code == 200
    got = r.json()
    assert got["uri"] == body["uri"] and got["cid"] == body["cid"]
    assert got["value"]["text"] == "hello"
    assert got["value"]["$type"] == POST
    assert await control_posts(client) == [
        {
            "platform": "bluesky",
            "account": s["did"],
            "id": body["uri"],
            "text": "hello",
            "replyTo": None,
            "media": [],
        }
    ]


async def test_generated_rkeys_increase_and_cids_differ(client: httpx.AsyncClient) -> None:
    s = await login(client)
    a = (await create(client, s, "same")).json()
    b = (await create(client, s, "other")).json()
    assert a["uri"].rsplit("/", 1)[1] < b["uri"].rsplit("/", 1)[1]
    assert a["cid"] != b["cid"]


async def test_get_record_not_found(client: httpx.AsyncClient) -> None:
    s = await login(client)
    r = await client.get(
        f"{XRPC}/com.atproto.repo.getRecord",
        params={"repo": s["did"], "collection": POST, "rkey": "3jzfcijpj2z2a"},
    )
    assert r.status_code == 400
    assert r.json() == {
        "error": "RecordNotFound",
        "message": f"Could not locate record: at://{s['did']}/{POST}/3jzfcijpj2z2a",
    }


async def test_list_records(client: httpx.AsyncClient) -> None:
    s = await login(client)
    uris = [(await create(client, s, f"p{i}")).json()["uri"] for i in range(3)]
    params = {"repo": s["did"], "collection": POST, "limit": "2"}
    r = await client.get(f"{XRPC}/com.atproto.repo.listRecords", params=params)
    assert r.status_code == 200
    page = r.json()
    assert [rec["uri"] for rec in page["records"]] == [uris[2], uris[1]]
    assert page["records"][0]["value"]["text"] == "p2"
    r = await client.get(f"{XRPC}/com.atproto.repo.listRecords", params={**params, "cursor": page["cursor"]})
    assert [rec["uri"] for rec in r.json()["records"]] == [uris[0]]
    assert "cursor" not in r.json()


async def test_repo_must_match_token(client: httpx.AsyncClient) -> None:
    s = await login(client)
    body = post_body(expected_did("bob.bsky.social"), "hi")
    r = await client.post(CREATE, json=body, headers=bearer(s["accessJwt"]))
    assert r.status_code == 400
    assert r.json() == {"error": "InvalidRequest", "message": "Invalid repo"}


async def test_text_limits(client: httpx.AsyncClient) -> None:
    s = await login(client)
    thumbs = "\N{THUMBS UP SIGN}\N{EMOJI MODIFIER FITZPATRICK TYPE-4}"  # 1 grapheme, 2 code points
    assert (await create(client, s, thumbs * 300)).status_code == 200
    assert (await create(client, s, "a" * 300)).status_code == 200
    r = await create(client, s, "a" * 301)
    assert r.status_code == 400
    assert r.json() == {
        "error": "InvalidRequest",
        "message": "Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes",
    }
    r = await create(client, s, thumbs * 301)
    assert_error(r, 400, "InvalidRequest")
    assert "300 graphemes" in r.json()["message"]
    family = "\N{MAN}\N{ZWJ}\N{WOMAN}\N{ZWJ}\N{GIRL}\N{ZWJ}\N{BOY}"  # 25 bytes, 1 grapheme
    r = await create(client, s, family * 121)
    assert_error(r, 400, "InvalidRequest")
    assert "3000" in r.json()["message"]
    assert len(await control_posts(client)) == 2


@pytest.mark.parametrize("created_at", [None, "yesterday", "2026-01-02T03:04:05"])
async def test_created_at_required(client: httpx.AsyncClient, created_at: str | None) -> None:
    s = await login(client)
    body = post_body(s["did"], "hi")
    if created_at is None:
        del body["record"]["createdAt"]
    else:
        body["record"]["createdAt"] = created_at
    r = await client.post(CREATE, json=body, headers=bearer(s["accessJwt"]))
    assert_error(r, 400, "InvalidRequest")
    assert "createdAt" in r.json()["message"]


def link_facet(start: int, end: int, uri: str = "https://example.com") -> dict[str, Any]:
    return {
        "index": {"byteStart": start, "byteEnd": end},
        "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
    }


async def test_facets_use_utf8_byte_offsets(client: httpx.AsyncClient) -> None:
    s = await login(client)
    text = "\N{PARTY POPPER}\N{PARTY POPPER} see https://example.com"
    start = text.encode().index(b"https://")
    end = len(text.encode())
    assert (start, end) == (13, 32)
    r = await create(client, s, text, facets=[link_facet(start, end)])
    assert r.status_code == 200, r.text
    # end one past the text
    r = await create(client, s, text, facets=[link_facet(start, end + 1)])
    assert_error(r, 400, "InvalidRequest")
    assert "byteEnd" in r.json()["message"]
    # start not before end
    r = await create(client, s, text, facets=[link_facet(end, end)])
    assert_error(r, 400, "InvalidRequest")
    assert "byteStart" in r.json()["message"]
    # negative offsets
    r = await create(client, s, text, facets=[link_facet(-1, end)])
    assert_error(r, 400, "InvalidRequest")
    assert len(await control_posts(client)) == 1


@pytest.mark.parametrize(
    ("feature", "fragment"),
    [
        ({"$type": "app.bsky.richtext.facet#bold"}, "unsupported $type"),
        ({"$type": "app.bsky.richtext.facet#link"}, '"uri"'),
        ({"$type": "app.bsky.richtext.facet#link", "uri": "not a uri"}, "uri"),
        ({"$type": "app.bsky.richtext.facet#mention"}, '"did"'),
        ({"$type": "app.bsky.richtext.facet#mention", "did": "alice"}, "DID"),
        ({"$type": "app.bsky.richtext.facet#tag"}, '"tag"'),
    ],
)
async def test_facet_feature_validation(
    client: httpx.AsyncClient, feature: dict[str, Any], fragment: str
) -> None:
    s = await login(client)
    facet = {"index": {"byteStart": 0, "byteEnd": 5}, "features": [feature]}
    r = await create(client, s, "hello world", facets=[facet])
    assert_error(r, 400, "InvalidRequest")
    assert fragment in r.json()["message"]


async def test_valid_mention_and_tag_facets(client: httpx.AsyncClient) -> None:
    s = await login(client)
    facets = [
        {
            "index": {"byteStart": 0, "byteEnd": 6},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": s["did"]}],
        },
        {
            "index": {"byteStart": 7, "byteEnd": 11},
            "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "tag"}],
        },
    ]
    r = await create(client, s, "@alice #tag", facets=facets)
    assert r.status_code == 200, r.text


async def test_reply_references(client: httpx.AsyncClient) -> None:
    s = await login(client)
    root = (await create(client, s, "root")).json()
    ref = {"uri": root["uri"], "cid": root["cid"]}
    r = await create(client, s, "child", reply={"root": ref, "parent": ref})
    assert r.status_code == 200, r.text
    child = r.json()
    posts = await control_posts(client)
    assert posts[-1]["replyTo"] == root["uri"]
    deeper = {"root": ref, "parent": {"uri": child["uri"], "cid": child["cid"]}}
    assert (await create(client, s, "grandchild", reply=deeper)).status_code == 200
    bad_refs = [
        {"root": ref, "parent": {"uri": root["uri"], "cid": child["cid"]}},  # cid mismatch
        {"root": ref, "parent": {"uri": root["uri"] + "x", "cid": root["cid"]}},  # unknown record
        {"parent": ref},  # missing root
        {"root": ref, "parent": {"uri": root["uri"]}},  # missing cid
    ]
    for reply in bad_refs:
        r = await create(client, s, "bad", reply=reply)
        assert r.status_code == 400
        assert r.json() == {"error": "InvalidRequest", "message": "Invalid reply reference"}
    assert len(await control_posts(client)) == 3


async def test_rkey_uniqueness(client: httpx.AsyncClient) -> None:
    s = await login(client)
    rkey = "3lbdd2q2ktc2a"
    r = await create(client, s, "first", rkey=rkey)
    assert r.status_code == 200
    assert r.json()["uri"] == f"at://{s['did']}/{POST}/{rkey}"
    r = await create(client, s, "second", rkey=rkey)
    assert r.status_code == 400
    assert r.json() == {
        "error": "InvalidRequest",
        "message": f"Record already exists at at://{s['did']}/{POST}/{rkey}",
    }
    posts = await control_posts(client)
    assert [p["text"] for p in posts] == ["first"]
    got = await client.get(
        f"{XRPC}/com.atproto.repo.getRecord", params={"repo": s["did"], "collection": POST, "rkey": rkey}
    )
    assert got.json()["value"]["text"] == "first"


@pytest.mark.parametrize(
    "rkey", ["short", "3lbdd2q2ktc2a1", "3LBDD2Q2KTC2A", "3lbdd2q2ktc21", "zlbdd2q2ktc2a"]
)
async def test_invalid_rkey(client: httpx.AsyncClient, rkey: str) -> None:
    s = await login(client)
    r = await create(client, s, "x", rkey=rkey)
    assert_error(r, 400, "InvalidRequest")
    assert await control_posts(client) == []


async def test_unknown_method(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{XRPC}/com.atproto.sync.getRepo")
    assert r.status_code == 501
    assert r.json()["error"] == "MethodNotImplemented"


# ----- content markers --------------------------------------------------------


async def test_marker_auth_expired(client: httpx.AsyncClient) -> None:
    s = await login(client)
    text = "x #sandbox:auth-expired@bluesky"
    for _ in range(2):
        r = await create(client, s, text)
        assert r.status_code == 401
        assert r.json() == {"error": "AuthenticationRequired", "message": "Token could not be verified"}
        r = await client.post(f"{XRPC}/com.atproto.server.refreshSession", headers=bearer(s["refreshJwt"]))
        assert r.status_code == 200
        s = r.json()
    assert await control_posts(client) == []


async def test_marker_invalid_content(client: httpx.AsyncClient) -> None:
    s = await login(client)
    for _ in range(2):
        r = await create(client, s, "x #sandbox:invalid-content", rkey="3lbdd2q2ktc2a")
        assert r.status_code == 400
        assert r.json() == {
            "error": "InvalidRequest",
            "message": "Invalid app.bsky.feed.post record: disallowed content",
        }
    assert await control_posts(client) == []


async def test_marker_rate_limit_once(client: httpx.AsyncClient, clock: FakeClock) -> None:
    s = await login(client)
    r = await create(client, s, "x #sandbox:rate-limit-once", rkey="3lbdd2q2ktc2a")
    assert r.status_code == 429
    assert r.json() == {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
    assert r.headers["ratelimit-remaining"] == "0"
    assert int(r.headers["ratelimit-reset"]) == int(clock.now) + 1
    r = await create(client, s, "x #sandbox:rate-limit-once", rkey="3lbdd2q2ktc2a")
    assert r.status_code == 200
    assert len(await control_posts(client)) == 1


async def test_marker_server_error_once(client: httpx.AsyncClient) -> None:
    s = await login(client)
    r = await create(client, s, "x #sandbox:server-error-once")
    assert r.status_code == 500
    assert r.json() == {"error": "InternalServerError", "message": "Internal Server Error"}
    assert await control_posts(client) == []
    r = await create(client, s, "x #sandbox:server-error-once")
    assert r.status_code == 200
    assert len(await control_posts(client)) == 1


async def test_marker_for_other_platform_does_not_fire(client: httpx.AsyncClient) -> None:
    s = await login(client)
    text = (
        "z #sandbox:auth-expired@mastodon #sandbox:invalid-content@mastodon #sandbox:rate-limit-once@mastodon"
    )
    r = await create(client, s, text)
    assert r.status_code == 200
    assert (await control_posts(client))[0]["text"] == text
