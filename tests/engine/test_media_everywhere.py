"""Media on every platform end to end, including the ones that fetch it by URL from postpost.

The `served` harness serves the media files over real HTTP, at the URL their signed fetch URLs
name, as a public postpost does; Instagram, Threads and Facebook fetch them from there.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.conftest import Harness
from tests.media.files import image_bytes, video_bytes

TEXT_PLATFORMS = ["twitter", "linkedin", "threads", "facebook", "telegram", "mastodon", "bluesky"]


async def draft(h: Harness, user: Any, platforms: list[str], content: str, **extra: Any) -> str:
    body = {"content": content, "platforms": platforms, **extra}
    r = await h.client.post("/api/v1/create-post", headers=user.headers, json=body)
    assert r.status_code == 200, r.text
    return str(r.json()["postGroupId"])


async def attach(h: Harness, user: Any, group: str, data: bytes, content_type: str) -> None:
    body = {"fileName": "file", "contentType": content_type, "postGroupId": group}
    r = await h.client.post("/api/v1/get-upload-url", headers=user.headers, json=body)
    assert r.status_code == 200, r.text
    put = await h.client.put(r.json()["uploadUrl"], content=data, headers={"content-type": content_type})
    assert put.status_code == 200, put.text


async def publish(h: Harness, user: Any, group: str, seconds: float = 60.0) -> dict[str, Any]:
    r = await h.client.put(f"/api/v1/update-post/{group}", headers=user.headers, json={"status": "scheduled"})
    assert r.status_code == 200, r.text
    return await h.wait_finished(user, group, seconds)


async def test_one_post_with_an_image_on_all_seven_text_platforms(served: Harness) -> None:
    user = await served.user()
    pids = [await served.sandbox(user, platform) for platform in TEXT_PLATFORMS]
    group = await draft(served, user, pids, "One picture, seven platforms", altTexts=["A green field"])
    await attach(served, user, group, image_bytes("PNG", (120, 80), (40, 160, 60)), "image/png")
    got = await publish(served, user, group)
    assert got["status"] == "published", got
    sent = {p["platform"]: p for p in await served.sent()}
    assert sorted(sent) == sorted(TEXT_PLATFORMS)
    for platform, post in sent.items():
        [image] = post["media"]
        assert image["type"] == "image" and (image["width"], image["height"]) == (120, 80), platform
    assert sent["bluesky"]["media"][0]["mimeType"] == "image/jpeg"  # converted where the platform needs it
    assert sent["twitter"]["media"][0]["mimeType"] == "image/png"  # kept where it is accepted


async def test_instagram_photo_carousel_reel_and_story(served: Harness) -> None:
    user = await served.user()
    pid = await served.sandbox(user, "instagram")
    photo = await draft(served, user, [pid], "A photo")
    await attach(served, user, photo, image_bytes("JPEG", (100, 100)), "image/jpeg")
    carousel = await draft(served, user, [pid], "A carousel")
    for n in range(3):
        await attach(served, user, carousel, image_bytes("JPEG", (100, 100), (n * 80, 50, 50)), "image/jpeg")
    reel = await draft(served, user, [pid], "A reel")
    await attach(served, user, reel, video_bytes(seconds=3.2, size=(64, 112)), "video/mp4")
    story = await draft(
        served, user, [pid], "A story", platformSettings={"instagram": {"videoType": "STORIES"}}
    )
    await attach(served, user, story, video_bytes(seconds=3.2, size=(64, 112)), "video/mp4")
    for group in (photo, carousel, reel, story):
        assert (await publish(served, user, group))["status"] == "published"
    sent = {p["text"]: p for p in await served.sent()}
    assert [m["type"] for m in sent["A photo"]["media"]] == ["image"]
    assert [m["type"] for m in sent["A carousel"]["media"]] == ["image"] * 3
    assert [m["type"] for m in sent["A reel"]["media"]] == ["video"]
    assert [m["type"] for m in sent[""]["media"]] == ["video"]  # a Story carries no caption


@pytest.mark.parametrize("platform", ["threads", "facebook"])
async def test_album_and_video(served: Harness, platform: str) -> None:
    user = await served.user()
    pid = await served.sandbox(user, platform)
    album = await draft(served, user, [pid], f"An album on {platform}")
    for n in range(2):
        await attach(served, user, album, image_bytes("JPEG", (90, 60), (20, n * 100, 90)), "image/jpeg")
    clip = await draft(served, user, [pid], f"A video on {platform}")
    await attach(served, user, clip, video_bytes(seconds=2.0), "video/mp4")
    for group in (album, clip):
        assert (await publish(served, user, group))["status"] == "published"
    sent = {p["text"]: p for p in await served.sent()}
    assert [m["type"] for m in sent[f"An album on {platform}"]["media"]] == ["image", "image"]
    assert [m["type"] for m in sent[f"A video on {platform}"]["media"]] == ["video"]
