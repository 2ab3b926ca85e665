"""YouTube adapter against the simulator over real HTTP: resumable uploads and what surrounds them."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import httpx
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from postpost.platforms import _http
from postpost.platforms._youtube_errors import classify
from postpost.platforms._youtube_rules import video_title
from postpost.platforms.base import (
    Credentials,
    ErrorCode,
    InProgress,
    MediaFile,
    PlatformError,
    PostPart,
    PublishJob,
)
from postpost.platforms.registry import adapter_classes
from postpost.platforms.youtube import DESCRIPTOR, YouTubeAdapter
from tests.media.files import image_bytes, video_bytes
from tests.platforms.conftest import HASTY, Sim, control, creds_of, media_file
from tests.platforms.media_flow import drive, padded_mp4, quick_simulator

MIB = 1024 * 1024
DEFAULTS = DESCRIPTOR.default_settings


@pytest.fixture(scope="module")
def simulator_url() -> Iterator[str]:
    with quick_simulator() as url:
        yield url


@pytest.fixture(scope="module")
def clip() -> bytes:
    return video_bytes(seconds=2.0, fps=25)


@pytest.fixture
def adapter(http: aiohttp.ClientSession) -> YouTubeAdapter:
    return YouTubeAdapter(http, timeout=5)


def account(simulator_url: str) -> Credentials:
    made = DESCRIPTOR.sandbox_account
    assert made is not None
    sandbox = made()
    c = creds_of(sandbox.account_id, f"{simulator_url}/youtube", sandbox.secrets, sandbox.username)
    return dataclasses.replace(c, expires_at=sandbox.expires_at)


def video(data: bytes, *, size: tuple[int, int] = (64, 48), duration: float = 2.0) -> MediaFile:
    return media_file(data, "video/mp4", width=size[0], height=size[1], duration=duration)


def job(c: Credentials, text: str, *media: MediaFile, **settings: Any) -> PublishJob:
    return PublishJob(PostPart(text, media), c, "key-1", settings={**DEFAULTS, **settings})


def requests(sim: Sim) -> list[tuple[str, str]]:
    found = control(sim.url, "GET", "/requests?platform=youtube")["requests"]
    return [(r["method"], r["path"]) for r in found]


def resource(simulator_url: str, c: Credentials, video_id: str) -> dict[str, Any]:
    """The video as YouTube's API shows it to its owner."""
    r = httpx.get(
        f"{simulator_url}/youtube/youtube/v3/videos",
        params={"part": "snippet,status", "id": video_id},
        headers={"Authorization": f"Bearer {c.secrets['access_token']}"},
    )
    [item] = r.json()["items"]
    return dict(item)


async def refused(adapter: YouTubeAdapter, j: PublishJob) -> PlatformError:
    with pytest.raises(PlatformError) as info:
        await drive(adapter, j)
    return info.value


UPLOAD = ("POST", "/upload/youtube/v3/videos")
PUT = ("PUT", "/upload/youtube/v3/videos")


def test_descriptor() -> None:
    assert adapter_classes()["youtube"] is YouTubeAdapter
    rules = DESCRIPTOR.text
    assert (rules.limit, rules.max_bytes, rules.threads) == (5000, 5000, False)
    assert (
        DESCRIPTOR.media.needs_video and DESCRIPTOR.media.max_videos == 1 and DESCRIPTOR.media.max_images == 0
    )
    assert DEFAULTS == {
        "title": "",
        "privacy": "public",
        "categoryId": "22",
        "tags": (),
        "madeForKids": False,
    }
    assert DESCRIPTOR.settings["privacy"].allowed == ("public", "unlisted", "private")
    assert DESCRIPTOR.rotating_refresh is False


# ----- uploads -----------------------------------------------------------------------------------------


async def test_upload_with_metadata(adapter, simulator_url, sim, clip) -> None:
    c = account(simulator_url)
    text = "Launch day\nEverything about the launch, in two minutes."
    settings = {
        "privacy": "unlisted",
        "categoryId": "28",
        "tags": ["launch", "new things"],
        "madeForKids": True,
    }
    run = await drive(adapter, job(c, text, video(clip), **settings))
    assert run.states[0]["step"] == "upload" and run.states[0]["size"] == len(clip)
    assert "upload_id=" in run.states[0]["session"]
    assert run.states[-1]["step"] == "processing"
    [post] = sim.posts("youtube")
    assert post["account"] == c.account_id and post["text"] == text
    assert run.result.remote_id == post["id"] == run.states[-1]["video_id"]
    assert run.result.url == f"https://www.youtube.com/watch?v={post['id']}"
    assert run.result.ref == {"short": False}
    [media] = post["media"]
    assert media["size"] == len(clip) and media["duration"] == pytest.approx(2.0, abs=0.1)
    got = resource(simulator_url, c, post["id"])
    assert got["snippet"]["title"] == "Launch day" and got["snippet"]["description"] == text
    assert got["snippet"]["tags"] == ["launch", "new things"] and got["snippet"]["categoryId"] == "28"
    assert got["status"]["privacyStatus"] == "unlisted" and got["status"]["selfDeclaredMadeForKids"] is True
    assert got["status"]["uploadStatus"] == "processed"
    assert requests(sim)[:3] == [UPLOAD, PUT, PUT]  # session, "what do you hold?", the bytes


async def test_title_from_settings(adapter, simulator_url, sim, clip) -> None:
    c = account(simulator_url)
    run = await drive(adapter, job(c, "body text", video(clip), title="A proper title"))
    assert resource(simulator_url, c, run.result.remote_id)["snippet"]["title"] == "A proper title"


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("\n  <b>Bold</b> first line  \nsecond", "bBold/b first line"),
        ("x" * 150, "x" * 100),
        ("   \n ", "Untitled video"),
    ],
)
def test_title_from_the_first_line(text, title) -> None:
    assert video_title(text, DEFAULTS) == title


async def test_long_first_line_is_cut_for_the_title(adapter, simulator_url, clip) -> None:
    c = account(simulator_url)
    run = await drive(adapter, job(c, "y" * 150, video(clip)))
    assert resource(simulator_url, c, run.result.remote_id)["snippet"]["title"] == "y" * 100


async def test_angle_brackets_in_the_description_are_refused(adapter, simulator_url, sim, clip) -> None:
    error = await refused(adapter, job(account(simulator_url), "I <3 this", video(clip)))
    assert error.code is ErrorCode.INVALID_CONTENT and "descriptions cannot contain < or >" in error.message
    assert requests(sim) == []


async def test_vertical_short_video_is_a_short(adapter, simulator_url, clip) -> None:
    run = await drive(adapter, job(account(simulator_url), "short", video(clip, size=(48, 64))))
    assert run.result.url == f"https://www.youtube.com/shorts/{run.result.remote_id}"
    assert run.result.ref == {"short": True}


async def test_large_video_in_chunks_of_256_kib_multiples(adapter, simulator_url, sim, clip) -> None:
    data = padded_mp4(clip, 40 * MIB)
    run = await drive(adapter, job(account(simulator_url), "big", video(data)))
    [post] = sim.posts("youtube")
    assert post["media"][0]["size"] == 40 * MIB and run.result.remote_id == post["id"]
    assert post["media"][0]["duration"] == pytest.approx(2.0, abs=0.1)
    assert requests(sim).count(PUT) == 3  # the offset query, 32 MiB (308), the last 8 MiB


async def test_interrupted_upload_resumes_from_the_reported_offset(http, simulator_url, sim, clip) -> None:
    """The first PUT is cut after half its bytes; a fresh instance asks the session for its offset
    and sends only the rest: one session, one complete video."""
    data = padded_mp4(clip, 40 * MIB)
    first = job(account(simulator_url), "cut #sandbox:upload-interrupted", video(data))
    started = await YouTubeAdapter(http, timeout=5).publish(first)
    assert isinstance(started, InProgress)
    resumed = dataclasses.replace(first, state=json.loads(json.dumps(started.state)))
    with pytest.raises(PlatformError) as info:
        await YouTubeAdapter(http, timeout=5).publish(resumed)
    assert info.value.retryable
    assert info.value.code in (ErrorCode.PLATFORM_SERVER_ERROR, ErrorCode.NETWORK_ERROR)
    run = await drive(lambda: YouTubeAdapter(http, timeout=5), resumed)
    [post] = sim.posts("youtube")
    assert post["media"][0]["size"] == 40 * MIB and run.result.remote_id == post["id"]
    assert post["media"][0]["duration"] == pytest.approx(2.0, abs=0.1)  # the bytes fit together
    sent = requests(sim)
    assert sent.count(UPLOAD) == 1
    # query, 32 MiB cut at 16 MiB; query (16 MiB held), the remaining 24 MiB in one final chunk
    assert sent.count(PUT) == 4


async def test_lost_session_starts_again(adapter, simulator_url, sim, clip) -> None:
    j = job(account(simulator_url), "again", video(clip))
    started = await adapter.publish(j)
    assert isinstance(started, InProgress)
    gone = {**started.state, "session": started.state["session"].replace("upload_id=", "upload_id=gone")}
    await drive(adapter, dataclasses.replace(j, state=gone))
    assert requests(sim).count(UPLOAD) == 2
    assert len(sim.posts("youtube")) == 1


async def test_every_step_by_a_fresh_instance(http, simulator_url, sim, clip) -> None:
    run = await drive(lambda: YouTubeAdapter(http, timeout=5), job(account(simulator_url), "x", video(clip)))
    assert [p["id"] for p in sim.posts("youtube")] == [run.result.remote_id]


# ----- refusals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("media", "settings", "message"),
    [
        ((), {}, "YouTube posts require a video"),
        (("image",), {}, "YouTube posts require a video"),
        (("clip", "clip"), {}, "exactly one video and nothing else"),
        (("clip",), {"title": "t" * 101}, "platformSettings.youtube.title is 101 characters"),
        (("clip",), {"title": "a <b>"}, "platformSettings.youtube.title cannot contain < or >"),
        (("clip",), {"tags": ["x" * 300, "y" * 300]}, "tags add up to 601 characters"),
        (("clip",), {"tags": "one,two"}, "tags must be a list of strings"),
        (("clip",), {"categoryId": "music"}, "categoryId must be a YouTube category number"),
    ],
)
async def test_refused_before_anything_is_sent(
    adapter, simulator_url, sim, clip, media, settings, message
) -> None:
    files = {"clip": video(clip), "image": media_file(image_bytes(), "image/png")}
    error = await refused(adapter, job(account(simulator_url), "x", *[files[m] for m in media], **settings))
    assert error.code is ErrorCode.INVALID_CONTENT and not error.retryable and message in error.message
    assert requests(sim) == []


async def test_unknown_category_refused_by_youtube(adapter, simulator_url, sim, clip) -> None:
    error = await refused(adapter, job(account(simulator_url), "x", video(clip), categoryId="99"))
    assert error.code is ErrorCode.INVALID_CONTENT and error.status == 400
    assert error.platform_error and error.platform_error.startswith("invalidCategoryId")


async def test_not_a_video_fails_processing(adapter, simulator_url, sim) -> None:
    error = await refused(adapter, job(account(simulator_url), "x", video(b"\0" * 5000)))
    assert error.code is ErrorCode.INVALID_CONTENT and error.platform_error == "invalidFile"
    assert sim.posts("youtube") == []


# ----- faults ------------------------------------------------------------------------------------------


async def test_media_processing_failed(adapter, simulator_url, sim, clip) -> None:
    error = await refused(
        adapter, job(account(simulator_url), "x #sandbox:media-processing-failed", video(clip))
    )
    assert error.code is ErrorCode.INVALID_CONTENT and error.platform_error == "conversion"
    assert sim.posts("youtube") == []


async def test_media_slow(adapter, simulator_url, sim, clip) -> None:
    run = await drive(adapter, job(account(simulator_url), "x #sandbox:media-slow", video(clip)))
    assert run.states[-1]["polls"] >= 3
    assert len(sim.posts("youtube")) == 1


async def test_auth_expired(adapter, simulator_url, clip) -> None:
    error = await refused(adapter, job(account(simulator_url), "x #sandbox:auth-expired", video(clip)))
    assert error.code is ErrorCode.PLATFORM_AUTH_EXPIRED and error.refreshable and error.status == 401


async def test_rate_limit_once(adapter, simulator_url, sim, clip) -> None:
    j = job(account(simulator_url), "x #sandbox:rate-limit-once", video(clip))
    error = await refused(adapter, j)
    assert error.code is ErrorCode.RATE_LIMITED and error.status == 429
    assert error.retry_at is not None and error.retry_at < datetime.now(UTC) + timedelta(seconds=5)
    await drive(adapter, j)
    assert len(sim.posts("youtube")) == 1


async def test_server_error_once(adapter, simulator_url, sim, clip) -> None:
    j = job(account(simulator_url), "x #sandbox:server-error-once", video(clip))
    error = await refused(adapter, j)
    assert error.code is ErrorCode.PLATFORM_SERVER_ERROR and error.retryable
    await drive(adapter, j)
    assert len(sim.posts("youtube")) == 1


async def test_lost_answer_to_the_last_chunk(http, simulator_url, sim, clip) -> None:
    adapter = YouTubeAdapter(http, timeout=HASTY)
    j = job(account(simulator_url), "x #sandbox:timeout-after-commit", video(clip))
    started = await adapter.publish(j)
    assert isinstance(started, InProgress)
    j = dataclasses.replace(j, state=started.state)
    with pytest.raises(PlatformError) as info:
        await adapter.publish(j)
    assert info.value.code is ErrorCode.TIMEOUT_ERROR and info.value.maybe_published
    run = await drive(adapter, j)
    [post] = sim.posts("youtube")
    assert run.result.remote_id == post["id"]
    assert requests(sim).count(UPLOAD) == 1


async def test_channel_upload_limit(adapter, simulator_url, clip) -> None:
    c = account(simulator_url)
    for n in range(3):
        await adapter.publish(job(c, f"video {n}", video(clip)))
    error = await refused(adapter, job(c, "one too many", video(clip)))
    assert error.code is ErrorCode.RATE_LIMITED and error.status == 400
    assert error.retry_at is not None and error.retry_at > datetime.now(UTC) + timedelta(hours=23)


def test_quota_exceeded_waits_for_pacific_midnight() -> None:
    body = {"error": {"code": 403, "message": "quota", "errors": [{"reason": "quotaExceeded"}]}}
    result = _http.HttpResult(403, CIMultiDictProxy(CIMultiDict()), json.dumps(body).encode())
    error = classify(result)
    assert error.code is ErrorCode.RATE_LIMITED and error.retryable and error.status == 403
    assert error.retry_at is not None
    local = error.retry_at.astimezone(ZoneInfo("America/Los_Angeles"))
    assert (local.hour, local.minute) == (0, 0)
    assert timedelta(0) < error.retry_at - datetime.now(UTC) <= timedelta(days=1)


# ----- reconciliation, credentials ------------------------------------------------------------------


async def test_find_published_in_the_uploads_playlist(adapter, simulator_url, clip) -> None:
    c = account(simulator_url)
    since = datetime.now(UTC)
    run = await drive(adapter, job(c, "Find me\nplease", video(clip)))
    looked = dataclasses.replace(job(c, "Find me\nplease"), since=since)
    found = await adapter.find_published(looked)
    assert found is not None and found.remote_id == run.result.remote_id
    assert await adapter.find_published(dataclasses.replace(looked, part=PostPart("Another"))) is None
    later = dataclasses.replace(looked, since=datetime.now(UTC) + timedelta(hours=1))
    assert await adapter.find_published(later) is None


async def test_refresh_keeps_the_refresh_token(adapter, simulator_url, clip) -> None:
    c = account(simulator_url)
    past = str(int((datetime.now(UTC) - timedelta(seconds=1)).timestamp()))
    expired = dataclasses.replace(c, secrets=c.secrets.merged(access_expires_at=past))
    assert adapter.needs_refresh(expired, datetime.now(UTC)) and not adapter.needs_refresh(
        c, datetime.now(UTC)
    )
    fresh = await adapter.refresh(expired)
    assert fresh.secrets["refresh_token"] == c.secrets["refresh_token"]
    assert fresh.secrets["access_token"] != c.secrets["access_token"]
    assert fresh.expires_at is None  # the connection does not expire
    left = int(fresh.secrets["access_expires_at"]) - datetime.now(UTC).timestamp()
    assert 55 * 60 < left <= 3600
    assert (await adapter.refresh(expired)).secrets["refresh_token"] == c.secrets["refresh_token"]
    await drive(adapter, job(fresh, "after refresh", video(clip)))


async def test_refresh_refused_with_invalid_grant(adapter, simulator_url) -> None:
    c = account(simulator_url)
    c = dataclasses.replace(c, secrets=c.secrets.merged(refresh_token="1//revoked"))
    with pytest.raises(PlatformError) as info:
        await adapter.refresh(c)
    assert info.value.code is ErrorCode.PLATFORM_AUTH_EXPIRED and not info.value.refreshable
    assert info.value.platform_error and info.value.platform_error.startswith("invalid_grant")
    no_app = dataclasses.replace(c, secrets=c.secrets.merged(client_id=None, client_secret=None))
    with pytest.raises(PlatformError) as info:
        await adapter.refresh(no_app)
    assert "POSTPOST_YOUTUBE_CLIENT_ID" in info.value.message


async def test_check_connection(adapter, simulator_url) -> None:
    c = account(simulator_url)
    check = await adapter.check_connection(c)
    assert (
        check.ok and check.username == c.username and check.message.startswith("Connected as Sandbox channel")
    )
    stale = f"ya29.{c.account_id}.{int(datetime.now(UTC).timestamp()) - 5}.x"
    with pytest.raises(PlatformError) as info:
        await adapter.check_connection(dataclasses.replace(c, secrets=c.secrets.merged(access_token=stale)))
    assert info.value.refreshable
