"""Mastodon media against the simulator over real HTTP: uploads, processing steps, faults, limits."""

from __future__ import annotations

import asyncio
import dataclasses
import json
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
from postpost.platforms.mastodon import MastodonAdapter
from tests.media.files import animated_gif, image_bytes, photo_bytes, video_bytes
from tests.platforms.conftest import HASTY, Sim, control, media_file
from tests.platforms.media_flow import drive, padded_mp4
from tests.platforms.test_mastodon import ACCOUNT, creds


@pytest.fixture
def adapter(http: aiohttp.ClientSession) -> MastodonAdapter:
    return MastodonAdapter(http, timeout=5)


def job(c: Credentials, text: str, *media: MediaFile, key: str = "k", **kw: Any) -> PublishJob:
    return PublishJob(PostPart(text, tuple(media)), c, key, **kw)


def status_json(simulator_url: str, status_id: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{simulator_url}/mastodon/api/v1/statuses/{status_id}", timeout=5) as r:
        found: dict[str, Any] = json.loads(r.read())
        return found


def uploads(simulator_url: str) -> int:
    """How many media uploads the fake received."""
    requests = control(simulator_url, "GET", "/requests?platform=mastodon&path=/api/v2/media")["requests"]
    return len(requests)


async def publish_error(adapter: MastodonAdapter, j: PublishJob) -> PlatformError:
    with pytest.raises(PlatformError) as info:
        await drive(adapter, j)
    return info.value


async def test_one_image_with_alt_text_in_one_step(
    adapter: MastodonAdapter, simulator_url: str, sim: Sim
) -> None:
    photo = photo_bytes((320, 200))
    item = media_file(photo, "image/jpeg", width=320, height=200, alt_text="A red square, 320 by 200")
    result = await adapter.publish(job(creds(simulator_url), "Look at this", item))
    assert isinstance(result, Published)  # a still image is processed at once: no wait
    [post] = sim.posts("mastodon")
    assert post["id"] == result.remote_id and post["text"] == "Look at this"
    expected = {"type": "image", "mimeType": "image/jpeg", "size": len(photo), "width": 320, "height": 200}
    assert post["media"] == [expected]
    [attachment] = status_json(simulator_url, result.remote_id)["media_attachments"]
    assert attachment["description"] == "A red square, 320 by 200"
    assert attachment["meta"]["original"]["width"] == 320 and attachment["url"].endswith(".jpg")


async def test_four_images_keep_their_formats_and_order(
    adapter: MastodonAdapter, simulator_url: str, sim: Sim
) -> None:
    files = [
        (image_bytes("PNG", (30, 20)), "image/png"),
        (image_bytes("WEBP", (40, 30)), "image/webp"),
        (image_bytes("GIF", (50, 40)), "image/gif"),
        (photo_bytes((60, 50)), "image/jpeg"),
    ]
    items = [media_file(data, mime, media_id=f"m{i}") for i, (data, mime) in enumerate(files)]
    result = await adapter.publish(job(creds(simulator_url), "four", *items))
    assert isinstance(result, Published)
    [post] = sim.posts("mastodon")
    assert [(m["mimeType"], m["size"], m["width"], m["height"]) for m in post["media"]] == [
        ("image/png", len(files[0][0]), 30, 20),
        ("image/webp", len(files[1][0]), 40, 30),
        ("image/gif", len(files[2][0]), 50, 40),
        ("image/jpeg", len(files[3][0]), 60, 50),
    ]
    attachments = status_json(simulator_url, result.remote_id)["media_attachments"]
    assert [a["description"] for a in attachments] == [None] * 4


async def test_video_is_waited_for_through_steps_of_fresh_adapters(
    http: aiohttp.ClientSession, simulator_url: str, sim: Sim
) -> None:
    clip = video_bytes(seconds=1.0, size=(64, 48))
    item = media_file(clip, "video/mp4", width=64, height=48, duration=1.0, alt_text="A short clip")
    run = await drive(lambda: MastodonAdapter(http, timeout=5), job(creds(simulator_url), "clip", item))
    assert len(run.states) >= 2  # 202 after the upload, then 206 at least once
    media_ids = {tuple(s["media"]) for s in run.states}
    assert len(media_ids) == 1  # uploaded once; every later step only reads its status
    assert [s["polls"] for s in run.states] == list(range(len(run.states)))
    assert uploads(simulator_url) == 1
    [post] = sim.posts("mastodon")
    [video] = post["media"]
    assert video["type"] == "video" and video["mimeType"] == "video/mp4" and video["size"] == len(clip)
    assert (video["width"], video["height"]) == (64, 48) and video["duration"] == pytest.approx(1.0, abs=0.1)
    [attachment] = status_json(simulator_url, run.result.remote_id)["media_attachments"]
    assert attachment["type"] == "video" and attachment["description"] == "A short clip"


async def test_a_larger_video_is_streamed_whole(
    adapter: MastodonAdapter, simulator_url: str, sim: Sim
) -> None:
    clip = padded_mp4(video_bytes(seconds=0.4), 24 * 1024 * 1024)
    run = await drive(adapter, job(creds(simulator_url), "big", media_file(clip, "video/mp4")))
    [video] = sim.posts("mastodon")[0]["media"]
    assert video["size"] == len(clip) and video["duration"] == pytest.approx(0.4, abs=0.1)
    assert run.result.remote_id


async def test_animated_gif_becomes_gifv_after_processing(
    adapter: MastodonAdapter, simulator_url: str, sim: Sim
) -> None:
    gif = animated_gif()
    run = await drive(adapter, job(creds(simulator_url), "moving", media_file(gif, "image/gif")))
    assert run.states  # processed after the upload, like a video
    [attachment] = status_json(simulator_url, run.result.remote_id)["media_attachments"]
    assert attachment["type"] == "gifv"
    assert sim.posts("mastodon")[0]["media"][0]["mimeType"] == "image/gif"


async def test_processing_failed_marker_fails_the_post(
    adapter: MastodonAdapter, simulator_url: str, sim: Sim
) -> None:
    c = creds(simulator_url)
    item = media_file(photo_bytes((40, 40)), "image/jpeg")
    first = await adapter.publish(job(c, "broken #sandbox:media-processing-failed", item))
    assert isinstance(first, InProgress)  # the status was refused as not ready: the media is waited for
    err = await publish_error(
        adapter, job(c, "broken #sandbox:media-processing-failed", item, state=first.state)
    )
    assert err.code is ErrorCode.INVALID_CONTENT and not err.retryable
    assert err.status == 422 and err.platform_error == "Error processing thumbnail for uploaded media"
    assert (
        err.message == "Mastodon could not process the media: Error processing thumbnail for uploaded media"
    )
    assert sim.posts("mastodon") == []


async def test_queued_processing_failure_applies_to_the_next_upload(
    adapter: MastodonAdapter, simulator_url: str, sim: Sim
) -> None:
    sim.fault("mastodon", ACCOUNT, "media-processing-failed")
    clip = video_bytes(seconds=0.4)
    err = await publish_error(adapter, job(creds(simulator_url), "video", media_file(clip, "video/mp4")))
    assert err.code is ErrorCode.INVALID_CONTENT and err.status == 422
    assert control(simulator_url, "GET", "/faults")["faults"] == []  # taken by the upload
    ok = await adapter.publish(
        job(creds(simulator_url), "again", media_file(image_bytes(), "image/png"), key="k2")
    )
    assert isinstance(ok, Published)  # no fault left for this upload: processed at once
    assert [p["id"] for p in sim.posts("mastodon")] == [ok.remote_id]


async def test_media_slow_marker_is_a_long_wait_then_published(
    adapter: MastodonAdapter, simulator_url: str, sim: Sim
) -> None:
    item = media_file(photo_bytes((40, 30)), "image/jpeg")
    run = await drive(adapter, job(creds(simulator_url), "slow #sandbox:media-slow", item), steps=200)
    assert len(run.states) >= 4  # several waits (2.5 s of processing here, 5 s in the sandbox)
    assert all(isinstance(s["polls"], int) for s in run.states)
    [post] = sim.posts("mastodon")
    assert post["id"] == run.result.remote_id and len(post["media"]) == 1


async def test_queued_media_slow_makes_an_image_wait(
    adapter: MastodonAdapter, simulator_url: str, sim: Sim
) -> None:
    sim.fault("mastodon", ACCOUNT, "media-slow")
    item = media_file(image_bytes("PNG"), "image/png")
    first = await adapter.publish(job(creds(simulator_url), "slowly", item))
    assert isinstance(first, InProgress) and first.state["polls"] == 0
    run = await drive(adapter, job(creds(simulator_url), "slowly", item, state=first.state), steps=200)
    assert sim.posts("mastodon")[0]["id"] == run.result.remote_id


REFUSALS = {
    "declared-type-differs": (
        lambda: image_bytes("PNG"),
        "image/jpeg",
        ErrorCode.INVALID_CONTENT,
        "not what they are reported to be",
    ),
    "unsupported-type": (
        lambda: image_bytes("BMP"),
        "image/bmp",
        ErrorCode.INVALID_CONTENT,
        "content type is invalid",
    ),
    "undecodable": (
        lambda: b"\xff\xd8\xff" + b"not a picture" * 10,
        "image/jpeg",
        ErrorCode.INVALID_CONTENT,
        "could not be verified",
    ),
    "over-16-MB": (
        lambda: image_bytes("PNG") + b"\0" * (16 * 1024 * 1024),
        "image/png",
        ErrorCode.CONTENT_TOO_LARGE,
        "File file size must be less than 16 MB",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
async def test_refused_uploads(adapter: MastodonAdapter, simulator_url: str, sim: Sim, case: str) -> None:
    make, declared, code, detail = REFUSALS[case]
    err = await publish_error(adapter, job(creds(simulator_url), "x", media_file(make(), declared)))
    assert err.code is code and err.status == 422 and detail in (err.platform_error or "")
    assert not err.retryable and not err.maybe_published
    assert sim.posts("mastodon") == []


async def test_alt_text_over_the_instance_limit_is_too_large(
    adapter: MastodonAdapter, simulator_url: str, sim: Sim
) -> None:
    item = media_file(image_bytes("PNG"), "image/png", alt_text="a" * 1501)
    err = await publish_error(adapter, job(creds(simulator_url), "x", item))
    assert err.code is ErrorCode.CONTENT_TOO_LARGE
    assert err.platform_error == "Validation failed: Description is too long (maximum is 1500 characters)"
    ok = await adapter.publish(job(creds(simulator_url), "x", dataclasses.replace(item, alt_text="a" * 1500)))
    assert isinstance(ok, Published)


async def test_media_goes_on_the_first_part_of_a_chain_only(
    adapter: MastodonAdapter, simulator_url: str, sim: Sim
) -> None:
    c = creds(simulator_url)
    first = await adapter.publish(job(c, "part one", media_file(photo_bytes((20, 20)), "image/jpeg")))
    assert isinstance(first, Published)
    second = await adapter.publish(job(c, "part two", key="k-1", reply_to=ReplyTo(first, first), index=1))
    assert isinstance(second, Published)
    posts = sim.posts("mastodon")
    assert [(p["text"], len(p["media"]), p["replyTo"]) for p in posts] == [
        ("part one", 1, None),
        ("part two", 0, first.remote_id),
    ]


async def test_timeout_after_commit_with_an_image_reconciles_by_key(
    http: aiohttp.ClientSession, simulator_url: str, sim: Sim
) -> None:
    adapter = MastodonAdapter(http, timeout=HASTY)
    c = creds(simulator_url)
    j = job(c, "photo #sandbox:timeout-after-commit", media_file(photo_bytes((30, 30)), "image/jpeg"))
    with pytest.raises(PlatformError) as info:
        await adapter.publish(j)
    assert info.value.code is ErrorCode.TIMEOUT_ERROR and info.value.maybe_published
    again = await adapter.publish(dataclasses.replace(j, unsure=True))
    assert isinstance(again, Published)
    [post] = sim.posts("mastodon")  # the second upload is never attached: one post, one image
    assert post["id"] == again.remote_id and len(post["media"]) == 1


async def test_timeout_after_commit_with_a_video_resumes_from_its_state(
    http: aiohttp.ClientSession, simulator_url: str, sim: Sim
) -> None:
    adapter = MastodonAdapter(http, timeout=HASTY)
    c = creds(simulator_url)
    j = job(c, "clip #sandbox:timeout-after-commit", media_file(video_bytes(seconds=0.4), "video/mp4"))
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
        raise AssertionError("the status was never created")
    # the engine keeps the last state: the media is attached now (404), the key finds the status
    again = await adapter.publish(dataclasses.replace(j, state=state, unsure=True))
    assert isinstance(again, Published)
    [post] = sim.posts("mastodon")
    assert post["id"] == again.remote_id and post["media"][0]["type"] == "video"
    assert uploads(simulator_url) == 1
