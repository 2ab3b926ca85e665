"""The fake YouTube on its own (over ASGI, with a settable clock): the resumable protocol, metadata
rules, processing, quotas, Google OAuth."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest

from postpost.simulator import create_simulator_app
from tests.media.files import video_bytes
from tests.simulator.conftest import FakeClock

BASE = "/youtube"
START = f"{BASE}/upload/youtube/v3/videos"
CHANNEL = "UCabcdefghijklmnopqrstuv"
KIB = 1024


@pytest.fixture
async def client(clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    options = {"youtube": {"processing_seconds": 5.0, "quota_uploads": 3, "channel_daily_uploads": 2}}
    app = create_simulator_app(stall_seconds=0.2, clock=clock, options=options)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as c:
        yield c


@pytest.fixture(scope="module")
def clip() -> bytes:
    return video_bytes(seconds=2.0)


def auth(clock: FakeClock, channel: str = CHANNEL, ttl: int = 3599) -> dict[str, str]:
    return {"Authorization": f"Bearer ya29.{channel}.{int(clock.now) + ttl}.x"}


def meta(**snippet: Any) -> dict[str, Any]:
    return {"snippet": {"title": "T", "description": "D", **snippet}, "status": {"privacyStatus": "private"}}


async def start(
    client, clock, size: int, body: dict[str, Any] | None = None, **headers: str
) -> httpx.Response:
    return await client.post(
        START,
        params={"uploadType": "resumable", "part": "snippet,status"},
        json=body or meta(),
        headers={
            **auth(clock),
            "X-Upload-Content-Length": str(size),
            "X-Upload-Content-Type": "video/mp4",
            **headers,
        },
    )


async def put(client, session: str, data: bytes, start_at: int, total: int) -> httpx.Response:
    headers = {"Content-Range": f"bytes {start_at}-{start_at + len(data) - 1}/{total}"}
    return await client.put(session.removeprefix("http://sim"), content=data, headers=headers)


async def offset(client, session: str, total: int) -> httpx.Response:
    return await client.put(session.removeprefix("http://sim"), headers={"Content-Range": f"bytes */{total}"})


def reason(r: httpx.Response) -> str:
    error = r.json()["error"]
    assert set(error) == {"code", "message", "errors", "status"} and error["code"] == r.status_code
    return str(error["errors"][0]["reason"])


async def test_resumable_upload(client, clock, clip) -> None:
    size = len(clip)
    r = await start(client, clock, size)
    assert r.status_code == 200
    session = r.headers["location"]
    assert session.startswith("http://sim/youtube/upload/youtube/v3/videos?") and "upload_id=" in session
    got = await offset(client, session, size)
    assert got.status_code == 308 and "range" not in got.headers
    partial = await put(client, session, clip[:1000], 0, size)
    assert partial.status_code == 400 and reason(partial) == "badRequest"  # not a multiple of 256 KiB
    done = await put(client, session, clip, 0, size)
    assert done.status_code == 200
    video = done.json()
    assert video["kind"] == "youtube#video" and len(video["id"]) == 11
    assert video["status"]["uploadStatus"] == "uploaded" and video["snippet"]["channelId"] == CHANNEL
    again = await offset(client, session, size)
    assert again.status_code == 200 and again.json()["id"] == video["id"]
    listed = await client.get(
        f"{BASE}/youtube/v3/videos",
        params={"part": "status,processingDetails", "id": video["id"]},
        headers=auth(clock),
    )
    [item] = listed.json()["items"]
    assert item["status"]["uploadStatus"] == "uploaded"
    assert item["processingDetails"] == {"processingStatus": "processing"}
    assert (await client.get("/_control/posts")).json()["posts"] == []
    clock.now += 5
    listed = await client.get(
        f"{BASE}/youtube/v3/videos", params={"part": "status", "id": video["id"]}, headers=auth(clock)
    )
    assert listed.json()["items"][0]["status"]["uploadStatus"] == "processed"
    [post] = (await client.get("/_control/posts")).json()["posts"]
    assert post["id"] == video["id"] and post["text"] == "D"
    assert post["media"][0]["duration"] == pytest.approx(2.0, abs=0.1) and post["media"][0]["size"] == size


async def test_chunks_308_and_overlap(client, clock) -> None:
    total = 600 * KIB
    session = (await start(client, clock, total)).headers["location"]
    r = await put(client, session, b"a" * (256 * KIB), 0, total)
    assert r.status_code == 308 and r.headers["range"] == f"bytes=0-{256 * KIB - 1}"
    ahead = await put(client, session, b"b" * (256 * KIB), 300 * KIB, total)
    assert ahead.status_code == 400  # starts after what the session holds
    overlap = await put(client, session, b"b" * (344 * KIB), 256 * KIB, total)
    assert overlap.status_code == 200  # the last chunk: any size
    assert (await offset(client, session, total)).status_code == 200


async def test_interrupted_first_put_keeps_half(client, clock) -> None:
    total = 1024 * KIB
    body = meta(description="cut #sandbox:upload-interrupted")
    session = (await start(client, clock, total, body)).headers["location"]
    cut = await put(client, session, b"v" * total, 0, total)
    assert cut.status_code == 503 and reason(cut) == "backendError"
    held = await offset(client, session, total)
    assert held.status_code == 308 and held.headers["range"] == f"bytes=0-{total // 2 - 1}"
    rest = await put(client, session, b"v" * (total // 2), total // 2, total)
    assert rest.status_code == 200
    clock.now += 5
    vid = rest.json()["id"]
    listed = await client.get(
        f"{BASE}/youtube/v3/videos", params={"part": "status", "id": vid}, headers=auth(clock)
    )
    status = listed.json()["items"][0]["status"]
    assert (status["uploadStatus"], status["failureReason"]) == (
        "failed",
        "invalidFile",
    )  # bytes, not a video


async def test_sessions_expire_after_a_week(client, clock) -> None:
    session = (await start(client, clock, 1000)).headers["location"]
    clock.now += 7 * 86400 + 1
    r = await offset(client, session, 1000)
    assert r.status_code == 404 and reason(r) == "notFound"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (meta(title=""), "invalidTitle"),
        (meta(title="x" * 101), "invalidTitle"),
        (meta(title="a > b"), "invalidTitle"),
        (meta(description="<3"), "invalidDescription"),
        (meta(description="é" * 2501), "invalidDescription"),  # 5,002 bytes
        (meta(tags=["x" * 501]), "invalidTags"),
        (meta(categoryId="99"), "invalidCategoryId"),
        ({"snippet": {"title": "T"}, "status": {"privacyStatus": "secret"}}, "invalidVideoMetadata"),
    ],
)
async def test_metadata_rules(client, clock, body, why) -> None:
    r = await start(client, clock, 1000, body)
    assert r.status_code == 400 and reason(r) == why


async def test_start_needs_auth_and_size(client, clock) -> None:
    r = await start(client, clock, 1000, Authorization="Bearer expired")
    assert (
        r.status_code == 401 and reason(r) == "authError" and r.json()["error"]["status"] == "UNAUTHENTICATED"
    )
    r = await client.post(
        START, params={"uploadType": "resumable", "part": "snippet"}, json=meta(), headers=auth(clock)
    )
    assert r.status_code == 400 and reason(r) == "badContent"
    assert (await start(client, clock, 1000, **{"X-Upload-Content-Type": "image/png"})).status_code == 400


async def test_quota_and_channel_limit(client, clock) -> None:
    clock.now = datetime(2026, 3, 10, 12, tzinfo=ZoneInfo("America/Los_Angeles")).timestamp()
    assert (await start(client, clock, 1000)).status_code == 200
    assert (await start(client, clock, 1000)).status_code == 200
    r = await start(client, clock, 1000)
    assert r.status_code == 400 and reason(r) == "uploadLimitExceeded"
    other = auth(clock, channel="UCzzzzzzzzzzzzzzzzzzzzzz")
    assert (await start(client, clock, 1000, **other)).status_code == 200
    r = await start(client, clock, 1000, **other)
    assert r.status_code == 403 and reason(r) == "quotaExceeded"
    assert r.json()["error"]["errors"][0]["domain"] == "youtube.quota"
    # the quota resets at midnight Pacific time (07:00 UTC once daylight saving time has begun)
    clock.now = datetime(2026, 3, 11, 6, 59, tzinfo=UTC).timestamp()
    assert (await start(client, clock, 1000, **auth(clock, "UCzzzzzzzzzzzzzzzzzzzzzz"))).status_code == 403
    clock.now = datetime(2026, 3, 11, 7, 0, 1, tzinfo=UTC).timestamp()
    assert (await start(client, clock, 1000, **auth(clock, "UCzzzzzzzzzzzzzzzzzzzzzz"))).status_code == 200


async def test_channel_and_uploads_playlist(client, clock, clip) -> None:
    r = await client.get(
        f"{BASE}/youtube/v3/channels",
        params={"part": "snippet,contentDetails", "mine": "true"},
        headers=auth(clock),
    )
    [channel] = r.json()["items"]
    assert channel["id"] == CHANNEL and channel["snippet"]["customUrl"] == "@sandbox-abcdefgh"
    uploads = channel["contentDetails"]["relatedPlaylists"]["uploads"]
    assert uploads == "UU" + CHANNEL[2:]
    for title in ("one", "two"):
        session = (await start(client, clock, len(clip), meta(title=title))).headers["location"]
        await put(client, session, clip, 0, len(clip))
        clock.now += 1
    r = await client.get(
        f"{BASE}/youtube/v3/playlistItems",
        params={"part": "snippet", "playlistId": uploads, "maxResults": "1"},
        headers=auth(clock),
    )
    page = r.json()
    assert [i["snippet"]["title"] for i in page["items"]] == ["two"] and page["nextPageToken"] == "1"
    assert page["items"][0]["snippet"]["resourceId"]["kind"] == "youtube#video"
    r = await client.get(
        f"{BASE}/youtube/v3/playlistItems",
        params={"part": "snippet", "playlistId": uploads, "maxResults": "1", "pageToken": "1"},
        headers=auth(clock),
    )
    assert [i["snippet"]["title"] for i in r.json()["items"]] == ["one"] and "nextPageToken" not in r.json()
    strangers = await client.get(
        f"{BASE}/youtube/v3/playlistItems",
        params={"part": "snippet", "playlistId": uploads},
        headers=auth(clock, "UCyyyyyyyyyyyyyyyyyyyyyy"),
    )
    assert strangers.json()["items"] == []  # private uploads are the owner's


async def test_google_oauth(client, clock) -> None:
    verifier = "w" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {
        "client_id": "cid",
        "redirect_uri": "http://localhost:8000/cb",
        "response_type": "code",
        "scope": "https://www.googleapis.com/auth/youtube.upload",
        "access_type": "offline",
        "state": "s1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    r = await client.get(f"{BASE}/o/oauth2/v2/auth", params=query)
    assert r.status_code == 302
    params = {k: v[0] for k, v in parse_qs(urlsplit(r.headers["location"]).query).items()}
    assert params["state"] == "s1" and params["code"].startswith("4/")
    form = {
        "client_id": "cid",
        "client_secret": "sec",
        "code": params["code"],
        "grant_type": "authorization_code",
        "redirect_uri": "http://localhost:8000/cb",
        "code_verifier": verifier,
    }
    tokens = (await client.post(f"{BASE}/token", data=form)).json()
    assert tokens["expires_in"] == 3599 and tokens["token_type"] == "Bearer"
    assert tokens["access_token"].startswith("ya29.UC") and tokens["refresh_token"].startswith("1//UC")
    channel = tokens["access_token"].split(".")[1]
    me = await client.get(
        f"{BASE}/youtube/v3/channels",
        params={"part": "id", "mine": "true"},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert me.json()["items"][0]["id"] == channel
    refresh = {
        "client_id": "cid",
        "client_secret": "sec",
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
    }
    for _ in range(2):  # Google's refresh tokens are not single-use
        again = await client.post(f"{BASE}/token", data=refresh)
        assert again.status_code == 200 and "refresh_token" not in again.json()
    bad = await client.post(f"{BASE}/token", data=refresh | {"refresh_token": "1//nope"})
    assert bad.status_code == 400 and bad.json() == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }
    nobody = await client.post(f"{BASE}/token", data=refresh | {"client_secret": ""})
    assert nobody.status_code == 401 and nobody.json()["error"] == "invalid_client"
    r = await client.get(f"{BASE}/o/oauth2/v2/auth", params=query)
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    wrong = await client.post(f"{BASE}/token", data=form | {"code": code, "code_verifier": "x" * 64})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
