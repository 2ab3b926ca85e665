"""TikTok adapter against the simulator over real HTTP: every step of a Direct Post."""

from __future__ import annotations

import dataclasses
import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

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
from postpost.platforms.text import Utf16
from postpost.platforms.tiktok import DESCRIPTOR, TikTokAdapter, chunk_plan
from tests.media.files import image_bytes, photo_bytes, video_bytes
from tests.platforms.conftest import HASTY, Sim, creds_of, media_file
from tests.platforms.media_flow import FileServer, drive, padded_mp4, quick_simulator

MIB = 1024 * 1024
DEFAULTS = DESCRIPTOR.default_settings


@pytest.fixture(scope="module")
def simulator_url() -> Iterator[str]:
    with quick_simulator() as url:
        yield url


@pytest.fixture(scope="module")
def clip() -> bytes:
    """A 3.2 s, 25 fps video: long enough for TikTok."""
    return video_bytes(seconds=3.2, fps=25)


@pytest.fixture
def adapter(http: aiohttp.ClientSession) -> TikTokAdapter:
    return TikTokAdapter(http, timeout=5)


def account(simulator_url: str, **changes: Any) -> Credentials:
    """A fresh sandbox creator pointed at the simulator."""
    made = DESCRIPTOR.sandbox_account
    assert made is not None
    sandbox = made()
    c = creds_of(sandbox.account_id, f"{simulator_url}/tiktok", sandbox.secrets, sandbox.username)
    return dataclasses.replace(c, expires_at=sandbox.expires_at, **changes)


def creator(simulator_url: str, c: Credentials, **options: Any) -> None:
    """Set the sandbox creator's options."""
    req = urllib.request.Request(
        f"{simulator_url}/tiktok/_sandbox/creators/{c.account_id}",
        data=json.dumps(options).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 200


def video(data: bytes, frame_rate: float | None = 25.0, **meta: Any) -> MediaFile:
    meta.setdefault("duration", 3.2)
    made = media_file(data, "video/mp4", width=64, height=48, **meta)
    return dataclasses.replace(made, frame_rate=frame_rate)


def job(c: Credentials, text: str, *media: MediaFile, **settings: Any) -> PublishJob:
    return PublishJob(PostPart(text, media), c, "key-1", settings={**DEFAULTS, **settings})


def requests(sim: Sim, path: str | None = None) -> list[dict[str, Any]]:
    from tests.platforms.conftest import control

    query = "?platform=tiktok" + (f"&path={path}" if path else "")
    found: list[dict[str, Any]] = control(sim.url, "GET", "/requests" + query)["requests"]
    return found


async def refused(adapter: TikTokAdapter, j: PublishJob) -> PlatformError:
    with pytest.raises(PlatformError) as info:
        await drive(adapter, j)
    return info.value


# ----- descriptor ------------------------------------------------------------------------------------


def test_descriptor() -> None:
    assert adapter_classes()["tiktok"] is TikTokAdapter
    assert (DESCRIPTOR.text.limit, DESCRIPTOR.text.threads) == (2200, False)
    assert isinstance(DESCRIPTOR.text.counter, Utf16)
    assert DESCRIPTOR.media.needs_media and DESCRIPTOR.media.needs_video
    assert (DESCRIPTOR.media.video_min_seconds, DESCRIPTOR.media.video_max_seconds) == (3, 600)
    assert DESCRIPTOR.media.video_min_fps == 23
    assert DESCRIPTOR.rotating_refresh is True
    assert DEFAULTS == {
        "viewerSetting": "PUBLIC_TO_EVERYONE",
        "allowComments": True,
        "allowDuet": False,
        "allowStitch": False,
        "commercialContent": False,
        "brandOrganic": False,
        "brandedContent": False,
    }


def test_chunk_plan_follows_tiktoks_rules() -> None:
    assert chunk_plan(3 * MIB) == (3 * MIB, 1)  # under 5 MB: one chunk of its size
    assert chunk_plan(7 * MIB) == (7 * MIB, 1)
    assert chunk_plan(21 * MIB) == (10 * MIB, 2)  # the last chunk takes the remainder (11 MB)
    assert chunk_plan(4096 * MIB) == (10 * MIB, 409)


# ----- publishing ------------------------------------------------------------------------------------


async def test_video_is_uploaded_then_polled_until_published(adapter, simulator_url, sim, clip) -> None:
    c = account(simulator_url)
    run = await drive(adapter, job(c, "My first clip 🎬", video(clip)))
    first = run.states[0]
    assert first["step"] == "upload" and first["publish_id"].startswith("v_pub_file~")
    assert first["size"] == len(clip) and (first["chunk"], first["chunks"]) == (len(clip), 1)
    assert run.states[-1]["step"] == "status"
    [post] = sim.posts("tiktok")
    assert post["account"] == c.account_id and post["text"] == "My first clip 🎬"
    assert run.result.remote_id == post["id"]
    assert run.result.url == f"https://www.tiktok.com/@{c.username}/video/{post['id']}"
    assert run.result.ref == {"publishId": first["publish_id"]}
    [media] = post["media"]
    assert media["type"] == "video" and media["size"] == len(clip)
    assert (media["width"], media["height"]) == (64, 48)
    assert media["duration"] == pytest.approx(3.2, abs=0.1)
    paths = [r["path"] for r in requests(sim)]
    assert paths[:2] == ["/v2/post/publish/creator_info/query/", "/v2/post/publish/video/init/"]
    assert paths.count("/video/") == 1


async def test_large_video_goes_in_chunks(adapter, simulator_url, sim, clip) -> None:
    data = padded_mp4(clip, 21 * MIB)
    run = await drive(adapter, job(account(simulator_url), "big", video(data)))
    assert (run.states[0]["chunk"], run.states[0]["chunks"]) == (10 * MIB, 2)
    [post] = sim.posts("tiktok")
    assert post["media"][0]["size"] == 21 * MIB
    assert post["media"][0]["duration"] == pytest.approx(3.2, abs=0.1)
    assert len(requests(sim, "/video/")) == 2
    assert run.result.remote_id == post["id"]


async def test_interrupted_upload_is_resumed_by_another_instance(http, simulator_url, sim, clip) -> None:
    """The PUT crossing half of the file is cut: a fresh adapter asks TikTok what it holds (the first
    chunk) and sends only the second one again."""
    data = padded_mp4(clip, 21 * MIB)
    c = account(simulator_url)
    first = job(c, "cut #sandbox:upload-interrupted", video(data))
    started = await TikTokAdapter(http, timeout=5).publish(first)
    assert isinstance(started, InProgress)
    resumed = dataclasses.replace(first, state=json.loads(json.dumps(started.state)))
    with pytest.raises(PlatformError) as info:
        await TikTokAdapter(http, timeout=5).publish(resumed)
    assert info.value.retryable
    assert info.value.code in (ErrorCode.PLATFORM_SERVER_ERROR, ErrorCode.NETWORK_ERROR)
    assert sim.posts("tiktok") == []
    run = await drive(lambda: TikTokAdapter(http, timeout=5), resumed)
    puts = requests(sim, "/video/")
    assert len(puts) == 3  # chunk 1, chunk 2 cut, chunk 2 again
    [post] = sim.posts("tiktok")
    assert post["media"][0]["size"] == 21 * MIB and run.result.remote_id == post["id"]
    inits = requests(sim, "/v2/post/publish/video/init/")
    assert len(inits) == 1


async def test_every_step_by_a_fresh_instance(http, simulator_url, sim, clip) -> None:
    run = await drive(lambda: TikTokAdapter(http, timeout=5), job(account(simulator_url), "x", video(clip)))
    assert [p["id"] for p in sim.posts("tiktok")] == [run.result.remote_id]


async def test_a_video_is_sent_even_when_it_has_a_url(adapter, simulator_url, sim, clip) -> None:
    files = FileServer()
    files.files["clip.mp4"] = (clip, "video/mp4")
    with files.running() as origin:
        run = await drive(
            adapter, job(account(simulator_url), "sent", video(clip, fetch_url=f"{origin}/clip.mp4"))
        )
    assert run.states[0]["publish_id"].startswith("v_pub_file~")
    assert files.fetched == []  # never pulled: that needs a domain verified with TikTok
    [post] = sim.posts("tiktok")
    assert post["media"][0]["size"] == len(clip) and run.result.remote_id == post["id"]


async def test_photos_are_pulled(adapter, simulator_url, sim) -> None:
    files = FileServer()
    files.files["a.jpg"] = (photo_bytes((120, 90)), "image/jpeg")
    files.files["b.jpg"] = (photo_bytes((90, 120), seed=2), "image/jpeg")
    with files.running() as origin:
        photos = [
            media_file(files.files[n][0], "image/jpeg", fetch_url=f"{origin}/{n}", media_id=n)
            for n in ("a.jpg", "b.jpg")
        ]
        run = await drive(adapter, job(account(simulator_url), "Two photos\nand more words", *photos))
    assert run.states[0]["publish_id"].startswith("p_pub_url~")
    [post] = sim.posts("tiktok")
    assert [(m["type"], m["width"]) for m in post["media"]] == [("image", 120), ("image", 90)]
    assert "/photo/" in (run.result.url or "")


async def test_private_post_has_no_public_id(adapter, simulator_url, sim, clip) -> None:
    run = await drive(adapter, job(account(simulator_url), "me only", video(clip), viewerSetting="SELF_ONLY"))
    assert run.result.remote_id.startswith("v_pub_file~") and run.result.url is None
    assert len(sim.posts("tiktok")) == 1


# ----- checks before sending ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("media", "settings", "message"),
    [
        ((), {}, "TikTok posts require a video"),
        (("short",), {}, "must last 3 s to 10 min; this one lasts 1 s"),
        (("slow-fps",), {}, "at least 23 frames per second; this one has 15"),
        (("png",), {}, "must be JPEG or WebP"),
        (("ok",), {"commercialContent": True}, "commercialContent is true: set brandOrganic"),
        (
            ("ok",),
            {"commercialContent": True, "brandedContent": True, "viewerSetting": "SELF_ONLY"},
            "Branded content cannot be private",
        ),
        (("ok",), {"viewerSetting": ""}, "TikTok requires selecting who can view your post"),
    ],
)
async def test_refused_before_anything_is_sent(
    adapter, simulator_url, sim, clip, media, settings, message
) -> None:
    files = {
        "short": video(clip, duration=1.0),
        "slow-fps": video(clip, frame_rate=15.0),
        "png": media_file(image_bytes(), "image/png", fetch_url="http://x/a.png"),
        "ok": video(clip),
    }
    error = await refused(adapter, job(account(simulator_url), "x", *[files[m] for m in media], **settings))
    assert error.code is ErrorCode.INVALID_CONTENT and not error.retryable
    assert message in error.message
    assert requests(sim) == []


@pytest.mark.parametrize(
    ("options", "settings", "message"),
    [
        ({"private": True}, {}, "viewerSetting PUBLIC_TO_EVERYONE; it allows: FOLLOWER_OF_CREATOR"),
        ({"comment_disabled": True}, {}, "set platformSettings.tiktok.allowComments to false"),
        ({"duet_disabled": True}, {"allowDuet": True}, "set platformSettings.tiktok.allowDuet to false"),
        ({"stitch_disabled": True}, {"allowStitch": True}, "allowStitch to false"),
        ({"max_video_post_duration_sec": 3}, {}, "at most 3 s; this one lasts 3.2 s"),
    ],
)
async def test_refused_by_the_creators_options(
    adapter, simulator_url, sim, clip, options, settings, message
) -> None:
    c = account(simulator_url)
    creator(simulator_url, c, **options)
    error = await refused(adapter, job(c, "x", video(clip), **settings))
    assert error.code is ErrorCode.INVALID_CONTENT and message in error.message
    assert requests(sim, "/v2/post/publish/video/init/") == []


async def test_switches_are_not_inverted(adapter, simulator_url, sim, clip) -> None:
    """A creator with comments, duets and stitches off: allow*=false must send disable_*=true, which
    the fake requires."""
    c = account(simulator_url)
    creator(simulator_url, c, comment_disabled=True, duet_disabled=True, stitch_disabled=True, private=True)
    settings = {"allowComments": False, "viewerSetting": "FOLLOWER_OF_CREATOR"}
    await drive(adapter, job(c, "quiet", video(clip), **settings))
    assert len(sim.posts("tiktok")) == 1


async def test_platform_measures_what_the_metadata_hides(adapter, simulator_url, sim) -> None:
    """Metadata claiming 5 s on a 1 s file: TikTok's own check fails it."""
    error = await refused(
        adapter, job(account(simulator_url), "x", video(video_bytes(seconds=1.0), duration=5.0))
    )
    assert error.code is ErrorCode.INVALID_CONTENT and error.platform_error == "duration_check_failed"
    assert sim.posts("tiktok") == []


# ----- faults ------------------------------------------------------------------------------------------


async def test_media_processing_failed(adapter, simulator_url, sim, clip) -> None:
    error = await refused(
        adapter, job(account(simulator_url), "x #sandbox:media-processing-failed", video(clip))
    )
    assert error.code is ErrorCode.INVALID_CONTENT and error.platform_error == "file_format_check_failed"
    assert sim.posts("tiktok") == []


async def test_media_slow_keeps_checking(adapter, simulator_url, sim, clip) -> None:
    run = await drive(adapter, job(account(simulator_url), "x #sandbox:media-slow", video(clip)))
    polls = [s for s in run.states if s["step"] == "status"]
    assert len(polls) >= 3 and polls[-1]["polls"] >= 3
    assert len(sim.posts("tiktok")) == 1


async def test_auth_expired_is_refreshable(adapter, simulator_url, clip) -> None:
    error = await refused(adapter, job(account(simulator_url), "x #sandbox:auth-expired", video(clip)))
    assert error.code is ErrorCode.PLATFORM_AUTH_EXPIRED and error.refreshable and error.status == 401
    assert error.platform_error and error.platform_error.startswith("access_token_invalid")


async def test_rate_limit_once(adapter, simulator_url, sim, clip) -> None:
    c = account(simulator_url)
    j = job(c, "x #sandbox:rate-limit-once", video(clip))
    error = await refused(adapter, j)
    assert error.code is ErrorCode.RATE_LIMITED and error.status == 429 and error.retryable
    assert error.retry_at is not None and error.retry_at < datetime.now(UTC) + timedelta(seconds=5)
    await drive(adapter, j)
    assert len(sim.posts("tiktok")) == 1


async def test_server_error_once(adapter, simulator_url, sim, clip) -> None:
    j = job(account(simulator_url), "x #sandbox:server-error-once", video(clip))
    error = await refused(adapter, j)
    assert error.code is ErrorCode.PLATFORM_SERVER_ERROR and error.retryable and not error.maybe_published
    await drive(adapter, j)
    assert len(sim.posts("tiktok")) == 1


async def test_lost_answer_to_the_last_chunk(http, simulator_url, sim, clip) -> None:
    """The final PUT is stored but its answer stalls: the retry from the stored state polls."""
    adapter = TikTokAdapter(http, timeout=HASTY)
    j = job(account(simulator_url), "x #sandbox:timeout-after-commit", video(clip))
    started = await adapter.publish(j)
    assert isinstance(started, InProgress)
    j = dataclasses.replace(j, state=started.state)
    with pytest.raises(PlatformError) as info:
        await adapter.publish(j)
    assert info.value.code is ErrorCode.TIMEOUT_ERROR and info.value.maybe_published
    run = await drive(adapter, j)
    [post] = sim.posts("tiktok")
    assert run.result.remote_id == post["id"]
    assert len(requests(sim, "/video/")) == 1


async def test_daily_post_limit(adapter, simulator_url, clip) -> None:
    c = account(simulator_url)
    for n in range(3):
        await adapter.publish(job(c, f"post {n}", video(clip)))
    error = await refused(adapter, job(c, "one too many", video(clip)))
    assert error.code is ErrorCode.RATE_LIMITED and error.status == 403
    assert error.retry_at is not None and error.retry_at.time().isoformat() == "00:00:00"
    assert error.retry_at - datetime.now(UTC) <= timedelta(days=1)


async def test_expired_upload_url_starts_again(adapter, simulator_url, sim, clip) -> None:
    j = job(account(simulator_url), "x", video(clip))
    started = await adapter.publish(j)
    assert isinstance(started, InProgress)
    spoiled = {
        **started.state,
        "upload_url": started.state["upload_url"].replace("upload_token=", "upload_token=x"),
    }
    again = await adapter.publish(dataclasses.replace(j, state=spoiled))
    assert isinstance(again, InProgress) and again.state["restarts"] == 1
    assert again.state["publish_id"] != started.state["publish_id"]
    await drive(adapter, dataclasses.replace(j, state=again.state))
    assert len(sim.posts("tiktok")) == 1


# ----- reconciliation, credentials ------------------------------------------------------------------


async def test_find_published_matches_caption_and_time(adapter, simulator_url, clip) -> None:
    c = account(simulator_url)
    since = datetime.now(UTC)
    run = await drive(adapter, job(c, "find me", video(clip)))
    looked = dataclasses.replace(job(c, "find me"), since=since)
    found = await adapter.find_published(looked)
    assert found is not None and found.remote_id == run.result.remote_id
    assert await adapter.find_published(dataclasses.replace(looked, part=PostPart("other"))) is None
    later = dataclasses.replace(looked, since=datetime.now(UTC) + timedelta(hours=1))
    assert await adapter.find_published(later) is None


async def test_no_lookup_without_the_video_list_scope(adapter, simulator_url, clip) -> None:
    c = account(simulator_url)
    await drive(adapter, job(c, "find me", video(clip)))
    creator(simulator_url, c, video_list_granted=False)
    assert await adapter.find_published(job(c, "find me")) is None


async def test_refresh_rotates_the_refresh_token(adapter, simulator_url, clip) -> None:
    c = account(simulator_url)
    past = str(int((datetime.now(UTC) - timedelta(minutes=1)).timestamp()))
    expired = dataclasses.replace(c, secrets=c.secrets.merged(access_expires_at=past))
    assert adapter.needs_refresh(expired, datetime.now(UTC))
    assert not adapter.needs_refresh(c, datetime.now(UTC))
    fresh = await adapter.refresh(expired)
    assert fresh.secrets["refresh_token"] != c.secrets["refresh_token"]
    assert fresh.secrets["access_token"] != c.secrets["access_token"]
    access_ends = datetime.fromtimestamp(int(fresh.secrets["access_expires_at"]), UTC)
    assert access_ends > datetime.now(UTC) + timedelta(hours=23)
    assert fresh.expires_at is not None and fresh.expires_at > datetime.now(UTC) + timedelta(days=179)
    assert set(fresh.scopes) == {"user.info.basic", "video.publish", "video.list"}
    with pytest.raises(PlatformError) as info:
        await adapter.refresh(expired)  # the old refresh token is spent
    assert info.value.code is ErrorCode.PLATFORM_AUTH_EXPIRED and not info.value.refreshable
    assert info.value.platform_error and info.value.platform_error.startswith("invalid_grant")
    await drive(adapter, job(fresh, "after refresh", video(clip)))


async def test_refresh_without_app_credentials(adapter, simulator_url) -> None:
    c = account(simulator_url)
    c = dataclasses.replace(c, secrets=c.secrets.merged(client_key=None, client_secret=None))
    with pytest.raises(PlatformError) as info:
        await adapter.refresh(c)
    assert info.value.code is ErrorCode.UNKNOWN_ERROR and "POSTPOST_TIKTOK_CLIENT_ID" in info.value.message
    app_adapter = TikTokAdapter(adapter.http, app={"client_id": "ck", "client_secret": "cs"})
    assert (await app_adapter.refresh(c)).secrets["refresh_token"] != c.secrets["refresh_token"]


async def test_expired_access_token_is_refused(adapter, simulator_url, clip) -> None:
    c = account(simulator_url)
    stale = f"act.{c.account_id}.{int(datetime.now(UTC).timestamp()) - 10}.x"
    c = dataclasses.replace(c, secrets=c.secrets.merged(access_token=stale))
    error = await refused(adapter, job(c, "x", video(clip)))
    assert error.code is ErrorCode.PLATFORM_AUTH_EXPIRED and error.refreshable


async def test_check_connection(adapter, simulator_url) -> None:
    c = account(simulator_url)
    check = await adapter.check_connection(c)
    assert check.ok and check.username == c.username and check.message == f"Connected as {c.username}"
    bad = dataclasses.replace(c, secrets=c.secrets.merged(access_token="nonsense"))
    with pytest.raises(PlatformError) as info:
        await adapter.check_connection(bad)
    assert info.value.refreshable
