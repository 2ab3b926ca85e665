"""Instagram adapter against the simulator over real HTTP (media served by a local media host)."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from postpost.platforms import _graph
from postpost.platforms._http import HttpResult
from postpost.platforms.base import (
    Credentials,
    ErrorCode,
    InProgress,
    MediaFile,
    PlatformError,
    PostPart,
    Published,
    PublishJob,
)
from postpost.platforms.descriptor import Reconciliation
from postpost.platforms.instagram import DESCRIPTOR, SUBCODES, UPLOAD_PIECE, InstagramAdapter
from postpost.platforms.registry import adapter_classes
from tests.media.files import image_bytes, photo_bytes, video_bytes
from tests.platforms.conftest import HASTY, Sim, creds_of, media_file
from tests.platforms.graph_helpers import (  # noqa: F401 - fixtures
    MediaServer,
    drive,
    large_video,
    media_host_fixture,
    media_server_fixture,
    own_simulator,
)

REEL = video_bytes(seconds=3.0)  # Reels last 3 s at least


def creds(url: str) -> Credentials:
    sandbox = DESCRIPTOR.sandbox_account()
    base = url if url.endswith("/instagram") else f"{url}/instagram"
    return dataclasses.replace(
        creds_of(sandbox.account_id, base, dict(sandbox.secrets), sandbox.username),
        expires_at=sandbox.expires_at,
    )


@pytest.fixture
def adapter(http: aiohttp.ClientSession) -> InstagramAdapter:
    return InstagramAdapter(http, timeout=5)


@pytest.fixture
def c(simulator_url: str) -> Credentials:
    return creds(simulator_url)


def job(text: str, c: Credentials, *media: MediaFile, **kw: Any) -> PublishJob:
    return PublishJob(PostPart(text, tuple(media)), c, kw.pop("key", "k"), **kw)


def photo(host: MediaServer, name: str = "p.jpg", size: tuple[int, int] = (400, 400), **kw: Any) -> MediaFile:
    data = photo_bytes(size)
    return media_file(data, "image/jpeg", fetch_url=host.add(name, data, "image/jpeg"), media_id=name, **kw)


def reel(host: MediaServer | None = None, data: bytes = REEL, name: str = "r.mp4") -> MediaFile:
    url = host.add(name, data, "video/mp4") if host is not None else None
    return media_file(data, "video/mp4", fetch_url=url, media_id=name)


async def failure(adapter: InstagramAdapter, j: PublishJob) -> PlatformError:
    with pytest.raises(PlatformError) as info:
        await drive(adapter, j)
    return info.value


async def bytes_received(http: aiohttp.ClientSession, c: Credentials, container: str) -> int:
    url = f"{c.base_url}/v23.0/{container}"
    async with http.get(
        url, params={"fields": "video_status", "access_token": c.secrets["access_token"]}
    ) as r:
        return int((await r.json())["video_status"]["uploading_phase"]["bytes_transferred"])


def test_descriptor() -> None:
    assert adapter_classes()["instagram"] is InstagramAdapter
    assert (DESCRIPTOR.text.limit, DESCRIPTOR.text.max_hashtags, DESCRIPTOR.text.threads) == (2200, 30, False)
    assert DESCRIPTOR.media.needs_media and DESCRIPTOR.media.max_images == 10
    assert not DESCRIPTOR.media.mix_images_and_videos
    assert DESCRIPTOR.default_settings == {"videoType": "REELS"}
    assert DESCRIPTOR.settings["videoType"].allowed == ("REELS", "STORIES")
    assert DESCRIPTOR.reconciliation is Reconciliation.LOOKUP
    assert DESCRIPTOR.endpoints["upload"] == "https://rupload.facebook.com"
    account = DESCRIPTOR.sandbox_account()
    assert account.account_id.startswith("1784") and account.expires_at is not None


def test_instagram_subcodes_win() -> None:
    def result(error: dict[str, Any]) -> HttpResult:
        return HttpResult(400, CIMultiDictProxy(CIMultiDict()), json.dumps({"error": error}).encode())

    def code_of(error: dict[str, Any]) -> ErrorCode:
        return _graph.classify(result(error), title="Instagram", creating=True, subcodes=SUBCODES).code

    assert code_of({"message": "limit", "code": 9, "error_subcode": 2207042}) is ErrorCode.RATE_LIMITED
    assert code_of({"message": "spam", "code": 4, "error_subcode": 2207051}) is ErrorCode.UNKNOWN_ERROR
    assert code_of({"message": "big", "code": 36000, "error_subcode": 2207004}) is ErrorCode.CONTENT_TOO_LARGE
    assert code_of({"message": "x", "code": 9004, "error_subcode": 2207052}) is ErrorCode.UNKNOWN_ERROR
    assert code_of({"message": "x", "code": -1, "error_subcode": 2207001}) is ErrorCode.PLATFORM_SERVER_ERROR


async def test_photo(adapter: InstagramAdapter, c: Credentials, sim: Sim, media_host: MediaServer) -> None:
    published, steps = await drive(adapter, job("A photo #sunset", c, photo(media_host)))
    assert steps == 1 and published.url and published.url.startswith("https://www.instagram.com/p/")
    [post] = sim.posts("instagram")
    assert (post["id"], post["text"], post["replyTo"]) == (published.remote_id, "A photo #sunset", None)
    assert post["media"][0] | {"size": 0} == {
        "type": "image",
        "mimeType": "image/jpeg",
        "size": 0,
        "width": 400,
        "height": 400,
    }
    assert media_host.fetched == ["p.jpg"]


async def test_carousel_of_photos(
    adapter: InstagramAdapter, c: Credentials, sim: Sim, media_host: MediaServer
) -> None:
    images = [photo(media_host, f"{i}.jpg", (400 + 10 * i, 400)) for i in range(3)]
    published, _ = await drive(adapter, job("Swipe", c, *images))
    [post] = sim.posts("instagram")
    assert post["id"] == published.remote_id and [m["width"] for m in post["media"]] == [400, 410, 420]


async def test_carousel_of_videos_waits_for_its_items(
    adapter: InstagramAdapter, c: Credentials, sim: Sim, media_host: MediaServer
) -> None:
    videos = [reel(media_host, name=f"{i}.mp4") for i in range(2)]
    published, steps = await drive(adapter, job("Two clips", c, *videos))
    assert steps == 2  # the items are processed before the carousel is made
    [post] = sim.posts("instagram")
    assert [m["type"] for m in post["media"]] == ["video", "video"]


async def test_reel_from_its_url(
    adapter: InstagramAdapter, c: Credentials, sim: Sim, media_host: MediaServer
) -> None:
    _published, steps = await drive(adapter, job("A reel", c, reel(media_host)))
    assert steps == 2
    [post] = sim.posts("instagram")
    assert post["media"][0]["duration"] == pytest.approx(3.0, abs=0.1)


async def test_reel_through_the_resumable_upload(
    http: aiohttp.ClientSession, c: Credentials, sim: Sim, simulator_url: str
) -> None:
    data = large_video()
    assert len(data) > 4 * UPLOAD_PIECE
    j = job("Uploaded reel", c, reel(data=data))
    first = await InstagramAdapter(http, timeout=5).publish(j)
    assert isinstance(first, InProgress) and first.check_after == timedelta(0)
    [entry] = first.state["items"]
    assert entry["upload"] is True and await bytes_received(http, c, entry["id"]) == 0
    published, steps = await drive(
        InstagramAdapter(http, timeout=5), dataclasses.replace(j, state=first.state)
    )
    assert steps == 2
    [post] = sim.posts("instagram")
    assert post["id"] == published.remote_id and post["media"][0]["size"] == len(data)
    uploads = sim_requests(simulator_url, "/ig-api-upload/v23.0/" + entry["id"])
    assert len(uploads) == 1


def sim_requests(url: str, path: str) -> list[dict[str, Any]]:
    from tests.platforms.conftest import control

    return list(control(url, "GET", f"/requests?platform=instagram&path={path}")["requests"])


async def test_interrupted_upload_resumes_after_the_bytes_instagram_has(
    http: aiohttp.ClientSession, c: Credentials, sim: Sim
) -> None:
    data = large_video()
    j = job("cut short #sandbox:upload-interrupted", c, reel(data=data))
    first = await InstagramAdapter(http, timeout=5).publish(j)
    assert isinstance(first, InProgress)
    with pytest.raises(PlatformError) as info:
        await InstagramAdapter(http, timeout=5).publish(dataclasses.replace(j, state=first.state))
    assert (
        info.value.code is ErrorCode.NETWORK_ERROR and info.value.retryable and not info.value.maybe_published
    )
    container = first.state["items"][0]["id"]
    assert await bytes_received(http, c, container) == len(data) // 2
    published, _ = await drive(InstagramAdapter(http, timeout=5), dataclasses.replace(j, state=first.state))
    [post] = sim.posts("instagram")
    assert post["id"] == published.remote_id and post["media"][0]["size"] == len(data)
    assert await bytes_received(http, c, container) == len(data)


async def test_story(adapter: InstagramAdapter, c: Credentials, sim: Sim, media_host: MediaServer) -> None:
    j = job("a story", c, reel(media_host), settings={"videoType": "STORIES"}, since=datetime.now(UTC))
    published, _ = await drive(adapter, j)
    [post] = sim.posts("instagram")
    assert post["id"] == published.remote_id and post["text"] == ""  # stories carry no caption
    found = await adapter.find_published(dataclasses.replace(j, unsure=True))
    assert found is not None and found.remote_id == published.remote_id
    feed = await adapter.find_published(job("a story", c, reel(media_host), since=j.since))
    assert feed is None  # not among the feed's media


async def test_refusals_before_any_container(adapter: InstagramAdapter, c: Credentials, sim: Sim) -> None:
    err = await failure(adapter, job("text only", c))
    assert (err.code, err.message, err.retryable) == (
        ErrorCode.INVALID_CONTENT,
        "Instagram posts require media",
        False,
    )
    err = await failure(adapter, job("no url", c, media_file(photo_bytes((100, 100)), "image/jpeg")))
    assert err.code is ErrorCode.UNKNOWN_ERROR and "public URL" in err.message
    assert sim.posts("instagram") == []


async def test_media_refused_by_instagram(
    adapter: InstagramAdapter, c: Credentials, media_host: MediaServer
) -> None:
    data = photo_bytes((400, 400))
    media_host.add("x.jpg", data, "image/jpeg")
    forged = media_file(data, "image/jpeg", fetch_url=media_host.url("x.jpg", signature="forged"))
    err = await failure(adapter, job("forged", c, forged))
    assert err.code is ErrorCode.UNKNOWN_ERROR and not err.retryable
    assert err.platform_error == "Media download has failed. The media URI doesn't meet our requirements."
    assert media_host.url("x.jpg", signature="forged") in err.message
    png = image_bytes("PNG", (400, 400))
    err = await failure(
        adapter,
        job("png", c, media_file(png, "image/png", fetch_url=media_host.add("p.png", png, "image/png"))),
    )
    assert err.code is ErrorCode.INVALID_CONTENT and "(code 9004/2207005)" in err.message
    err = await failure(adapter, job("too wide", c, photo(media_host, "w.jpg", (900, 300))))
    assert err.code is ErrorCode.INVALID_CONTENT and "2207009" in err.message
    short = video_bytes(seconds=1.0)
    err = await failure(adapter, job("too short", c, reel(media_host, short, "s.mp4")))
    assert (
        err.code is ErrorCode.INVALID_CONTENT
        and err.platform_error == "Error: Media upload has failed with error code 2207026"
    )


async def test_video_that_cannot_be_fetched(
    adapter: InstagramAdapter, c: Credentials, media_host: MediaServer
) -> None:
    missing = media_file(REEL, "video/mp4", fetch_url=media_host.url("gone.mp4"))
    err = await failure(adapter, job("gone", c, missing))
    assert err.code is ErrorCode.UNKNOWN_ERROR and not err.retryable and "2207052" in str(err.platform_error)
    assert media_host.fetched == ["gone.mp4"]  # not made again


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("x" * 2201, ErrorCode.CONTENT_TOO_LARGE),
        (" ".join(f"#tag{i}" for i in range(31)), ErrorCode.INVALID_CONTENT),
        ("#sandbox:media-processing-failed", ErrorCode.INVALID_CONTENT),
        ("#sandbox:invalid-content", ErrorCode.INVALID_CONTENT),
        ("#sandbox:auth-expired", ErrorCode.PLATFORM_AUTH_EXPIRED),
    ],
)
async def test_refused_posts(
    adapter: InstagramAdapter, c: Credentials, sim: Sim, media_host: MediaServer, text: str, code: ErrorCode
) -> None:
    err = await failure(adapter, job(text, c, photo(media_host)))
    assert err.code is code and not err.retryable
    assert sim.posts("instagram") == []


async def test_slow_processing(adapter: InstagramAdapter, c: Credentials, media_host: MediaServer) -> None:
    j = job("slow #sandbox:media-slow", c, reel(media_host))
    delays = []
    result = await adapter.publish(j)
    while isinstance(result, InProgress):
        delays.append(result.check_after.total_seconds())
        result = await adapter.publish(dataclasses.replace(j, state=result.state))
    assert delays == [0.5, 1.0, 2.0]


async def test_transient_failures(
    adapter: InstagramAdapter, c: Credentials, sim: Sim, media_host: MediaServer
) -> None:
    sim.fault("instagram", c.account_id, "rate-limited")
    err = await failure(adapter, job("busy", c, photo(media_host)))
    assert (err.code, err.status, err.retryable) == (ErrorCode.RATE_LIMITED, 400, True)
    sim.fault("instagram", c.account_id, "server-error")
    err = await failure(adapter, job("busy", c, photo(media_host)))
    assert (err.code, err.status, err.maybe_published) == (ErrorCode.PLATFORM_SERVER_ERROR, 500, False)
    await drive(adapter, job("busy", c, photo(media_host)))
    assert len(sim.posts("instagram")) == 1


@pytest.mark.parametrize("fault", ["timeout-after-commit", "server-error-after-commit"])
async def test_lost_answer_is_found_among_recent_media(
    http: aiohttp.ClientSession, c: Credentials, sim: Sim, media_host: MediaServer, fault: str
) -> None:
    adapter = InstagramAdapter(http, timeout=HASTY)
    since = datetime.now(UTC)
    sim.fault("instagram", c.account_id, fault)
    err = await failure(adapter, job("lost caption", c, photo(media_host), since=since))
    assert err.maybe_published and err.retryable
    [post] = sim.posts("instagram")
    again = await adapter.publish(job("lost caption", c, photo(media_host), since=since, unsure=True))
    assert isinstance(again, Published) and again.remote_id == post["id"]
    assert len(sim.posts("instagram")) == 1


async def test_unsure_with_a_published_container(
    adapter: InstagramAdapter, c: Credentials, sim: Sim, media_host: MediaServer
) -> None:
    since = datetime.now(UTC)
    j = job("reel once", c, reel(media_host), since=since)
    first = await adapter.publish(j)
    assert isinstance(first, InProgress)
    published, _ = await drive(adapter, dataclasses.replace(j, state=first.state))
    again = await adapter.publish(dataclasses.replace(j, state=first.state, unsure=True))
    assert again == published and len(sim.posts("instagram")) == 1


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_expired_container_is_made_again(http: aiohttp.ClientSession, media_host: MediaServer) -> None:
    clock = Clock()
    with own_simulator(clock=clock) as url:
        c = creds(url)
        adapter = InstagramAdapter(http, timeout=5)
        j = job("late reel", c, reel(media_host))
        first = await adapter.publish(j)
        assert isinstance(first, InProgress)
        clock.now += 25 * 3600
        published, _ = await drive(adapter, dataclasses.replace(j, state=first.state))
        assert published.remote_id and media_host.fetched == ["r.mp4", "r.mp4"]


async def test_daily_publishing_limit(http: aiohttp.ClientSession, media_host: MediaServer) -> None:
    with own_simulator(options={"instagram": {"posts_per_day": 1}}) as url:
        c = creds(url)
        adapter = InstagramAdapter(http, timeout=5)
        await drive(adapter, job("one", c, photo(media_host)))
        err = await failure(adapter, job("two", c, photo(media_host)))
        assert err.code is ErrorCode.RATE_LIMITED
        assert err.message == "Instagram publishing limit reached: 1 of 1 posts in the last 24 hours"
        assert err.retry_at is not None and err.retry_at > datetime.now(UTC) + timedelta(hours=23)


async def test_refresh_and_check_connection(
    adapter: InstagramAdapter, c: Credentials, simulator_url: str
) -> None:
    assert adapter.needs_refresh(c, datetime.now(UTC) + timedelta(days=31))
    fresh = await adapter.refresh(c)
    assert fresh.secrets["access_token"] != c.secrets["access_token"]
    assert fresh.expires_at is not None and fresh.expires_at > datetime.now(UTC) + timedelta(days=59)
    check = await adapter.check_connection(fresh)
    assert check.ok and check.username == c.username and check.message == f"Connected as {c.username}"
    assert list(check.permissions) == ["instagram_business_basic", "instagram_business_content_publish"]
    bad = creds_of(c.account_id, f"{simulator_url}/instagram", {"access_token": "garbage"})
    assert not (await adapter.check_connection(bad)).ok
    with pytest.raises(PlatformError) as info:
        await adapter.refresh(bad)
    assert info.value.code is ErrorCode.PLATFORM_AUTH_EXPIRED
