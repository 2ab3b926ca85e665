"""The fake Mastodon's media API on its own (over ASGI): uploads, checks, processing, attachment."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.media.files import animated_gif, image_bytes, photo_bytes, video_bytes
from tests.simulator.conftest import FakeClock
from tests.simulator.test_mastodon import STATUSES, assert_rate_headers, auth, control_posts

MEDIA = "/mastodon/api/v2/media"
NOT_READY = "Cannot attach files that have not finished processing. Try again in a moment!"


async def upload(
    client: httpx.AsyncClient,
    data: bytes,
    mime: str,
    *,
    name: str = "file",
    account: str = "42",
    description: str | None = None,
) -> httpx.Response:
    form = {"description": description} if description is not None else None
    return await client.post(MEDIA, files={"file": (name, data, mime)}, data=form, headers=auth(account))


async def read(client: httpx.AsyncClient, media_id: str, account: str = "42") -> httpx.Response:
    return await client.get(f"/mastodon/api/v1/media/{media_id}", headers=auth(account))


async def status(client: httpx.AsyncClient, text: str, *ids: str, account: str = "42") -> httpx.Response:
    return await client.post(STATUSES, json={"status": text, "media_ids": list(ids)}, headers=auth(account))


async def test_instance_announces_media_limits(client: httpx.AsyncClient) -> None:
    r = await client.get("/mastodon/api/v2/instance")
    limits = r.json()["configuration"]["media_attachments"]
    assert limits["image_size_limit"] == 16 * 1024 * 1024 and limits["video_size_limit"] == 103_809_024
    assert limits["description_limit"] == 1500
    assert (
        "video/quicktime" in limits["supported_mime_types"]
        and "image/bmp" not in limits["supported_mime_types"]
    )


async def test_still_image_is_processed_at_once(client: httpx.AsyncClient) -> None:
    photo = photo_bytes((120, 80))
    r = await upload(client, photo, "image/jpeg", name="p.jpg", description="Alt")
    assert r.status_code == 200
    assert_rate_headers(r)
    body = r.json()
    assert body["type"] == "image" and body["description"] == "Alt"
    assert body["url"].startswith("http://sim/mastodon/system/media_attachments/files/")
    assert body["meta"]["original"] == {"width": 120, "height": 80, "size": "120x80", "aspect": 1.5}
    assert (await read(client, body["id"])).status_code == 200


async def test_video_answers_202_then_206_until_processed(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    clip = video_bytes(seconds=1.0, size=(64, 48))
    r = await upload(client, clip, "video/mp4")
    assert r.status_code == 202
    media_id = r.json()["id"]
    assert r.json()["url"] is None and r.json()["type"] == "video"
    for _ in range(3):
        polled = await read(client, media_id)
        assert polled.status_code == 206 and polled.json()["url"] is None
        clock.now += 0.5
    assert (await status(client, "too early", media_id)).json() == {"error": NOT_READY}
    clock.now += 0.5
    done = await read(client, media_id)
    assert done.status_code == 200
    assert done.json()["meta"]["original"]["duration"] == pytest.approx(1.0, abs=0.1)
    r = await status(client, "now", media_id)
    assert r.status_code == 200 and r.json()["media_attachments"][0]["id"] == media_id
    assert (await read(client, media_id)).status_code == 404  # attached: no longer a draft's media
    [post] = await control_posts(client)
    [video] = post["media"]  # type: ignore[misc]
    assert video["type"] == "video" and video["mimeType"] == "video/mp4" and video["size"] == len(clip)
    assert (video["width"], video["height"]) == (64, 48)


async def test_animated_gif_is_processed_as_gifv(client: httpx.AsyncClient, clock: FakeClock) -> None:
    r = await upload(client, animated_gif(), "image/gif")
    assert r.status_code == 202 and r.json()["type"] == "gifv"
    still = await upload(client, image_bytes("GIF"), "image/gif")
    assert still.status_code == 200 and still.json()["type"] == "image"


@pytest.mark.parametrize(
    ("data", "mime", "error"),
    [
        (
            image_bytes("PNG"),
            "video/mp4",
            "Validation failed: File has contents that are not what they are reported to be",
        ),
        (image_bytes("BMP"), "image/bmp", "Validation failed: File content type is invalid, File is invalid"),
        (
            b"plain text, not media",
            "image/png",
            "Validation failed: File content type is invalid, File is invalid",
        ),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "image/png", "File type of uploaded media could not be verified"),
    ],
    ids=["declared-differs", "unsupported", "unknown", "undecodable"],
)
async def test_refused_files(client: httpx.AsyncClient, data: bytes, mime: str, error: str) -> None:
    r = await upload(client, data, mime)
    assert r.status_code == 422 and r.json() == {"error": error}


async def test_size_limits_by_kind(client: httpx.AsyncClient) -> None:
    big = image_bytes("PNG") + b"\0" * (16 * 1024 * 1024)
    r = await upload(client, big, "image/png")
    assert r.json() == {"error": "Validation failed: File file size must be less than 16 MB"}
    r = await upload(client, video_bytes(seconds=0.2) + b"\0" * (16 * 1024 * 1024), "video/mp4")
    assert r.status_code == 202  # a video may be larger


async def test_description_limit_and_missing_file(client: httpx.AsyncClient) -> None:
    r = await upload(client, image_bytes(), "image/png", description="é" * 1501)
    assert r.json() == {"error": "Validation failed: Description is too long (maximum is 1500 characters)"}
    assert (await upload(client, image_bytes(), "image/png", description="é" * 1500)).status_code == 200
    r = await client.post(MEDIA, data={"description": "no file"}, headers=auth())
    assert r.status_code == 422 and r.json() == {"error": "Validation failed: File can't be blank"}


async def test_media_needs_a_token_and_belongs_to_its_account(client: httpx.AsyncClient) -> None:
    r = await client.post(MEDIA, files={"file": ("a", image_bytes(), "image/png")})
    assert r.status_code == 401 and r.json() == {"error": "The access token is invalid"}
    media_id = (await upload(client, image_bytes(), "image/png", account="42")).json()["id"]
    assert (await read(client, media_id, account="43")).status_code == 404
    r = await status(client, "not mine", media_id, account="43")
    assert r.status_code == 422
    assert r.json() == {"error": f"Media {media_id} not found or already attached to another post"}


async def test_attachment_rules(client: httpx.AsyncClient, clock: FakeClock) -> None:
    images = [(await upload(client, image_bytes(), "image/png")).json()["id"] for _ in range(5)]
    r = await status(client, "five", *images)
    assert r.json() == {"error": "Cannot attach more than 4 files"}
    video = (await upload(client, video_bytes(seconds=0.2), "video/mp4")).json()["id"]
    clock.now += 10
    r = await status(client, "mixed", images[0], video)
    assert r.json() == {"error": "Cannot attach a video to a post that already contains images"}
    assert (await status(client, "four", *images[:4])).status_code == 200
    r = await status(client, "again", images[0])
    assert r.json() == {"error": f"Media {images[0]} not found or already attached to another post"}
    [post] = await control_posts(client)
    assert [m["mimeType"] for m in post["media"]] == ["image/png"] * 4  # type: ignore[union-attr]


async def test_text_post_lists_no_media(client: httpx.AsyncClient) -> None:
    assert (await status(client, "just words")).status_code == 200
    [post] = await control_posts(client)
    assert post["media"] == []


async def test_processing_failed_marker_applies_when_the_status_names_the_media(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    media_id = (await upload(client, image_bytes(), "image/png")).json()["id"]
    r = await status(client, "#sandbox:media-processing-failed", media_id)
    assert r.status_code == 422 and r.json() == {"error": NOT_READY}
    assert (await read(client, media_id)).status_code == 206
    clock.now += 60
    failed = await read(client, media_id)
    assert failed.status_code == 422 and failed.json() == {
        "error": "Error processing thumbnail for uploaded media"
    }
    assert (await status(client, "#sandbox:media-processing-failed", media_id)).json() == {"error": NOT_READY}
    assert await control_posts(client) == []


async def test_media_slow_marker_processes_again_for_slow_seconds(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    media_id = (await upload(client, image_bytes(), "image/png")).json()["id"]
    text = "later #sandbox:media-slow@mastodon"
    assert (await status(client, text, media_id)).json() == {"error": NOT_READY}
    clock.now += 4.9
    assert (await read(client, media_id)).status_code == 206
    clock.now += 0.2
    assert (await read(client, media_id)).status_code == 200
    r = await status(client, text, media_id)  # the marker played once on this file
    assert r.status_code == 200
    assert len((await control_posts(client))[0]["media"]) == 1  # type: ignore[arg-type]


async def test_marker_for_another_platform_does_not_apply(client: httpx.AsyncClient) -> None:
    media_id = (await upload(client, image_bytes(), "image/png")).json()["id"]
    assert (await status(client, "#sandbox:media-slow@bluesky", media_id)).status_code == 200


@pytest.mark.parametrize(
    ("fault", "seconds", "final"), [("media-slow", 5.0, 200), ("media-processing-failed", 2.0, 422)]
)
async def test_queued_media_fault_is_taken_by_the_next_upload(
    client: httpx.AsyncClient, clock: FakeClock, fault: str, seconds: float, final: int
) -> None:
    r = await client.post("/_control/faults", json={"platform": "mastodon", "account": "42", "fault": fault})
    assert r.status_code == 200
    first = await upload(client, image_bytes(), "image/png")
    assert first.status_code == 202  # even a still image waits now
    second = await upload(client, image_bytes(), "image/png")
    assert second.status_code == 200  # the fault was used up
    clock.now += seconds - 0.1
    assert (await read(client, first.json()["id"])).status_code == 206
    clock.now += 0.2
    assert (await read(client, first.json()["id"])).status_code == final
    assert (await client.get("/_control/faults")).json() == {"faults": []}


async def test_upload_interrupted_is_not_taken_by_an_upload(client: httpx.AsyncClient) -> None:
    body: dict[str, Any] = {"platform": "mastodon", "account": "42", "fault": "upload-interrupted"}
    await client.post("/_control/faults", json=body)
    assert (await upload(client, image_bytes(), "image/png")).status_code == 200
    assert (await client.get("/_control/faults")).json()["faults"][0]["faults"] == ["upload-interrupted"]


async def test_reset_forgets_media(client: httpx.AsyncClient) -> None:
    media_id = (await upload(client, image_bytes(), "image/png")).json()["id"]
    await client.post("/_control/reset", json={"platform": "mastodon", "account": "42"})
    assert (await read(client, media_id)).status_code == 404
