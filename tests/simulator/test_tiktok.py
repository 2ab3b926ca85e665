"""The fake TikTok on its own (over ASGI, with a settable clock): wire formats, rules, quirks."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from postpost.simulator import create_simulator_app
from tests.media.files import video_bytes
from tests.platforms.media_flow import FileServer
from tests.simulator.conftest import FakeClock

BASE = "/tiktok"
INIT = f"{BASE}/v2/post/publish/video/init/"
STATUS = f"{BASE}/v2/post/publish/status/fetch/"
OPEN_ID = "8e0f6c1a-3b7d-4a4e-9d53-1f2a3b4c5d6e"
MIB = 1024 * 1024


@pytest.fixture
async def client(clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    options = {"tiktok": {"processing_seconds": 5.0, "daily_posts": 4, "init_per_minute": 3}}
    app = create_simulator_app(stall_seconds=0.2, clock=clock, options=options)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as c:
        yield c


@pytest.fixture(scope="module")
def clip() -> bytes:
    return video_bytes(seconds=3.2, fps=25)


def token(clock: FakeClock, open_id: str = OPEN_ID, ttl: int = 3600) -> dict[str, str]:
    return {"Authorization": f"Bearer act.{open_id}.{int(clock.now) + ttl}.abc"}


def post_info(**changes: Any) -> dict[str, Any]:
    return {"title": "hello", "privacy_level": "PUBLIC_TO_EVERYONE", **changes}


def file_source(size: int, chunk: int | None = None, count: int = 1) -> dict[str, Any]:
    return {
        "source": "FILE_UPLOAD",
        "video_size": size,
        "chunk_size": chunk or size,
        "total_chunk_count": count,
    }


async def init(
    client, clock, size: int, chunk: int | None = None, count: int = 1, **info: Any
) -> httpx.Response:
    body = {"post_info": post_info(**info), "source_info": file_source(size, chunk, count)}
    return await client.post(INIT, json=body, headers=token(clock))


def error_code(r: httpx.Response) -> str:
    body = r.json()
    assert set(body) == {"data", "error"} and set(body["error"]) == {"code", "message", "log_id"}
    return str(body["error"]["code"])


async def put(client, url: str, data: bytes, start: int, total: int) -> httpx.Response:
    headers = {
        "Content-Type": "video/mp4",
        "Content-Range": f"bytes {start}-{start + len(data) - 1}/{total}",
    }
    return await client.put(url.removeprefix("http://sim"), content=data, headers=headers)


async def status(client, clock, publish_id: str) -> dict[str, Any]:
    r = await client.post(STATUS, json={"publish_id": publish_id}, headers=token(clock))
    assert r.status_code == 200 and error_code(r) == "ok", r.text
    return dict(r.json()["data"])


async def test_creator_info_and_tokens(client, clock) -> None:
    r = await client.post(f"{BASE}/v2/post/publish/creator_info/query/", headers=token(clock))
    assert r.status_code == 200 and error_code(r) == "ok"
    data = r.json()["data"]
    assert data["privacy_level_options"] == ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
    assert data["creator_username"] == "sandbox_8e0f6c1a3b"
    assert data["max_video_post_duration_sec"] == 600 and data["comment_disabled"] is False
    for headers in ({}, {"Authorization": "Bearer nonsense"}, token(clock, ttl=-1)):
        r = await client.post(f"{BASE}/v2/post/publish/creator_info/query/", headers=headers)
        assert r.status_code == 401 and error_code(r) == "access_token_invalid"
    r = await client.put(
        f"{BASE}/_sandbox/creators/{OPEN_ID}", json={"private": True, "max_video_post_duration_sec": 60}
    )
    assert r.status_code == 200
    r = await client.post(f"{BASE}/v2/post/publish/creator_info/query/", headers=token(clock))
    data = r.json()["data"]
    assert data["privacy_level_options"] == ["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
    assert data["max_video_post_duration_sec"] == 60
    assert (await client.put(f"{BASE}/_sandbox/creators/x", json={"nope": 1})).status_code == 400


@pytest.mark.parametrize(
    ("size", "chunk", "count", "ok"),
    [
        (3 * MIB, 3 * MIB, 1, True),
        (3 * MIB, 1 * MIB, 3, False),  # under 5 MB: one chunk
        (21 * MIB, 10 * MIB, 2, True),
        (21 * MIB, 10 * MIB, 3, False),  # count is size // chunk
        (21 * MIB, 4 * MIB, 5, False),  # chunks of 5 to 64 MB
        (100 * MIB, 65 * MIB, 1, False),
        (100 * MIB, 64 * MIB, 1, False),  # over 64 MB: several chunks
        (200 * MIB, 64 * MIB, 3, True),
        (5000 * MIB, 64 * MIB, 78, False),  # over 4 GB
    ],
)
async def test_chunk_rules(client, clock, size, chunk, count, ok) -> None:
    r = await init(client, clock, size, chunk, count)
    if ok:
        assert r.status_code == 200 and error_code(r) == "ok"
        data = r.json()["data"]
        assert data["publish_id"].startswith("v_pub_file~v2-1.")
        assert "upload_id=" in data["upload_url"] and data["upload_url"].startswith(
            "http://sim/tiktok/video/?"
        )
    else:
        assert r.status_code == 400 and error_code(r) == "invalid_params"


@pytest.mark.parametrize(
    ("info", "status", "code"),
    [
        ({"privacy_level": "EVERYONE"}, 400, "invalid_params"),
        ({"title": "😀" * 1101}, 400, "invalid_params"),  # 2,202 UTF-16 units
        ({"brand_content_toggle": True, "privacy_level": "SELF_ONLY"}, 400, "invalid_params"),
    ],
)
async def test_post_info_rules(client, clock, info, status, code) -> None:
    r = await init(client, clock, 1000, **info)
    assert r.status_code == status and error_code(r) == code
    assert (await init(client, clock, 1000, title="😀" * 1100)).status_code == 200


async def test_creator_options_enforced(client, clock) -> None:
    await client.put(f"{BASE}/_sandbox/creators/{OPEN_ID}", json={"private": True, "comment_disabled": True})
    r = await init(client, clock, 1000)
    assert r.status_code == 403 and error_code(r) == "privacy_level_option_mismatch"
    r = await init(client, clock, 1000, privacy_level="FOLLOWER_OF_CREATOR", disable_comment=False)
    assert r.status_code == 400 and "disable_comment" in r.json()["error"]["message"]
    r = await init(client, clock, 1000, privacy_level="FOLLOWER_OF_CREATOR", disable_comment=True)
    assert r.status_code == 200


async def test_upload_in_order_then_processing(client, clock, clip) -> None:
    data = clip
    r = await init(client, clock, len(data))
    publish_id, url = r.json()["data"]["publish_id"], r.json()["data"]["upload_url"]
    assert (await status(client, clock, publish_id)) == {
        "status": "PROCESSING_UPLOAD",
        "uploaded_bytes": 0,
        "publicaly_available_post_id": [],
    }
    bad = await client.put(
        url.removeprefix("http://sim"), content=data, headers={"Content-Range": "bytes 0-9/10"}
    )
    assert bad.status_code == 400
    assert (await put(client, url, data, 0, len(data))).status_code == 201
    seen = await status(client, clock, publish_id)
    assert seen["status"] == "PROCESSING_UPLOAD" and seen["uploaded_bytes"] == len(data)
    assert (await client.get("/_control/posts")).json()["posts"] == []
    clock.now += 5
    seen = await status(client, clock, publish_id)
    assert seen["status"] == "PUBLISH_COMPLETE" and len(seen["publicaly_available_post_id"]) == 1
    [post] = (await client.get("/_control/posts")).json()["posts"]
    assert post["id"] == str(seen["publicaly_available_post_id"][0]) and post["text"] == "hello"
    assert post["media"][0]["size"] == len(data) and post["media"][0]["duration"] == pytest.approx(
        3.2, abs=0.1
    )


async def test_chunks_must_come_in_order_and_whole(client, clock) -> None:
    size = 11 * MIB
    r = await init(client, clock, size, 5 * MIB, 2)
    url = r.json()["data"]["upload_url"]
    assert (await put(client, url, b"x" * (6 * MIB), 5 * MIB, size)).status_code == 400  # chunk 2 first
    assert (await put(client, url, b"x" * (4 * MIB), 0, size)).status_code == 400  # not a whole chunk
    assert (await put(client, url, b"x" * (5 * MIB), 0, size)).status_code == 206
    assert (await put(client, url, b"x" * (5 * MIB), 0, size)).status_code == 206  # again: already held
    assert (await put(client, url, b"x" * (6 * MIB), 5 * MIB, size)).status_code == 201
    seen = await status(client, clock, r.json()["data"]["publish_id"])
    clock.now += 5
    seen = await status(client, clock, r.json()["data"]["publish_id"])
    assert seen["status"] == "FAILED" and seen["fail_reason"] == "file_format_check_failed"


async def test_upload_url_expires_after_an_hour(client, clock) -> None:
    r = await init(client, clock, 1000)
    clock.now += 3601
    got = await put(client, r.json()["data"]["upload_url"], b"x" * 1000, 0, 1000)
    assert got.status_code == 404 and error_code(got) == "upload_url_expired"


async def test_interrupted_upload_keeps_only_whole_chunks(client, clock) -> None:
    size = 11 * MIB
    r = await init(client, clock, size, 5 * MIB, 2, title="cut #sandbox:upload-interrupted")
    publish_id, url = r.json()["data"]["publish_id"], r.json()["data"]["upload_url"]
    assert (await put(client, url, b"x" * (5 * MIB), 0, size)).status_code == 206
    cut = await put(client, url, b"x" * (6 * MIB), 5 * MIB, size)  # crosses half of the file
    assert cut.status_code == 503 and error_code(cut) == "internal_error"
    assert (await status(client, clock, publish_id))["uploaded_bytes"] == 5 * MIB
    assert (await put(client, url, b"x" * (6 * MIB), 5 * MIB, size)).status_code == 201


async def test_limits(client, clock) -> None:
    for _ in range(3):
        assert (await init(client, clock, 1000)).status_code == 200
    r = await init(client, clock, 1000)
    assert r.status_code == 429 and error_code(r) == "rate_limit_exceeded" and r.headers["Retry-After"] == "1"
    clock.now += 61
    assert (await init(client, clock, 1000)).status_code == 200
    clock.now += 61
    r = await init(client, clock, 1000)  # the fifth of the day
    assert r.status_code == 403 and error_code(r) == "spam_risk_too_many_posts"
    clock.now += 86400
    assert (await init(client, clock, 1000)).status_code == 200


async def test_pull_from_url_fetches_for_real(client, clock, clip) -> None:
    files = FileServer()
    files.files["v.mp4"] = (clip, "video/mp4")
    with files.running() as origin:
        good = {
            "post_info": post_info(),
            "source_info": {"source": "PULL_FROM_URL", "video_url": f"{origin}/v.mp4"},
        }
        bad = {
            "post_info": post_info(title="b"),
            "source_info": {"source": "PULL_FROM_URL", "video_url": f"{origin}/x"},
        }
        ok_id = (await client.post(INIT, json=good, headers=token(clock))).json()["data"]["publish_id"]
        bad_id = (await client.post(INIT, json=bad, headers=token(clock))).json()["data"]["publish_id"]
        assert ok_id.startswith("v_pub_url~")
        for _ in range(200):
            if (await status(client, clock, bad_id))["status"] == "FAILED":
                break
            await asyncio.sleep(0.02)
        for _ in range(200):
            seen = await status(client, clock, ok_id)
            if seen["downloaded_bytes"]:
                break
            await asyncio.sleep(0.02)
    assert (await status(client, clock, bad_id))["fail_reason"] == "video_pull_failed"
    assert seen["status"] == "PROCESSING_DOWNLOAD" and seen["downloaded_bytes"] == len(clip)
    clock.now += 5
    assert (await status(client, clock, ok_id))["status"] == "PUBLISH_COMPLETE"
    assert sorted(files.fetched) == ["v.mp4", "x"]
    not_http = {
        "post_info": post_info(),
        "source_info": {"source": "PULL_FROM_URL", "video_url": "file:///etc/passwd"},
    }
    assert (await client.post(INIT, json=not_http, headers=token(clock))).status_code == 400


async def test_video_list(client, clock, clip) -> None:
    for title in ("first", "second"):
        r = await init(client, clock, len(clip), title=title)
        await put(client, r.json()["data"]["upload_url"], clip, 0, len(clip))
        clock.now += 5
        await status(client, clock, r.json()["data"]["publish_id"])
    url = f"{BASE}/v2/video/list/?fields=id,title,create_time"
    r = await client.post(url, json={"max_count": 1}, headers=token(clock))
    data = r.json()["data"]
    assert [v["title"] for v in data["videos"]] == ["second"] and data["has_more"] is True
    assert set(data["videos"][0]) == {"id", "title", "create_time"}
    r = await client.post(url, json={"max_count": 1, "cursor": data["cursor"]}, headers=token(clock))
    assert [v["title"] for v in r.json()["data"]["videos"]] == ["first"]
    assert (await client.post(f"{BASE}/v2/video/list/", json={}, headers=token(clock))).status_code == 400
    other = await client.post(url, json={}, headers=token(clock, open_id="someone-else"))
    assert other.json()["data"]["videos"] == []


async def test_oauth_authorize_and_token_with_pkce(client) -> None:
    verifier = "v" * 50
    challenge = hashlib.sha256(verifier.encode()).hexdigest()  # TikTok's desktop kit: hex
    query = {
        "client_key": "ck",
        "response_type": "code",
        "scope": "user.info.basic,video.publish",
        "redirect_uri": "https://app.example/cb",
        "state": "st",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    r = await client.get(f"{BASE}/v2/auth/authorize/", params=query)
    assert r.status_code == 302
    location = urlsplit(r.headers["location"])
    assert location.netloc == "app.example"
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert params["state"] == "st" and params["scopes"] == "user.info.basic,video.publish"
    form = {
        "client_key": "ck",
        "client_secret": "cs",
        "code": params["code"],
        "grant_type": "authorization_code",
        "redirect_uri": "https://app.example/cb",
    }
    assert (
        await client.post(f"{BASE}/v2/oauth/token/", data=form | {"code_verifier": "wrong"})
    ).status_code == 400
    r = await client.get(f"{BASE}/v2/auth/authorize/", params=query)
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    r = await client.post(f"{BASE}/v2/oauth/token/", data=form | {"code": code, "code_verifier": verifier})
    assert r.status_code == 200
    tokens = r.json()
    assert set(tokens) == {
        "access_token",
        "expires_in",
        "open_id",
        "refresh_expires_in",
        "refresh_token",
        "scope",
        "token_type",
    }
    assert tokens["access_token"].startswith("act.") and tokens["refresh_token"].startswith("rft.")
    again = await client.post(
        f"{BASE}/v2/oauth/token/", data=form | {"code": code, "code_verifier": verifier}
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"  # a code works once
    bad = await client.get(f"{BASE}/v2/auth/authorize/", params={"client_key": "ck"})
    assert bad.status_code == 400


async def test_refresh_rotates(client) -> None:
    form = {
        "client_key": "ck",
        "client_secret": "cs",
        "grant_type": "refresh_token",
        "refresh_token": f"rft.{OPEN_ID}.r1",
    }
    r = await client.post(f"{BASE}/v2/oauth/token/", data=form)
    assert r.status_code == 200 and r.json()["open_id"] == OPEN_ID
    assert r.json()["refresh_token"] != form["refresh_token"]
    reused = await client.post(f"{BASE}/v2/oauth/token/", data=form)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    nameless = await client.post(f"{BASE}/v2/oauth/token/", data=form | {"client_secret": ""})
    assert nameless.status_code == 401 and nameless.json()["error"] == "invalid_client"


def test_pkce_accepts_both_encodings() -> None:
    from postpost.simulator.tiktok import pkce_matches

    verifier = "abc" * 20
    digest = hashlib.sha256(verifier.encode()).digest()
    assert pkce_matches(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())
    assert pkce_matches(verifier, digest.hex())
    assert not pkce_matches("", digest.hex())


async def test_forget_one_account(client, clock) -> None:
    r = await init(client, clock, 1000)
    publish_id = r.json()["data"]["publish_id"]
    reset = await client.post("/_control/reset", json={"platform": "tiktok", "account": OPEN_ID})
    assert reset.status_code == 200
    r = await client.post(STATUS, json={"publish_id": publish_id}, headers=token(clock))
    assert r.status_code == 400 and error_code(r) == "invalid_params"
