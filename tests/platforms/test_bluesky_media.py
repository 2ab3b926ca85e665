"""Bluesky media against the simulator over real HTTP: blobs, the video service, faults, limits."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import urllib.parse
import urllib.request
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
    Published,
    PublishJob,
    ReplyTo,
)
from postpost.platforms.bluesky import BlueskyAdapter, rkey_for
from tests.media.files import image_bytes, photo_bytes, video_bytes
from tests.platforms.conftest import HASTY, Sim, control, find, media_file, ready
from tests.platforms.media_flow import drive, padded_mp4
from tests.platforms.test_bluesky import base_creds

XRPC = "/xrpc/"


@pytest.fixture
def adapter(http: aiohttp.ClientSession) -> BlueskyAdapter:
    return BlueskyAdapter(http, timeout=5)


@pytest.fixture
async def creds(adapter: BlueskyAdapter, simulator_url: str) -> Credentials:
    return await ready(adapter, base_creds(simulator_url))


def job(c: Credentials, text: str, *media: MediaFile, key: str = "k", **kw: Any) -> PublishJob:
    return PublishJob(PostPart(text, tuple(media)), c, key, **kw)


def record_of(simulator_url: str, uri: str) -> dict[str, Any]:
    did, collection, rkey = uri.removeprefix("at://").split("/")
    query = urllib.parse.urlencode({"repo": did, "collection": collection, "rkey": rkey})
    url = f"{simulator_url}/bluesky/xrpc/com.atproto.repo.getRecord?{query}"
    with urllib.request.urlopen(url, timeout=5) as r:
        value: dict[str, Any] = json.loads(r.read())["value"]
        return value


def calls(simulator_url: str, method: str) -> int:
    """How many times the fake Bluesky received XRPC `method`."""
    path = urllib.parse.quote(f"{XRPC}{method}")
    return len(control(simulator_url, "GET", f"/requests?platform=bluesky&path={path}")["requests"])


async def publish_error(adapter: BlueskyAdapter, j: PublishJob) -> PlatformError:
    with pytest.raises(PlatformError) as info:
        await drive(adapter, j)
    return info.value


async def test_one_image_with_alt_text_and_aspect_ratio(
    adapter: BlueskyAdapter, creds: Credentials, simulator_url: str, sim: Sim
) -> None:
    photo = photo_bytes((320, 200))
    item = media_file(photo, "image/jpeg", width=320, height=200, alt_text="A sunset over the sea")
    result = await adapter.publish(job(creds, "Evening", item))
    assert isinstance(result, Published)  # an image needs no processing step
    embed = record_of(simulator_url, result.remote_id)["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    [image] = embed["images"]
    assert image["alt"] == "A sunset over the sea"
    assert image["aspectRatio"] == {"width": 320, "height": 200}
    assert image["image"]["mimeType"] == "image/jpeg" and image["image"]["size"] == len(photo)
    assert image["image"]["ref"]["$link"].startswith("bafkrei")
    [post] = sim.posts("bluesky")
    assert post["id"] == result.remote_id
    assert post["media"] == [
        {"type": "image", "mimeType": "image/jpeg", "size": len(photo), "width": 320, "height": 200}
    ]


async def test_four_images_in_order_with_their_own_alt_texts(
    adapter: BlueskyAdapter, creds: Credentials, simulator_url: str, sim: Sim
) -> None:
    sizes = [(100, 50), (50, 100), (80, 80), (120, 90)]
    photos = [photo_bytes(size, seed=i) for i, size in enumerate(sizes)]
    items = [
        media_file(
            p, "image/jpeg", width=w, height=h, alt_text=f"picture {i}" if i != 2 else None, media_id=f"m{i}"
        )
        for i, (p, (w, h)) in enumerate(zip(photos, sizes, strict=True))
    ]
    result = await adapter.publish(job(creds, "four", *items))
    assert isinstance(result, Published)
    images = record_of(simulator_url, result.remote_id)["embed"]["images"]
    assert [i["alt"] for i in images] == ["picture 0", "picture 1", "", "picture 3"]
    assert [(i["aspectRatio"]["width"], i["aspectRatio"]["height"]) for i in images] == sizes
    [post] = sim.posts("bluesky")
    assert [(m["size"], m["width"], m["height"]) for m in post["media"]] == [
        (len(p), w, h) for p, (w, h) in zip(photos, sizes, strict=True)
    ]


async def test_video_goes_through_the_video_service_in_steps_of_fresh_adapters(
    http: aiohttp.ClientSession, creds: Credentials, simulator_url: str, sim: Sim
) -> None:
    clip = video_bytes(seconds=1.0, size=(64, 48))
    item = media_file(clip, "video/mp4", width=64, height=48, duration=1.0, alt_text="A short clip")
    run = await drive(lambda: BlueskyAdapter(http, timeout=5), job(creds, "clip", item))
    assert len(run.states) >= 2
    assert len({s["job"] for s in run.states}) == 1  # one upload; later steps read the job's status
    assert [s["polls"] for s in run.states] == list(range(len(run.states)))
    assert calls(simulator_url, "app.bsky.video.uploadVideo") == 1
    assert calls(simulator_url, "com.atproto.server.getServiceAuth") == 1
    assert calls(simulator_url, "app.bsky.video.getJobStatus") == len(run.states)
    embed = record_of(simulator_url, run.result.remote_id)["embed"]
    assert embed["$type"] == "app.bsky.embed.video"
    assert embed["alt"] == "A short clip" and embed["aspectRatio"] == {"width": 64, "height": 48}
    assert embed["video"]["mimeType"] == "video/mp4" and embed["video"]["size"] == len(clip)
    [post] = sim.posts("bluesky")
    [video] = post["media"]
    assert video["type"] == "video" and video["mimeType"] == "video/mp4" and video["size"] == len(clip)
    assert (video["width"], video["height"]) == (64, 48) and video["duration"] == pytest.approx(1.0, abs=0.1)


async def test_a_larger_video_is_streamed_whole(
    adapter: BlueskyAdapter, creds: Credentials, sim: Sim
) -> None:
    clip = padded_mp4(video_bytes(seconds=0.4), 24 * 1024 * 1024)
    await drive(adapter, job(creds, "big", media_file(clip, "video/mp4")))
    [video] = sim.posts("bluesky")[0]["media"]
    assert video["size"] == len(clip) and video["duration"] == pytest.approx(0.4, abs=0.1)


async def test_a_video_processed_before_is_reused_at_once(
    adapter: BlueskyAdapter, creds: Credentials, simulator_url: str, sim: Sim
) -> None:
    item = media_file(video_bytes(seconds=0.4), "video/mp4")
    await drive(adapter, job(creds, "first", item, key="a"))
    again = await adapter.publish(job(creds, "second", item, key="b"))
    assert isinstance(again, Published)  # "already_exists" hands back the earlier blob
    first, second = sim.posts("bluesky")
    assert first["media"] == second["media"]


async def test_queued_processing_failure_fails_the_post(
    adapter: BlueskyAdapter, creds: Credentials, sim: Sim
) -> None:
    sim.fault("bluesky", creds.account_id, "media-processing-failed")
    err = await publish_error(adapter, job(creds, "clip", media_file(video_bytes(seconds=0.4), "video/mp4")))
    assert err.code is ErrorCode.INVALID_CONTENT and not err.retryable
    assert err.platform_error == "encoding_failed: The video could not be encoded"
    assert (
        err.message == "Bluesky could not process the video: encoding_failed: The video could not be encoded"
    )
    assert sim.posts("bluesky") == []


async def test_processing_failed_marker_refuses_the_record(
    adapter: BlueskyAdapter, creds: Credentials, sim: Sim
) -> None:
    item = media_file(photo_bytes((50, 50)), "image/jpeg")
    err = await publish_error(adapter, job(creds, "pic #sandbox:media-processing-failed", item))
    assert err.code is ErrorCode.INVALID_CONTENT and err.status == 400
    assert err.platform_error == "InvalidRequest: The post's media could not be processed"
    assert sim.posts("bluesky") == []


async def test_queued_media_slow_is_a_long_wait_then_published(
    adapter: BlueskyAdapter, creds: Credentials, sim: Sim
) -> None:
    sim.fault("bluesky", creds.account_id, "media-slow")
    item = media_file(video_bytes(seconds=0.4), "video/mp4")
    run = await drive(adapter, job(creds, "slow clip", item), steps=200)
    assert len(run.states) >= 5  # 2.5 s of processing here (5 s in the sandbox), in short waits
    assert [p["id"] for p in sim.posts("bluesky")] == [run.result.remote_id]


REFUSED = {
    "png": (lambda: [media_file(image_bytes("PNG"), "image/png")], ErrorCode.INVALID_CONTENT, "must be JPEG"),
    "over-1-MB": (
        lambda: [media_file(b"\xff\xd8\xff" + b"\0" * 1_000_000, "image/jpeg")],
        ErrorCode.CONTENT_TOO_LARGE,
        "1,000,000 bytes",
    ),
    "over-2000-px": (
        lambda: [media_file(photo_bytes((40, 30)), "image/jpeg", width=2001, height=30)],
        ErrorCode.CONTENT_TOO_LARGE,
        "2000×2000",
    ),
    "five-images": (
        lambda: [media_file(photo_bytes((8, 8)), "image/jpeg", media_id=f"m{i}") for i in range(5)],
        ErrorCode.INVALID_CONTENT,
        "at most 4 images",
    ),
    "image-and-video": (
        lambda: [media_file(photo_bytes((8, 8)), "image/jpeg"), media_file(b"v", "video/mp4")],
        ErrorCode.INVALID_CONTENT,
        "either images or one video",
    ),
    "mov": (lambda: [media_file(b"v", "video/quicktime")], ErrorCode.INVALID_CONTENT, "must be MP4"),
    "over-3-min": (
        lambda: [media_file(b"v", "video/mp4", duration=181.0)],
        ErrorCode.CONTENT_TOO_LARGE,
        "3 minutes",
    ),
    "video-alt-text": (
        lambda: [media_file(b"v", "video/mp4", alt_text="é" * 1001)],
        ErrorCode.CONTENT_TOO_LARGE,
        "1000 characters",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
async def test_what_does_not_fit_is_refused_before_uploading(
    adapter: BlueskyAdapter, creds: Credentials, simulator_url: str, sim: Sim, case: str
) -> None:
    make, code, detail = REFUSED[case]
    with pytest.raises(PlatformError) as info:
        await adapter.publish(job(creds, "x", *make()))
    assert info.value.code is code and detail in info.value.message and not info.value.retryable
    assert calls(simulator_url, "com.atproto.repo.uploadBlob") == 0
    assert calls(simulator_url, "app.bsky.video.uploadVideo") == 0
    assert sim.posts("bluesky") == []


async def test_video_too_long_for_the_service_is_too_large(
    adapter: BlueskyAdapter, creds: Credentials, sim: Sim
) -> None:
    long_clip = video_bytes(seconds=181, size=(16, 16), fps=1)  # duration unknown to the adapter
    err = await publish_error(adapter, job(creds, "long", media_file(long_clip, "video/mp4")))
    assert err.code is ErrorCode.CONTENT_TOO_LARGE
    assert err.platform_error == "video_too_long: Video is too long: at most 180 seconds"
    assert sim.posts("bluesky") == []


async def test_media_goes_on_the_first_post_of_a_chain_only(
    adapter: BlueskyAdapter, creds: Credentials, simulator_url: str, sim: Sim
) -> None:
    first = await adapter.publish(job(creds, "one", media_file(photo_bytes((20, 20)), "image/jpeg")))
    assert isinstance(first, Published)
    second = await adapter.publish(job(creds, "two", key="k-1", reply_to=ReplyTo(first, first), index=1))
    assert isinstance(second, Published)
    assert "embed" not in record_of(simulator_url, second.remote_id)
    posts = sim.posts("bluesky")
    assert [(p["text"], len(p["media"]), p["replyTo"]) for p in posts] == [
        ("one", 1, None),
        ("two", 0, first.remote_id),
    ]


async def test_timeout_after_commit_with_an_image_is_found_by_its_rkey(
    http: aiohttp.ClientSession, creds: Credentials, sim: Sim
) -> None:
    adapter = BlueskyAdapter(http, timeout=HASTY)
    j = job(creds, "pic #sandbox:timeout-after-commit", media_file(photo_bytes((30, 30)), "image/jpeg"))
    with pytest.raises(PlatformError) as info:
        await adapter.publish(j)
    assert info.value.code is ErrorCode.TIMEOUT_ERROR and info.value.maybe_published
    found = await find(adapter, creds, "k")  # the engine's reconcile step for a part without steps
    assert found is not None and found.remote_id.endswith("/" + rkey_for("k"))
    [post] = sim.posts("bluesky")
    assert post["id"] == found.remote_id and len(post["media"]) == 1


async def test_timeout_after_commit_after_video_steps_is_found_without_uploading_again(
    http: aiohttp.ClientSession, creds: Credentials, simulator_url: str, sim: Sim
) -> None:
    adapter = BlueskyAdapter(http, timeout=HASTY)
    j = job(creds, "clip #sandbox:timeout-after-commit", media_file(video_bytes(seconds=0.4), "video/mp4"))
    state: dict[str, Any] | None = None
    for _ in range(100):
        try:
            step = await adapter.publish(dataclasses.replace(j, state=state))
        except PlatformError as exc:
            assert exc.code is ErrorCode.TIMEOUT_ERROR and exc.maybe_published
            break
        assert isinstance(step, InProgress)
        state = dict(step.state)
        await asyncio.sleep(0.2)
    else:
        raise AssertionError("the record was never created")
    polls = calls(simulator_url, "app.bsky.video.getJobStatus")
    again = await adapter.publish(dataclasses.replace(j, state=state, unsure=True))
    assert isinstance(again, Published)
    [post] = sim.posts("bluesky")
    assert post["id"] == again.remote_id and post["media"][0]["type"] == "video"
    assert calls(simulator_url, "app.bsky.video.uploadVideo") == 1
    assert calls(simulator_url, "app.bsky.video.getJobStatus") == polls  # looked up first, nothing redone
