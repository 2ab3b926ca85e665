"""Preparing media for a platform: originals when acceptable, conversions cached per (media, rules)."""

from __future__ import annotations

import dataclasses
import io

import pytest
from PIL import Image

from postpost.media.prepare import MediaNotReady, MediaPreparer, cache_key, rules_digest
from postpost.platforms.descriptor import MediaRules
from postpost.services import media
from tests.media.conftest import create_draft, put_file, upload_url
from tests.media.files import image_bytes, video_bytes

JPEG, PNG, WEBP = "image/jpeg", "image/png", "image/webp"
LINKEDIN_LIKE = MediaRules(max_images=10, image_types=frozenset({JPEG, PNG}), convert={WEBP: JPEG})
MASTODON_LIKE = MediaRules(max_images=4, image_types=frozenset({JPEG, PNG, WEBP}), max_videos=1)


async def uploaded(backend, user, content_type, data, name):
    """Upload through the API and probe (S3: on first use); the media whatever its outcome."""
    group_id = await create_draft(backend.client, user, [user.connection])
    issued = await upload_url(backend.client, user, group_id, content_type, name)
    await put_file(backend.client, issued["uploadUrl"], data, content_type)
    async with backend.database.session() as session:
        [found] = (await media.media_for_groups(session, [group_id]))[group_id]
    return await media.ensure_probed(backend.database, backend.storage, found)


async def read(backend, key):
    return b"".join([chunk async for chunk in backend.storage.stream(key)])


@pytest.fixture
async def user(make_user, make_connection):
    made = await make_user()
    made.connection = await make_connection(made)
    return made


async def test_conversion_is_cached_per_media_and_rules(backend, user):
    webp = image_bytes("WEBP", (80, 60))
    file = await uploaded(backend, user, WEBP, webp, "p.webp")
    async with backend.database.session() as session:
        assert await media.media_by_id(session, file.id) == file
        assert await media.media_by_id(session, "0" * 24) is None
    first = await MediaPreparer(backend.storage).prepare(file, "linkedin", LINKEDIN_LIKE)
    assert first.key == cache_key(file.id, "linkedin", LINKEDIN_LIKE) and first.converted
    assert (first.mime_type, first.width, first.height) == (JPEG, 80, 60)
    picture = Image.open(io.BytesIO(await read(backend, first.key)))
    assert (
        picture.format == "JPEG"
        and picture.size == (80, 60)
        and first.size == len(await read(backend, first.key))
    )

    # Another worker (another preparer) reuses the stored copy: mark it and see the mark come back.
    await backend.storage.put(first.key, b"marker", JPEG, {"width": "80", "height": "60"})
    again = await MediaPreparer(backend.storage).prepare(file, "linkedin", LINKEDIN_LIKE)
    assert again == dataclasses.replace(first, size=len(b"marker"))
    assert await read(backend, again.key) == b"marker"

    other_rules = MediaRules(image_types=frozenset({JPEG}), image_max_pixels=(40, 40), convert={WEBP: JPEG})
    smaller = await MediaPreparer(backend.storage).prepare(file, "linkedin", other_rules)
    assert smaller.key != first.key and rules_digest(other_rules) in smaller.key
    assert (smaller.width, smaller.height) == (40, 30)


async def test_acceptable_files_are_sent_as_uploaded(backend, user):
    png = image_bytes("PNG", (20, 10))
    image = await uploaded(backend, user, PNG, png, "a.png")
    video = await uploaded(backend, user, "video/mp4", video_bytes(seconds=0.4), "v.mp4")
    preparer = MediaPreparer(backend.storage)
    sent_image = await preparer.prepare(image, "mastodon", MASTODON_LIKE)
    sent_video = await preparer.prepare(video, "mastodon", MASTODON_LIKE)
    assert (sent_image.key, sent_image.converted, sent_image.size) == (image.key, False, len(png))
    assert (sent_video.key, sent_video.type, sent_video.converted) == (video.key, "video", False)
    assert sent_video.duration == pytest.approx(0.4, abs=0.1)
    assert [info async for info in backend.storage.list_objects(f"cache/{image.id}/")] == []


async def test_files_that_are_not_ready_are_refused(backend, user):
    group_id = await create_draft(backend.client, user, [user.connection])
    await upload_url(backend.client, user, group_id, PNG, "never.png")
    async with backend.database.session() as session:
        [pending] = (await media.media_for_groups(session, [group_id]))[group_id]
    with pytest.raises(MediaNotReady, match="Media upload has not completed"):
        await MediaPreparer(backend.storage).prepare(pending, "mastodon", MASTODON_LIKE)
    bad = await uploaded(backend, user, PNG, b"text, not a png", "bad.png")
    assert bad.status == "failed"
    with pytest.raises(MediaNotReady, match="not a valid image/png"):
        await MediaPreparer(backend.storage).prepare(bad, "mastodon", MASTODON_LIKE)
