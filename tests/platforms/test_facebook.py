"""Facebook Pages adapter against the simulator over real HTTP."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
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
)
from postpost.platforms.descriptor import Reconciliation
from postpost.platforms.facebook import DESCRIPTOR, FacebookAdapter
from postpost.platforms.registry import adapter_classes
from tests.media.files import image_bytes, photo_bytes, video_bytes
from tests.platforms.conftest import HASTY, Sim, creds_of, media_file
from tests.platforms.graph_helpers import drive, large_video, own_simulator


def creds(url: str, page: str | None = None) -> Credentials:
    page = page or DESCRIPTOR.sandbox_account().account_id
    base = url if url.endswith("/facebook") else f"{url}/facebook"
    return creds_of(page, base, {"access_token": f"sandbox.{page}.tok"}, f"Sandbox Page {page[-4:]}")


@pytest.fixture
def adapter(http: aiohttp.ClientSession) -> FacebookAdapter:
    return FacebookAdapter(http, timeout=5)


@pytest.fixture
def c(simulator_url: str) -> Credentials:
    return creds(simulator_url)


def job(text: str, c: Credentials, *media: Any, **kw: Any) -> PublishJob:
    return PublishJob(PostPart(text, tuple(media)), c, kw.pop("key", "k"), **kw)


async def failure(adapter: FacebookAdapter, j: PublishJob) -> PlatformError:
    with pytest.raises(PlatformError) as info:
        await drive(adapter, j)
    return info.value


async def node(http: aiohttp.ClientSession, c: Credentials, node_id: str, fields: str) -> dict[str, Any]:
    url = f"{c.base_url}/v23.0/{node_id}"
    async with http.get(url, params={"fields": fields, "access_token": c.secrets["access_token"]}) as r:
        return dict(await r.json())


def test_descriptor() -> None:
    assert adapter_classes()["facebook"] is FacebookAdapter
    assert DESCRIPTOR.text.limit == 63206 and not DESCRIPTOR.text.threads
    assert DESCRIPTOR.reconciliation is Reconciliation.LOOKUP
    assert (DESCRIPTOR.media.max_images, DESCRIPTOR.media.max_videos) == (10, 1)
    assert not DESCRIPTOR.media.mix_images_and_videos
    assert DESCRIPTOR.media.convert == {"image/webp": "image/jpeg"}
    assert DESCRIPTOR.endpoints["video"] == "https://graph-video.facebook.com"
    account = DESCRIPTOR.sandbox_account()
    assert account.expires_at is None and account.username == f"Sandbox Page {account.account_id[-4:]}"


async def test_text_post_with_its_link(
    adapter: FacebookAdapter, c: Credentials, sim: Sim, http: aiohttp.ClientSession
) -> None:
    published = await adapter.publish(job("Read this: https://example.com/news/1.", c))
    assert isinstance(published, Published)
    page, _, story = published.remote_id.partition("_")
    assert page == c.account_id and published.url == f"https://www.facebook.com/{page}/posts/{story}"
    assert (await node(http, c, published.remote_id, "message,link"))["link"] == "https://example.com/news/1"
    assert sim.posts("facebook") == [
        {
            "platform": "facebook",
            "account": c.account_id,
            "id": published.remote_id,
            "text": "Read this: https://example.com/news/1.",
            "replyTo": None,
            "media": [],
        }
    ]


async def test_the_same_message_twice_is_refused(adapter: FacebookAdapter, c: Credentials, sim: Sim) -> None:
    await drive(adapter, job("same words", c))
    err = await failure(adapter, job("same words", c))
    assert err.code is ErrorCode.INVALID_CONTENT and not err.retryable
    assert err.platform_error == "(#506) Duplicate status message"
    assert "identical to the last one you posted" in err.message
    assert len(sim.posts("facebook")) == 1


async def test_one_photo_with_its_message(adapter: FacebookAdapter, c: Credentials, sim: Sim) -> None:
    data = photo_bytes((200, 100))
    published, steps = await drive(adapter, job("a photo", c, media_file(data, "image/jpeg")))
    assert steps == 1
    [post] = sim.posts("facebook")
    assert post["id"] == published.remote_id and post["text"] == "a photo"
    assert post["media"] == [
        {"type": "image", "mimeType": "image/jpeg", "size": len(data), "width": 200, "height": 100}
    ]


async def test_album_of_photos(adapter: FacebookAdapter, c: Credentials, sim: Sim) -> None:
    images = [media_file(image_bytes(size=(20 + i, 20)), "image/png", media_id=f"m{i}") for i in range(3)]
    published, _ = await drive(adapter, job("three", c, *images))
    [post] = sim.posts("facebook")
    assert post["id"] == published.remote_id
    assert [m["width"] for m in post["media"]] == [20, 21, 22]


async def test_small_video_in_one_upload_then_processing(
    http: aiohttp.ClientSession, c: Credentials, sim: Sim
) -> None:
    data = video_bytes(seconds=1.0)
    video = media_file(data, "video/mp4")
    first = await FacebookAdapter(http, timeout=5).publish(job("a video", c, video))
    assert isinstance(first, InProgress) and first.state["processing"] is True
    published, _ = await drive(FacebookAdapter(http, timeout=5), job("a video", c, video, state=first.state))
    assert published.remote_id == f"{c.account_id}_{first.state['video']}"
    assert published.url == f"https://www.facebook.com/{c.account_id}/videos/{first.state['video']}"
    [post] = sim.posts("facebook")
    assert post["id"] == published.remote_id
    assert post["media"][0] | {"duration": 1} == {
        "type": "video",
        "mimeType": "video/mp4",
        "size": len(data),
        "width": 64,
        "height": 48,
        "duration": 1,
    }


async def resumable(http: aiohttp.ClientSession) -> FacebookAdapter:
    adapter = FacebookAdapter(http, timeout=5)
    adapter.resumable_above = 1024
    return adapter


async def test_resumable_upload_in_chunks_across_fresh_adapters(http: aiohttp.ClientSession) -> None:
    data = video_bytes(seconds=2.0)
    assert len(data) > 9 * 256
    video = media_file(data, "video/mp4")
    with own_simulator(options={"facebook": {"chunk_bytes": 256}}) as url:
        c = creds(url)
        j = job("big video", c, video)
        result = await (await resumable(http)).publish(j)
        assert isinstance(result, InProgress) and result.state["session"] and result.state["start"] == 0
        states = [result.state]
        while isinstance(result, InProgress):
            result = await (await resumable(http)).publish(dataclasses.replace(j, state=result.state))
            states.append(result.state if isinstance(result, InProgress) else {})
        assert isinstance(result, Published)
        assert [s.get("start") for s in states[1:3]] == [8 * 256, 16 * 256]  # progress kept every 8 chunks
        posts = Sim(url).posts("facebook")
        assert [(p["id"], p["media"][0]["size"]) for p in posts] == [(result.remote_id, len(data))]


async def test_large_video_in_facebooks_own_chunks(
    http: aiohttp.ClientSession, c: Credentials, sim: Sim
) -> None:
    data = large_video()  # about 5 MB: two chunks of the 4 MB Facebook asks for
    adapter = await resumable(http)
    published, steps = await drive(adapter, job("large", c, media_file(data, "video/mp4")))
    assert steps == 3  # start; both chunks, finish and a first read; ready
    [post] = sim.posts("facebook")
    assert post["id"] == published.remote_id and post["media"][0]["size"] == len(data)


async def test_interrupted_upload_resumes_from_the_stored_offset(http: aiohttp.ClientSession) -> None:
    data = video_bytes(seconds=1.0)
    video = media_file(data, "video/mp4")
    with own_simulator(options={"facebook": {"chunk_bytes": 1024}}) as url:
        c = creds(url)
        Sim(url).fault("facebook", c.account_id, "upload-interrupted")
        j = job("cut", c, video)
        started = await (await resumable(http)).publish(j)
        assert isinstance(started, InProgress)
        with pytest.raises(PlatformError) as info:
            await (await resumable(http)).publish(dataclasses.replace(j, state=started.state))
        assert info.value.code is ErrorCode.NETWORK_ERROR and info.value.retryable
        assert not info.value.maybe_published
        published, _ = await drive(await resumable(http), dataclasses.replace(j, state=started.state))
        [post] = Sim(url).posts("facebook")
        assert post["id"] == published.remote_id and post["media"][0]["size"] == len(data)


async def test_unsure_finish_is_looked_up(http: aiohttp.ClientSession, c: Credentials, sim: Sim) -> None:
    video = media_file(video_bytes(), "video/mp4")
    adapter = await resumable(http)
    since = datetime.now(UTC)
    started = await adapter.publish(job("finish lost", c, video, since=since))
    assert isinstance(started, InProgress)
    published, _ = await drive(adapter, job("finish lost", c, video, state=started.state, since=since))
    again = await adapter.publish(job("finish lost", c, video, state=started.state, since=since, unsure=True))
    assert again == Published(
        published.remote_id, f"https://www.facebook.com/{c.account_id}/posts/{started.state['video']}"
    )
    assert len(sim.posts("facebook")) == 1


async def test_video_media_markers(adapter: FacebookAdapter, c: Credentials) -> None:
    video = media_file(video_bytes(), "video/mp4")
    _published, steps = await drive(adapter, job("#sandbox:media-slow", c, video))
    assert steps == 4  # upload and three reads in progress, then one ready
    err = await failure(adapter, job("#sandbox:media-processing-failed", c, video))
    assert err.code is ErrorCode.INVALID_CONTENT and err.platform_error == "The video could not be processed"


async def test_photo_processing_failure(adapter: FacebookAdapter, c: Credentials, sim: Sim) -> None:
    image = media_file(image_bytes(), "image/png")
    err = await failure(adapter, job("#sandbox:media-processing-failed", c, image))
    assert (
        err.code is ErrorCode.INVALID_CONTENT and err.platform_error == "(#324) Missing or invalid image file"
    )
    err = await failure(adapter, job("#sandbox:media-processing-failed", c, image, image))
    assert err.code is ErrorCode.INVALID_CONTENT
    assert sim.posts("facebook") == []


async def test_video_rules(adapter: FacebookAdapter, c: Credentials, sim: Sim) -> None:
    video = media_file(video_bytes(), "video/mp4")
    image = media_file(image_bytes(), "image/png", media_id="m2")
    err = await failure(adapter, job("two videos", c, video, dataclasses.replace(video, id="m3")))
    assert err.code is ErrorCode.INVALID_CONTENT and err.message == "Facebook posts take at most one video"
    err = await failure(adapter, job("mixed", c, image, video))
    assert err.message == "Facebook posts take photos or one video, not both"
    not_a_video = media_file(b"\x00" * 2000, "video/mp4")
    err = await failure(adapter, job("garbage", c, not_a_video))
    assert (
        err.code is ErrorCode.INVALID_CONTENT
        and err.platform_error is not None
        and "(#352)" in err.platform_error
    )
    assert sim.posts("facebook") == []


@pytest.mark.parametrize(
    ("fault", "code", "status"),
    [
        ("auth-expired", ErrorCode.PLATFORM_AUTH_EXPIRED, 400),
        ("invalid-content", ErrorCode.INVALID_CONTENT, 400),
        ("rate-limited", ErrorCode.RATE_LIMITED, 400),
        ("server-error", ErrorCode.PLATFORM_SERVER_ERROR, 500),
    ],
)
async def test_refusals(
    adapter: FacebookAdapter, c: Credentials, sim: Sim, fault: str, code: ErrorCode, status: int
) -> None:
    sim.fault("facebook", c.account_id, fault)
    err = await failure(adapter, job("hello", c))
    assert (err.code, err.status) == (code, status)
    assert sim.posts("facebook") == []


@pytest.mark.parametrize("fault", ["timeout-after-commit", "server-error-after-commit"])
async def test_lost_answer_is_found_among_published_posts(
    http: aiohttp.ClientSession, c: Credentials, sim: Sim, fault: str
) -> None:
    adapter = FacebookAdapter(http, timeout=HASTY)
    since = datetime.now(UTC)
    sim.fault("facebook", c.account_id, fault)
    err = await failure(adapter, job("lost", c, media_file(image_bytes(), "image/png"), since=since))
    assert err.maybe_published and err.retryable
    [post] = sim.posts("facebook")
    found = await adapter.find_published(job("lost", c, since=since, unsure=True))
    assert found is not None and found.remote_id == post["id"]
    assert await adapter.find_published(job("other", c, since=since)) is None


async def test_too_long_and_foreign_page(
    adapter: FacebookAdapter, c: Credentials, simulator_url: str
) -> None:
    err = await failure(adapter, job("x" * 63207, c))
    assert err.code is ErrorCode.CONTENT_TOO_LARGE
    other = creds_of("123456789012345", f"{simulator_url}/facebook", c.secrets)
    err = await failure(adapter, job("not my page", other))
    assert err.code is ErrorCode.UNKNOWN_ERROR and "(code 200)" in err.message


async def test_tokens(adapter: FacebookAdapter, c: Credentials, simulator_url: str) -> None:
    assert not adapter.needs_refresh(c, datetime.now(UTC))
    with pytest.raises(PlatformError) as info:
        await adapter.refresh(c)
    assert info.value.code is ErrorCode.PLATFORM_AUTH_EXPIRED
    bad = creds_of(c.account_id, f"{simulator_url}/facebook", {"access_token": "garbage"})
    err = await failure(adapter, job("hi", bad))
    assert err.code is ErrorCode.PLATFORM_AUTH_EXPIRED and err.status == 400


async def test_check_connection(http: aiohttp.ClientSession, c: Credentials, simulator_url: str) -> None:
    for app in ({}, {"client_id": "1", "client_secret": "s"}):
        adapter = FacebookAdapter(http, timeout=5, app=app)
        check = await adapter.check_connection(c)
        assert check.ok and check.username == f"Sandbox Page {c.account_id[-4:]}"
        assert check.message == f"Connected as Sandbox Page {c.account_id[-4:]}"
        assert "pages_manage_posts" in check.permissions
    app_adapter = FacebookAdapter(http, timeout=5, app={"client_id": "1", "client_secret": "s"})
    bad = creds_of(c.account_id, f"{simulator_url}/facebook", {"access_token": "garbage"})
    check = await app_adapter.check_connection(bad)
    assert not check.ok and check.message == "Invalid OAuth access token."
    check = await FacebookAdapter(http, timeout=5).check_connection(bad)
    assert not check.ok and check.message == "Invalid OAuth access token - Cannot parse access token"
