"""Threads adapter against the simulator over real HTTP."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from postpost.platforms.base import (
    Credentials,
    ErrorCode,
    InProgress,
    PlatformError,
    PostPart,
    Published,
    PublishJob,
    ReplyTo,
)
from postpost.platforms.descriptor import Reconciliation
from postpost.platforms.registry import adapter_classes
from postpost.platforms.threads import DESCRIPTOR, ThreadsAdapter
from tests.media.files import image_bytes, photo_bytes, video_bytes
from tests.platforms.conftest import HASTY, Sim, creds_of, media_file
from tests.platforms.graph_helpers import (  # noqa: F401 - fixtures
    MediaServer,
    drive,
    media_host_fixture,
    media_server_fixture,
    own_simulator,
)


def creds(url: str, account: str | None = None) -> Credentials:
    sandbox = DESCRIPTOR.sandbox_account()
    account = account or sandbox.account_id
    base = url if url.endswith("/threads") else f"{url}/threads"
    return dataclasses.replace(
        creds_of(account, base, {"access_token": f"sandbox.{account}.tok"}), expires_at=sandbox.expires_at
    )


@pytest.fixture
def adapter(http: aiohttp.ClientSession) -> ThreadsAdapter:
    return ThreadsAdapter(http, timeout=5)


@pytest.fixture
def c(simulator_url: str) -> Credentials:
    return creds(simulator_url)


def job(text: str, c: Credentials, **kw: Any) -> PublishJob:
    media = kw.pop("media", ())
    return PublishJob(PostPart(text, tuple(media)), c, kw.pop("key", "k"), **kw)


async def failure(adapter: ThreadsAdapter, j: PublishJob) -> PlatformError:
    with pytest.raises(PlatformError) as info:
        await drive(adapter, j)
    return info.value


async def media_field(
    http: aiohttp.ClientSession, c: Credentials, media_id: str, fields: str
) -> dict[str, Any]:
    url = f"{c.base_url}/v1.0/{media_id}"
    async with http.get(url, params={"fields": fields, "access_token": c.secrets["access_token"]}) as r:
        return dict(await r.json())


def test_descriptor() -> None:
    assert adapter_classes()["threads"] is ThreadsAdapter
    assert DESCRIPTOR.text.limit == 500 and DESCRIPTOR.text.threads
    assert DESCRIPTOR.text.counter("héllo") == 5
    assert DESCRIPTOR.text.counter("hi 👋") == 3 + len("👋".encode())
    assert DESCRIPTOR.reconciliation is Reconciliation.LOOKUP
    assert DESCRIPTOR.default_settings == {"replyControl": ""}
    assert DESCRIPTOR.settings["replyControl"].allowed == (
        "",
        "everyone",
        "accounts_you_follow",
        "mentioned_only",
    )
    assert (DESCRIPTOR.media.max_images, DESCRIPTOR.media.max_videos) == (10, 1)
    assert not DESCRIPTOR.media.mix_images_and_videos
    account = DESCRIPTOR.sandbox_account()
    assert account.account_id.isdigit() and account.secrets["access_token"].startswith(
        f"sandbox.{account.account_id}."
    )
    assert account.expires_at is not None
    assert timedelta(days=59) < account.expires_at - datetime.now(UTC) <= timedelta(days=60)


async def test_text_post_in_one_step(adapter: ThreadsAdapter, c: Credentials, sim: Sim) -> None:
    published = await adapter.publish(job("Hello Threads", c))
    assert isinstance(published, Published)
    assert published.url and published.url.startswith("https://www.threads.net/@")
    assert sim.posts("threads") == [
        {
            "platform": "threads",
            "account": c.account_id,
            "id": published.remote_id,
            "text": "Hello Threads",
            "replyTo": None,
            "media": [],
        }
    ]


async def test_reply_chain(adapter: ThreadsAdapter, c: Credentials, sim: Sim) -> None:
    first, _ = await drive(adapter, job("one", c))
    second, _ = await drive(adapter, job("two", c, reply_to=ReplyTo(first, first), index=1))
    third, _ = await drive(adapter, job("three", c, reply_to=ReplyTo(first, second), index=2))
    listed = {p["id"]: p["replyTo"] for p in sim.posts("threads")}
    assert listed == {
        first.remote_id: None,
        second.remote_id: first.remote_id,
        third.remote_id: second.remote_id,
    }


async def test_reply_control(adapter: ThreadsAdapter, c: Credentials, http: aiohttp.ClientSession) -> None:
    default, _ = await drive(adapter, job("anyone", c, settings={"replyControl": ""}))
    limited, _ = await drive(adapter, job("few", c, settings={"replyControl": "mentioned_only"}))
    assert (await media_field(http, c, default.remote_id, "reply_audience"))["reply_audience"] == "EVERYONE"
    assert (await media_field(http, c, limited.remote_id, "reply_audience"))[
        "reply_audience"
    ] == "MENTIONED_ONLY"


async def test_image_fetched_from_its_url(
    adapter: ThreadsAdapter, c: Credentials, sim: Sim, media_host: MediaServer
) -> None:
    data = photo_bytes((320, 240))
    image = media_file(
        data, "image/jpeg", alt_text="a photo", fetch_url=media_host.add("p.jpg", data, "image/jpeg")
    )
    published, _ = await drive(adapter, job("with a photo", c, media=[image]))
    [post] = sim.posts("threads")
    assert post["id"] == published.remote_id
    assert post["media"] == [
        {"type": "image", "mimeType": "image/jpeg", "size": len(data), "width": 320, "height": 240}
    ]
    assert media_host.fetched == ["p.jpg"]


async def test_carousel_of_images(
    adapter: ThreadsAdapter, c: Credentials, sim: Sim, media_host: MediaServer
) -> None:
    files = [image_bytes("PNG", (40 + i, 30)) for i in range(3)]
    images = [
        media_file(
            data, "image/png", fetch_url=media_host.add(f"{i}.png", data, "image/png"), media_id=f"m{i}"
        )
        for i, data in enumerate(files)
    ]
    published, _ = await drive(adapter, job("three photos", c, media=images))
    [post] = sim.posts("threads")
    assert post["id"] == published.remote_id and post["text"] == "three photos"
    assert [m["width"] for m in post["media"]] == [40, 41, 42]
    assert {m["mimeType"] for m in post["media"]} == {"image/png"}


async def test_video_is_processed_over_several_calls_from_fresh_adapters(
    http: aiohttp.ClientSession, c: Credentials, sim: Sim, media_host: MediaServer
) -> None:
    data = video_bytes(seconds=1.0)
    video = media_file(data, "video/mp4", fetch_url=media_host.add("v.mp4", data, "video/mp4"))
    first = await ThreadsAdapter(http, timeout=5).publish(job("a video", c, media=[video]))
    assert isinstance(first, InProgress)
    assert first.check_after == timedelta(seconds=0.5)
    assert sim.posts("threads") == []
    published = await ThreadsAdapter(http, timeout=5).publish(
        job("a video", c, media=[video], state=first.state)
    )
    assert isinstance(published, Published)
    [post] = sim.posts("threads")
    assert post["media"][0]["type"] == "video" and post["media"][0]["duration"] == pytest.approx(1.0, abs=0.1)


async def test_slow_processing_polls_with_growing_delays(
    adapter: ThreadsAdapter, c: Credentials, sim: Sim
) -> None:
    j = job("take your time #sandbox:media-slow", c)
    delays = []
    result = await adapter.publish(j)
    while isinstance(result, InProgress):
        delays.append(result.check_after.total_seconds())
        result = await adapter.publish(dataclasses.replace(j, state=result.state))
    assert delays == [0.5, 1.0, 2.0]
    assert len(sim.posts("threads")) == 1


async def test_video_in_a_carousel_is_refused(
    adapter: ThreadsAdapter, c: Credentials, media_host: MediaServer
) -> None:
    image = media_file(image_bytes(), "image/png", fetch_url=media_host.url("i.png"))
    video = media_file(video_bytes(), "video/mp4", fetch_url=media_host.url("v.mp4"), media_id="m2")
    err = await failure(adapter, job("mixed", c, media=[image, video]))
    assert err.code is ErrorCode.INVALID_CONTENT and not err.retryable
    assert "carousels take images only" in err.message


async def test_media_without_a_public_url(adapter: ThreadsAdapter, c: Credentials) -> None:
    err = await failure(adapter, job("no url", c, media=[media_file(image_bytes(), "image/png")]))
    assert err.code is ErrorCode.UNKNOWN_ERROR and not err.retryable
    assert "public URL" in err.message


async def test_refused_media_url(
    adapter: ThreadsAdapter, c: Credentials, media_host: MediaServer, sim: Sim
) -> None:
    data = image_bytes()
    media_host.add("x.png", data, "image/png")
    bad = media_file(data, "image/png", fetch_url=media_host.url("x.png", signature="forged"))
    err = await failure(adapter, job("bad signature", c, media=[bad]))
    assert err.code is ErrorCode.UNKNOWN_ERROR and err.status == 400
    assert err.platform_error == "Media download has failed. The media URI doesn't meet our requirements."
    assert sim.posts("threads") == []


async def test_video_download_failure_recreates_then_gives_up(
    adapter: ThreadsAdapter, c: Credentials, media_host: MediaServer, sim: Sim
) -> None:
    video = media_file(video_bytes(), "video/mp4", fetch_url=media_host.url("missing.mp4"))
    err = await failure(adapter, job("gone", c, media=[video]))
    assert err.code is ErrorCode.PLATFORM_SERVER_ERROR and not err.retryable
    assert "FAILED_DOWNLOADING_VIDEO" in err.message
    assert media_host.fetched == ["missing.mp4"] * 3  # the first container and two more
    assert sim.posts("threads") == []


@pytest.mark.parametrize(
    ("text", "code", "detail"),
    [
        ("broken #sandbox:media-processing-failed", ErrorCode.UNKNOWN_ERROR, "UNKNOWN"),
        ("x" * 501, ErrorCode.CONTENT_TOO_LARGE, "Param text must be at most 500 characters long."),
        ("👋" * 126, ErrorCode.CONTENT_TOO_LARGE, "Param text must be at most 500 characters long."),
        (" ".join(f"https://e.com/{i}" for i in range(6)), ErrorCode.INVALID_CONTENT, None),
        ("nope #sandbox:invalid-content", ErrorCode.INVALID_CONTENT, "Invalid parameter"),
    ],
)
async def test_refused_content(
    adapter: ThreadsAdapter, c: Credentials, sim: Sim, text: str, code: ErrorCode, detail: str | None
) -> None:
    err = await failure(adapter, job(text, c))
    assert err.code is code and not err.retryable
    if detail is not None:
        assert err.platform_error == detail
    assert sim.posts("threads") == []


async def test_video_processing_failure_is_invalid_content(
    adapter: ThreadsAdapter, c: Credentials, media_host: MediaServer
) -> None:
    data = video_bytes()
    video = media_file(data, "video/mp4", fetch_url=media_host.add("v.mp4", data, "video/mp4"))
    err = await failure(adapter, job("#sandbox:media-processing-failed", c, media=[video]))
    assert err.code is ErrorCode.INVALID_CONTENT and err.platform_error == "FAILED_PROCESSING_VIDEO"


async def test_auth_errors(adapter: ThreadsAdapter, c: Credentials, simulator_url: str) -> None:
    err = await failure(adapter, job("expired #sandbox:auth-expired", c))
    assert (err.code, err.status, err.refreshable) == (ErrorCode.PLATFORM_AUTH_EXPIRED, 400, False)
    assert err.platform_error is not None and err.platform_error.startswith("Error validating access token")
    bad = creds_of(c.account_id, f"{simulator_url}/threads", {"access_token": "garbage"})
    err = await failure(adapter, job("hi", bad))
    assert err.code is ErrorCode.PLATFORM_AUTH_EXPIRED
    assert err.platform_error == "Invalid OAuth access token - Cannot parse access token"
    none = creds_of(c.account_id, f"{simulator_url}/threads", {})
    assert (await failure(adapter, job("hi", none))).code is ErrorCode.PLATFORM_AUTH_EXPIRED


async def test_transient_failures(adapter: ThreadsAdapter, c: Credentials, sim: Sim) -> None:
    sim.fault("threads", c.account_id, "rate-limited")
    err = await failure(adapter, job("busy", c))
    assert err.code is ErrorCode.RATE_LIMITED and err.retryable and err.status == 400
    assert err.retry_at is None  # the sandbox's hold is under a minute: Meta counts minutes
    sim.fault("threads", c.account_id, "server-error")
    err = await failure(adapter, job("busy", c))
    assert err.code is ErrorCode.PLATFORM_SERVER_ERROR and err.retryable and err.status == 500
    assert not err.maybe_published  # a container is not a post
    await drive(adapter, job("busy", c))
    assert len(sim.posts("threads")) == 1


async def test_rate_limit_reset_in_minutes(http: aiohttp.ClientSession) -> None:
    with own_simulator(hold_seconds=180) as url:
        c = creds(url)
        before = datetime.now(UTC)
        err = await failure(ThreadsAdapter(http, timeout=5), job("#sandbox:rate-limit-once", c))
        assert err.code is ErrorCode.RATE_LIMITED
        assert err.retry_at is not None
        assert before + timedelta(minutes=3) <= err.retry_at <= datetime.now(UTC) + timedelta(minutes=3)


@pytest.mark.parametrize("fault", ["timeout-after-commit", "server-error-after-commit"])
async def test_lost_answer_is_found_by_lookup(
    http: aiohttp.ClientSession, c: Credentials, sim: Sim, fault: str
) -> None:
    adapter = ThreadsAdapter(http, timeout=HASTY)
    since = datetime.now(UTC)
    sim.fault("threads", c.account_id, fault)
    err = await failure(adapter, job("lost answer", c, since=since))
    assert err.maybe_published and err.retryable
    assert err.code in (ErrorCode.TIMEOUT_ERROR, ErrorCode.PLATFORM_SERVER_ERROR)
    [post] = sim.posts("threads")
    found = await adapter.find_published(job("lost answer", c, since=since, unsure=True))
    assert found is not None and found.remote_id == post["id"] and found.url
    assert await adapter.find_published(job("something else", c, since=since)) is None
    later = datetime.now(UTC) + timedelta(hours=1)
    assert await adapter.find_published(job("lost answer", c, since=later)) is None


async def test_unsure_with_a_published_container_is_not_sent_again(
    http: aiohttp.ClientSession, c: Credentials, sim: Sim, media_host: MediaServer
) -> None:
    data = video_bytes()
    video = media_file(data, "video/mp4", fetch_url=media_host.add("v.mp4", data, "video/mp4"))
    adapter = ThreadsAdapter(http, timeout=HASTY)
    since = datetime.now(UTC)
    waiting = await adapter.publish(job("video post", c, media=[video], since=since))
    assert isinstance(waiting, InProgress)
    sim.fault("threads", c.account_id, "timeout-after-commit")  # not drawn: the container exists
    published, _ = await drive(adapter, job("video post", c, media=[video], state=waiting.state, since=since))
    again = await adapter.publish(
        job("video post", c, media=[video], state=waiting.state, since=since, unsure=True)
    )
    assert again == published
    assert len(sim.posts("threads")) == 1


async def test_unsure_carousel_without_its_container_looks_up_first(
    adapter: ThreadsAdapter, c: Credentials, sim: Sim, media_host: MediaServer
) -> None:
    images = [
        media_file(d, "image/png", fetch_url=media_host.add(f"{i}.png", d, "image/png"), media_id=f"m{i}")
        for i, d in enumerate([image_bytes(), image_bytes(color=(1, 2, 3))])
    ]
    since = datetime.now(UTC)
    published, _ = await drive(adapter, job("album", c, media=images, since=since))
    children_only = {"started": time.time(), "items": [{"id": "1"}, {"id": "2"}]}
    again = await adapter.publish(
        job("album", c, media=images, since=since, unsure=True, state=children_only)
    )
    assert isinstance(again, Published) and again.remote_id == published.remote_id
    assert len(sim.posts("threads")) == 1


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_expired_container_is_made_again(http: aiohttp.ClientSession, media_host: MediaServer) -> None:
    clock = Clock()
    data = video_bytes()
    video = media_file(data, "video/mp4", fetch_url=media_host.add("v.mp4", data, "video/mp4"))
    with own_simulator(clock=clock) as url:
        c = creds(url)
        adapter = ThreadsAdapter(http, timeout=5)
        first = await adapter.publish(job("late", c, media=[video]))
        assert isinstance(first, InProgress)
        clock.now += 25 * 3600  # containers expire after a day
        published, _ = await drive(adapter, job("late", c, media=[video], state=first.state))
        assert published.remote_id
        assert media_host.fetched == ["v.mp4", "v.mp4"]


async def test_publishing_limits(http: aiohttp.ClientSession) -> None:
    with own_simulator(options={"threads": {"posts_per_day": 1, "replies_per_day": 1}}) as url:
        c = creds(url)
        adapter = ThreadsAdapter(http, timeout=5)
        head, _ = await drive(adapter, job("one", c))
        err = await failure(adapter, job("two", c))
        assert err.code is ErrorCode.RATE_LIMITED and err.retryable
        assert err.message == "Threads publishing limit reached: 1 of 1 posts in the last 24 hours"
        assert err.retry_at is not None and err.retry_at > datetime.now(UTC) + timedelta(hours=23)
        await drive(adapter, job("reply", c, reply_to=ReplyTo(head, head)))  # replies have their own quota
        err = await failure(adapter, job("reply 2", c, reply_to=ReplyTo(head, head)))
        assert err.code is ErrorCode.RATE_LIMITED


async def test_refresh(adapter: ThreadsAdapter, c: Credentials, simulator_url: str) -> None:
    now = datetime.now(UTC)
    assert not adapter.needs_refresh(c, now)
    assert adapter.needs_refresh(c, now + timedelta(days=31))
    assert not adapter.needs_refresh(dataclasses.replace(c, expires_at=None), now)
    fresh = await adapter.refresh(c)
    assert fresh.secrets["access_token"] != c.secrets["access_token"]
    assert fresh.secrets["access_token"].startswith(f"sandbox.{c.account_id}.")
    assert fresh.expires_at is not None and fresh.expires_at - now > timedelta(days=59)
    await drive(adapter, job("with the new token", fresh))
    await drive(adapter, job("old token still works", c))  # not rotating
    bad = creds_of(c.account_id, f"{simulator_url}/threads", {"access_token": "garbage"})
    with pytest.raises(PlatformError) as info:
        await adapter.refresh(bad)
    assert info.value.code is ErrorCode.PLATFORM_AUTH_EXPIRED


async def test_check_connection(adapter: ThreadsAdapter, c: Credentials, simulator_url: str) -> None:
    check = await adapter.check_connection(c)
    assert check.ok and check.username == f"sandbox_{c.account_id[-8:]}"
    assert check.message == f"Connected as sandbox_{c.account_id[-8:]}"
    assert list(check.permissions) == ["threads_basic", "threads_content_publish", "threads_manage_replies"]
    bad = creds_of(c.account_id, f"{simulator_url}/threads", {"access_token": "garbage"})
    check = await adapter.check_connection(bad)
    assert not check.ok and check.message == "Invalid OAuth access token - Cannot parse access token"


async def test_processing_that_never_ends_times_out(adapter: ThreadsAdapter, c: Credentials) -> None:
    stale = {"started": time.time() - 3601, "items": [{"id": "1"}], "container": "1"}
    err = await failure(adapter, job("forever", c, state=stale))
    assert err.code is ErrorCode.TIMEOUT_ERROR and not err.retryable
