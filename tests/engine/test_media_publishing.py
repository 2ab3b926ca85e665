"""Media end to end, as a client does it: draft → get-upload-url → PUT → schedule → published.

Checked on the platform side through the simulator's control listing (what each fake measured
from the bytes it received), and refused with a 400 naming the platform and the rule when a
platform cannot take the group's media.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from postpost.db.models import Media
from postpost.storage import open_storage
from tests.engine.conftest import Harness
from tests.media.conftest import put_file, upload_url
from tests.media.files import image_bytes, video_bytes


async def draft(h: Harness, user: Any, platforms: list[str], content: str, **extra: Any) -> str:
    r = await h.client.post(
        "/api/v1/create-post",
        headers=user.headers,
        json={"content": content, "platforms": platforms, **extra},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["postGroupId"])


async def attach(h: Harness, user: Any, group: str, data: bytes, content_type: str, name: str) -> str:
    target = await upload_url(h.client, user, group, content_type, name)
    r = await put_file(h.client, target["uploadUrl"], data, content_type)
    assert r.status_code == 200, r.text
    return str(target["mediaId"])


async def schedule(h: Harness, user: Any, group: str) -> Any:
    return await h.client.put(
        f"/api/v1/update-post/{group}", headers=user.headers, json={"status": "scheduled"}
    )


async def published(h: Harness, user: Any, group: str, seconds: float = 20.0) -> dict[str, Any]:
    r = await schedule(h, user, group)
    assert r.status_code == 200, r.text
    got = await h.wait_finished(user, group, seconds)
    assert got["status"] == "published", got
    return got


def listed(sent: list[dict[str, Any]], text: str) -> dict[str, Any]:
    [post] = [p for p in sent if p["text"].startswith(text)]
    return post


async def test_photos_with_alt_text_on_x(engine: Harness) -> None:
    user = await engine.user()
    pid = await engine.sandbox(user, "twitter")
    group = await draft(engine, user, [pid], "Two pictures", altTexts=["A red square", "A blue one"])
    await attach(engine, user, group, image_bytes("PNG", (64, 48), (200, 30, 30)), "image/png", "red.png")
    await attach(engine, user, group, image_bytes("WEBP", (40, 30), (20, 30, 200)), "image/webp", "blue.webp")
    got = await published(engine, user, group)
    post = listed(await engine.sent(), "Two pictures")
    # X keeps formats it accepts: the PNG and the WebP arrive as they were uploaded
    assert [(m["type"], m["mimeType"], m["width"], m["height"]) for m in post["media"]] == [
        ("image", "image/png", 64, 48),
        ("image", "image/webp", 40, 30),
    ]
    assert [m["altText"] for m in got["media"]] == ["A red square", "A blue one"]


async def test_a_video_on_x_is_processed_in_steps(engine: Harness) -> None:
    user = await engine.user()
    pid = await engine.sandbox(user, "twitter")
    group = await draft(engine, user, [pid], "A short clip")
    await attach(engine, user, group, video_bytes(seconds=1.0), "video/mp4", "clip.mp4")
    await published(engine, user, group)
    [video] = listed(await engine.sent(), "A short clip")["media"]
    assert video["type"] == "video" and video["mimeType"] == "video/mp4"
    assert video["duration"] == pytest.approx(1.0, abs=0.2)
    logs = await engine.logs(user, group)
    waits = [e for e in logs if e["event"] == "publish_attempted" and e["metadata"].get("inProgress")]
    assert waits, "the upload was not a multi-step publish"


async def test_webp_is_converted_once_for_every_linkedin_account(engine: Harness) -> None:
    user = await engine.user()
    accounts = [await engine.sandbox(user, "linkedin") for _ in range(2)]
    group = await draft(engine, user, accounts, "Converted for LinkedIn")
    media_id = await attach(engine, user, group, image_bytes("WEBP", (80, 60)), "image/webp", "pic.webp")
    await published(engine, user, group)
    posts = [p for p in await engine.sent() if p["text"].startswith("Converted for LinkedIn")]
    assert len(posts) == 2
    for post in posts:
        [image] = post["media"]
        assert (image["mimeType"], image["width"], image["height"]) == ("image/jpeg", 80, 60)
    storage = open_storage(engine.settings)
    cached = [info.key async for info in storage.list_objects(f"cache/{media_id}/")]
    await storage.close()
    assert len(cached) == 1  # converted once, reused by the second account


async def test_telegram_photo_with_a_long_caption_then_the_rest(engine: Harness) -> None:
    user = await engine.user()
    pid = await engine.sandbox(user, "telegram")
    text = "A photo with a long story. " * 60  # over Telegram's 1,024-character caption
    group = await draft(engine, user, [pid], text.strip())
    await attach(engine, user, group, image_bytes("JPEG", (64, 48)), "image/jpeg", "p.jpg")
    await published(engine, user, group)
    sent = [p for p in await engine.sent() if p["platform"] == "telegram"]
    assert [len(p["media"]) for p in sent] == [1, 0]  # the photo, then the rest as a reply
    assert sent[1]["replyTo"] == sent[0]["id"]


@pytest.mark.parametrize(("platform", "settings"), [("youtube", {"privacy": "unlisted"}), ("tiktok", {})])
async def test_video_platforms(engine: Harness, platform: str, settings: dict[str, Any]) -> None:
    user = await engine.user()
    pid = await engine.sandbox(user, platform)
    group = await draft(engine, user, [pid], f"My {platform} video", platformSettings={platform: settings})
    await attach(engine, user, group, video_bytes(seconds=3.2, fps=25), "video/mp4", "v.mp4")
    await published(engine, user, group, 60.0)
    [video] = listed(await engine.sent(), f"My {platform} video")["media"]
    assert video["type"] == "video" and video["duration"] == pytest.approx(3.2, abs=0.3)


async def test_schedule_time_refusals_name_the_platform_and_the_rule(engine: Harness) -> None:
    user = await engine.user()
    x = await engine.sandbox(user, "twitter")
    tiktok = await engine.sandbox(user, "tiktok")
    r = await engine.client.post(
        "/api/v1/create-post",
        headers=user.headers,
        json={"content": "no video", "platforms": [tiktok], "scheduledTime": "2030-01-01T00:00:00Z"},
    )
    assert (r.status_code, r.json()) == (400, {"error": "TikTok posts require a video"})

    five = await draft(engine, user, [x], "five pictures")
    for n in range(5):
        await attach(engine, user, five, image_bytes("PNG", (10 + n, 10)), "image/png", f"{n}.png")
    r = await schedule(engine, user, five)
    assert r.status_code == 400
    assert r.json() == {"error": "X (Twitter) accepts at most 4 images per post (this one has 5)"}

    mixed = await draft(engine, user, [x], "mixed")
    await attach(engine, user, mixed, image_bytes("PNG"), "image/png", "a.png")
    await attach(engine, user, mixed, video_bytes(seconds=1.0), "video/mp4", "b.mp4")
    r = await schedule(engine, user, mixed)
    assert r.json() == {"error": "X (Twitter) cannot mix images and videos in one post"}

    waiting = await draft(engine, user, [x], "not uploaded")
    target = await upload_url(engine.client, user, waiting, "image/png", "later.png")
    r = await schedule(engine, user, waiting)
    assert r.status_code == 400
    assert r.json()["error"] == (
        f"Media 1 ({target['mediaId']}) has not been uploaded yet: PUT the file to its uploadUrl "
        "before scheduling the post"
    )
    # a draft may hold anything, and nothing was published meanwhile (the worker is alive: see below)
    fine = await draft(engine, user, [x], "one picture")
    await attach(engine, user, fine, image_bytes("PNG"), "image/png", "ok.png")
    await published(engine, user, fine)
    assert [p["text"] for p in await engine.sent()] == ["one picture"]


async def test_publish_time_check_fails_a_file_that_went_bad(engine: Harness, soon: Any) -> None:
    user = await engine.user()
    pid = await engine.sandbox(user, "twitter")
    group = await draft(engine, user, [pid], "checked again at publish time")
    media_id = await attach(engine, user, group, image_bytes("PNG"), "image/png", "x.png")
    when = soon(5).isoformat().replace("+00:00", "Z")
    r = await engine.client.put(
        f"/api/v1/update-post/{group}",
        headers=user.headers,
        json={"status": "scheduled", "scheduledTime": when},
    )
    assert r.status_code == 200, r.text
    async with engine.database.session() as session:  # the file changes after scheduling
        await session.execute(
            update(Media).where(Media.id == media_id).values(status="failed", error="the file was replaced")
        )
        await session.commit()
    got = await engine.wait_finished(user, group, 20.0)
    [post] = got["posts"]
    assert post["status"] == "failed" and post["error"]["code"] == "INVALID_CONTENT"
    assert post["error"]["message"] == "Media 1 cannot be published: the file was replaced"
    assert post["error"]["retryable"] is False
    after = await draft(engine, user, [pid], "the worker kept working")
    await published(engine, user, after)
    assert [p["text"] for p in await engine.sent()] == ["the worker kept working"]


async def test_a_bluesky_video_takes_less_alt_text_than_a_picture(engine: Harness) -> None:
    user = await engine.user()
    sky = await engine.sandbox(user, "bluesky")
    long_alt = "described at length " * 50 + "."  # 1,001 characters: fine for a picture, not a video
    clip = await draft(engine, user, [sky], "a clip", altTexts=[long_alt])
    await attach(engine, user, clip, video_bytes(seconds=1.0), "video/mp4", "clip.mp4")
    r = await schedule(engine, user, clip)
    assert (r.status_code, r.json()) == (
        400,
        {"error": "Alt text 1 is too long for a Bluesky video: 1001 characters, the limit is 1000"},
    )
    photo = await draft(engine, user, [sky], "a picture", altTexts=[long_alt])
    await attach(engine, user, photo, image_bytes("PNG"), "image/png", "p.png")
    await published(engine, user, photo)  # the worker is alive: the clip was refused, not ignored
    assert [p["text"] for p in await engine.sent()] == ["a picture"]
