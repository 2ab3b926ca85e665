"""The composer preview agrees with create-post and get-upload-url: same errors, the engine's parts."""

from __future__ import annotations

import pytest

from postpost.platforms.registry import descriptor
from postpost.platforms.splitting import split_into_parts
from postpost.security import KeyHasher
from postpost.services import compose_preview
from postpost.services.auth import authenticate
from postpost.services.compose_preview import MediaDescription
from tests.conftest import SECRET
from tests.dashboard.posts_support import client, make_user

__all__ = ["client", "make_user"]

JPEG = MediaDescription("image", "image/jpeg", "photo.jpg", 50_000, 1200, 800)
FUTURE = "2030-03-15T10:00:00.000Z"


@pytest.fixture
def run_preview(dash_database, dash):
    async def run(user, body, files=()):
        async with dash_database.session() as session:
            principal = await authenticate(session, KeyHasher(SECRET.encode()), api_key=user.api_key)
            return await compose_preview.preview(
                session, principal, body, list(files), upload_ceiling=dash.settings.media_max_bytes
            )

    return run


async def api_error(client, user, body):
    r = await client.post("/api/v1/create-post", headers=user.headers, json=body)
    assert r.status_code in (400, 403), r.text
    answer = r.json()
    return answer.get("message") if r.status_code == 403 else answer["error"]


async def test_an_over_long_instagram_caption_is_create_posts_error(
    client, make_user, make_connection, run_preview
):
    user = await make_user()
    instagram = await make_connection(user, "instagram", "1789")
    body = {"content": "a" * 2201, "platforms": [instagram]}
    expected = await api_error(client, user, body)
    assert expected == (
        "Content is too long for Instagram: 2201 characters, the limit is 2200 "
        "(Instagram does not split long posts into a thread)"
    )
    result = await run_preview(user, body, [JPEG])
    assert result.errors == [expected]
    (entry,) = result.platforms
    assert entry.errors == [expected]
    assert (entry.length, entry.limit, entry.parts) == (2201, 2200, [])
    assert entry.length_text == "2201"
    assert not result.ok


async def test_an_x_thread_is_split_as_the_engine_splits_it(client, make_user, make_connection, run_preview):
    user = await make_user()
    x = await make_connection(user, "twitter", "4242")
    content = "Short sentences make good threads. " * 20  # 700 characters
    body = {"content": content, "platforms": [x]}
    r = await client.post("/api/v1/create-post", headers=user.headers, json=body)
    assert r.status_code == 200, r.text
    result = await run_preview(user, body, [JPEG])
    assert result.ok and result.errors == []
    (entry,) = result.platforms
    rules = descriptor("twitter").text
    engine = split_into_parts(content, rules.limit, rules.counter)
    assert [p.text for p in entry.parts] == engine
    assert len(entry.parts) == 3 and entry.parts[0].text.endswith("(1/3)")
    assert [p.label for p in entry.parts] == ["Post 1 of 3", "Post 2 of 3", "Post 3 of 3"]
    assert all(p.length <= 280 and not p.over for p in entry.parts)
    assert entry.threads and entry.limit == 280 and entry.length == len(content)


async def test_too_many_thread_parts_is_create_posts_error(client, make_user, make_connection, run_preview):
    user = await make_user()
    x = await make_connection(user, "twitter", "77")
    body = {"content": "word " * 2000, "platforms": [x]}
    expected = await api_error(client, user, body)
    assert expected.startswith("Content is too long for X (Twitter): it would be split into")
    result = await run_preview(user, body)
    assert result.errors == [expected] and result.platforms[0].errors == [expected]
    assert result.platforms[0].length_text == "more than 7000"


async def test_each_platform_gets_its_own_create_post_answer(client, make_user, make_connection, run_preview):
    user = await make_user()
    mastodon = await make_connection(user)
    tiktok = await make_connection(user, "tiktok", "tt1")
    settings = {"tiktok": {"viewerSetting": "EVERYONE"}}
    body = {
        "content": "hello",
        "platforms": [mastodon, tiktok, "bluesky-missing"],
        "platformSettings": settings,
    }
    whole = await api_error(client, user, body)
    assert whole == "Platform connection not found: bluesky-missing"
    tiktok_alone = await api_error(client, user, {**body, "platforms": [tiktok]})
    assert tiktok_alone.startswith("Invalid platformSettings.tiktok.viewerSetting: must be one of:")
    result = await run_preview(user, body)
    assert result.errors == [whole]
    by_id = {p.platform_id: p for p in result.platforms}
    assert by_id[mastodon].errors == [] and [p.text for p in by_id[mastodon].parts] == ["hello"]
    assert by_id[tiktok].errors == [tiktok_alone, "TikTok posts require a video"]
    assert by_id["bluesky-missing"].errors == ["Platform connection not found: bluesky-missing"]


async def test_a_platform_outside_the_plan_shows_the_limit_message(
    client, make_user, make_connection, run_preview
):
    user = await make_user(entitlements={"allowedPlatforms": ["mastodon"], "apiAccess": True})
    x = await make_connection(user, "twitter", "9")
    body = {"content": "hi", "platforms": [x]}
    expected = await api_error(client, user, body)
    assert "plan" in expected
    result = await run_preview(user, body)
    assert result.errors == [expected] and result.platforms[0].errors == [expected]


async def test_body_errors_are_create_posts_and_are_not_repeated_per_platform(
    client, make_user, make_connection, run_preview
):
    user = await make_user()
    mastodon = await make_connection(user)
    for body in (
        {"content": "  ", "platforms": [mastodon]},
        {"content": "x", "platforms": []},
        {"content": "x", "platforms": ["nope"]},
        {"content": "x", "platforms": [mastodon], "altTexts": [1]},
    ):
        expected = await api_error(client, user, body)
        result = await run_preview(user, body)
        assert result.errors == [expected], body
        assert all(p.errors == [] for p in result.platforms)


async def test_media_rules_of_scheduling_match_create_post_with_a_time(
    client, make_user, make_connection, run_preview
):
    user = await make_user()
    instagram = await make_connection(user, "instagram", "55")
    body = {"content": "no picture", "platforms": [instagram]}
    expected = await api_error(client, user, {**body, "scheduledTime": FUTURE})
    assert expected == "Instagram posts require media"
    assert (await run_preview(user, body)).platforms[0].errors == [expected]
    assert (await run_preview(user, body, [JPEG])).platforms[0].errors == []


async def test_a_bluesky_videos_alt_text_limit_is_the_schedulings(make_user, make_connection, run_preview):
    user = await make_user()
    bluesky = await make_connection(user, "bluesky", "did:plc:alt")
    clip = MediaDescription("video", "video/mp4", "clip.mp4", 2_000_000, 640, 360, 4.0)
    body = {"content": "a clip", "platforms": [bluesky], "altTexts": ["x" * 1001]}
    (entry,) = (await run_preview(user, body, [clip])).platforms
    assert entry.errors == ["Alt text 1 is too long for a Bluesky video: 1001 characters, the limit is 1000"]
    (entry,) = (await run_preview(user, body, [JPEG])).platforms
    assert entry.errors == []  # a picture may have 2,000


async def test_conversions_follow_the_descriptors(make_user, make_connection, run_preview):
    user = await make_user()
    instagram = await make_connection(user, "instagram", "56")
    bluesky = await make_connection(user, "bluesky", "did:plc:conv")
    png = MediaDescription("image", "image/png", "big.png", 3_000_000, 4000, 3000)
    result = await run_preview(user, {"content": "pics", "platforms": [instagram, bluesky]}, [png, JPEG])
    by_id = {p.platform_id: p for p in result.platforms}
    (to_jpeg,) = by_id[instagram].conversions
    assert (to_jpeg.position, to_jpeg.from_type, to_jpeg.to_type) == (1, "image/png", "image/jpeg")
    assert to_jpeg.to_pixels == (4000, 3000)
    (smaller,) = by_id[bluesky].conversions
    assert (
        smaller.to_pixels == (2000, 1500) and smaller.max_bytes == descriptor("bluesky").media.image_max_bytes
    )


async def test_telegram_with_media_has_a_caption_and_the_rest_after_it(
    make_user, make_connection, run_preview
):
    user = await make_user()
    telegram = await make_connection(user, "telegram", "-1001")
    content = ("A sentence for the caption. " * 40).strip() + "\n\n" + "The rest follows. " * 10
    with_media = await run_preview(user, {"content": content, "platforms": [telegram]}, [JPEG])
    caption, rest = with_media.platforms[0].parts
    assert (caption.label, caption.limit) == ("Caption", 1024)
    assert caption.length <= 1024 and content.startswith(caption.text)
    assert rest.label == "Message after the media" and content.strip().endswith(rest.text)
    without = await run_preview(user, {"content": content, "platforms": [telegram]})
    assert [p.text for p in without.platforms[0].parts] == [content]


async def test_files_get_the_upload_routes_refusals(client, make_user, make_connection, run_preview):
    user = await make_user(entitlements={"mediaMaxBytes": 1024 * 1024, "apiAccess": True})
    mastodon = await make_connection(user)
    draft = await client.post(
        "/api/v1/create-post", headers=user.headers, json={"content": "d", "platforms": [mastodon]}
    )
    body = {
        "fileName": "doc.pdf",
        "contentType": "application/pdf",
        "postGroupId": draft.json()["postGroupId"],
    }
    refused = await client.post("/api/v1/get-upload-url", headers=user.headers, json=body)
    assert refused.status_code == 400
    pdf = MediaDescription("", "application/pdf", "doc.pdf", 10)
    huge = MediaDescription("image", "image/jpeg", "huge.jpg", 2 * 1024 * 1024, 10, 10)
    result = await run_preview(user, {"content": "files", "platforms": [mastodon]}, [pdf, huge])
    assert result.errors == [
        f"Media 1 (doc.pdf): {refused.json()['error']}",
        "Media 2 (huge.jpg): File is larger than the upload limit of 1 MB",
    ]


def test_media_descriptions_are_read_leniently():
    raw = [
        {"type": "image", "contentType": "Image/PNG; x=y", "size": 10, "width": 3.0, "height": True},
        "junk",
        {"type": 5, "duration": float("inf"), "size": -1},
    ]
    first, second = compose_preview.describe_media(raw)
    assert first == MediaDescription("image", "image/png", "", 10, 3, None)
    assert second == MediaDescription("", "", "", None, None, None)
    assert compose_preview.describe_media({"not": "a list"}) == []
