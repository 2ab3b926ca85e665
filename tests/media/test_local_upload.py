"""The local backend's signed URLs: PUT checks (signature, expiry, type, size, reuse), probing, GET."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from postpost.db.models import Media
from postpost.services import media
from tests.media.conftest import create_draft, upload_url
from tests.media.files import image_bytes, photo_bytes, video_bytes

USED = {"error": "This upload URL has already been used"}
BAD_SIGNATURE = {"error": "Invalid URL signature"}
MIB = 1024 * 1024
TOO_LARGE = {"error": "File is larger than the upload limit of 1 MB"}


def with_query(url, **changes):
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    query = {k: v for k, v in query.items() if v is not None}
    return parts._replace(query=urlencode(query)).geturl()


async def put(client, url, data, content_type="image/png", **headers):
    return await client.put(url, content=data, headers={"content-type": content_type, **headers})


async def row(database, media_id):
    async with database.session() as session:
        return await session.get(Media, media_id)


@pytest.fixture
async def draft(client, make_user, make_connection):
    user = await make_user()
    user.group_id = await create_draft(client, user, [await make_connection(user)])
    return user


async def test_put_stores_and_probes(client, draft, database):
    png = image_bytes("PNG", (30, 20))
    issued = await upload_url(client, draft, draft.group_id, "image/png", "a.png")
    r = await put(client, issued["uploadUrl"], png)
    assert r.status_code == 200
    assert r.json() == {"success": True, "mediaId": issued["mediaId"], "size": len(png)}
    stored = await row(database, issued["mediaId"])
    assert (stored.status, stored.size, stored.width, stored.height) == ("ready", len(png), 30, 20)
    assert stored.details == {"format": "PNG", "aspectRatio": 1.5, "frames": 1}
    assert stored.uploaded_at is not None and stored.error is None


@pytest.mark.parametrize(
    "tamper",
    [
        lambda url: with_query(url, signature="0" * 64),
        lambda url: with_query(url, signature=None),
        lambda url: with_query(url, maxBytes="999999999999"),
        lambda url: with_query(url, expires="4102444800"),
        lambda url: with_query(url, contentType="video/mp4"),
        lambda url: url.replace("/media/images/", "/media/images/x"),
    ],
    ids=["signature", "no-signature", "maxBytes", "expires", "contentType", "key"],
)
async def test_tampered_url_is_refused_and_not_used_up(client, draft, tamper):
    png = image_bytes("PNG")
    issued = await upload_url(client, draft, draft.group_id, "image/png")
    r = await put(client, tamper(issued["uploadUrl"]), png)
    assert (r.status_code, r.json()) == (403, BAD_SIGNATURE)
    assert (await put(client, issued["uploadUrl"], png)).status_code == 200


async def test_expired_url(client, draft, local_storage, database):
    issued = await upload_url(client, draft, draft.group_id, "image/png")
    key = (await row(database, issued["mediaId"])).storage_key
    expired = local_storage.upload_url(key, "image/png", expires_in=-1, max_bytes=10**6)
    r = await put(client, expired, image_bytes("PNG"))
    assert (r.status_code, r.json()) == (403, {"error": "This URL has expired"})
    assert (await row(database, issued["mediaId"])).status == "pending"


@pytest.mark.parametrize("sent", ["image/jpeg", "application/octet-stream", None])
async def test_other_content_type_is_refused(client, draft, sent):
    png = image_bytes("PNG")
    issued = await upload_url(client, draft, draft.group_id, "image/png")
    headers = {"content-type": sent} if sent else {}
    r = await client.put(issued["uploadUrl"], content=png, headers=headers)
    assert (r.status_code, r.json()) == (403, {"error": "Content-Type must be image/png for this upload URL"})
    assert (await put(client, issued["uploadUrl"], png, "Image/PNG")).status_code == 200


async def test_upload_url_cannot_write_another_users_media(
    client, make_user, make_connection, draft, database
):
    other = await make_user()
    other_group = await create_draft(client, other, [await make_connection(other)])
    theirs = await upload_url(client, other, other_group, "image/png")
    mine = await upload_url(client, draft, draft.group_id, "image/png")
    their_key = (await row(database, theirs["mediaId"])).storage_key
    forged = urlsplit(mine["uploadUrl"])._replace(path=f"/media/{their_key}").geturl()
    r = await put(client, forged, image_bytes("PNG"))
    assert (r.status_code, r.json()) == (403, BAD_SIGNATURE)
    assert (await row(database, theirs["mediaId"])).status == "pending"


async def test_second_put_is_refused_once_an_upload_succeeded(client, draft):
    first, second = image_bytes("PNG", color=(1, 2, 3)), image_bytes("PNG", color=(9, 9, 9))
    issued = await upload_url(client, draft, draft.group_id, "image/png")
    assert (await put(client, issued["uploadUrl"], first)).status_code == 200
    r = await put(client, issued["uploadUrl"], second)
    assert (r.status_code, r.json()) == (409, USED)
    assert (await client.get(issued["fileUrl"])).content == first


async def test_concurrent_puts_store_exactly_one(client, draft):
    bodies = [image_bytes("PNG", color=(i, i, i)) for i in range(4)]
    issued = await upload_url(client, draft, draft.group_id, "image/png")
    replies = await asyncio.gather(*(put(client, issued["uploadUrl"], b) for b in bodies))
    statuses = sorted(r.status_code for r in replies)
    assert statuses == [200, 409, 409, 409]
    winner = bodies[[r.status_code for r in replies].index(200)]
    assert (await client.get(issued["fileUrl"])).content == winner


async def test_declared_size_over_the_cap_is_refused_before_reading(client, make_user, make_connection):
    user = await make_user(entitlements={"mediaMaxBytes": MIB})
    group_id = await create_draft(client, user, [await make_connection(user)])
    issued = await upload_url(client, user, group_id, "image/png")
    r = await put(client, issued["uploadUrl"], b"x" * (MIB + 1))
    assert (r.status_code, r.json()) == (413, TOO_LARGE)


async def test_streamed_body_over_the_cap_stops_reading_and_leaves_the_url_usable(
    client, make_user, make_connection, local_storage, database
):
    user = await make_user(entitlements={"mediaMaxBytes": MIB})
    group_id = await create_draft(client, user, [await make_connection(user)])
    issued = await upload_url(client, user, group_id, "image/png")
    sent = []

    async def chunks():
        for _ in range(64):
            sent.append(1)
            yield b"\0" * 64 * 1024

    r = await client.put(issued["uploadUrl"], content=chunks(), headers={"content-type": "image/png"})
    assert (r.status_code, r.json()) == (413, TOO_LARGE)
    assert 17 <= len(sent) < 64  # stopped right past the cap, not after reading everything
    assert list(local_storage.partial.glob("*.part")) == []
    assert (await row(database, issued["mediaId"])).status == "pending"
    png = image_bytes("PNG")
    assert (await put(client, issued["uploadUrl"], png)).status_code == 200


async def test_uploads_are_not_bound_by_the_api_body_limit(client, draft, settings):
    bmp = image_bytes("BMP", (800, 600))
    assert len(bmp) > settings.max_body_bytes
    issued = await upload_url(client, draft, draft.group_id, "image/bmp", "big.bmp")
    assert (await put(client, issued["uploadUrl"], bmp, "image/bmp")).status_code == 200


@pytest.mark.parametrize(
    ("content_type", "data", "reason"),
    [
        ("image/png", b"this is plain text, not a picture", "Uploaded file is not a valid image/png image"),
        ("image/png", "jpeg", "Uploaded file is image/jpeg, not image/png"),
        ("image/gif", "truncated-gif", "Uploaded file is not a valid image/gif image"),
        ("image/jpeg", "truncated-jpeg", "Uploaded file is not a valid image/jpeg image"),
        (
            "video/mp4",
            b"\x00\x00\x00\x18ftypmp42 not really a video",
            "Uploaded file is not a valid video/mp4 video",
        ),
        ("video/mp4", "mkv", "Uploaded file is a matroska,webm file, not video/mp4"),
        ("video/webm", "png", "Uploaded file is an image, not video/webm"),
    ],
)
async def test_file_that_is_not_its_content_type_fails_with_a_reason(
    client, draft, database, content_type, data, reason
):
    samples = {
        "jpeg": lambda: image_bytes("JPEG"),
        "truncated-gif": lambda: image_bytes("GIF", (200, 200), color=(1, 2, 3))[:-40],
        "truncated-jpeg": lambda: photo_bytes((256, 256))[:2000],
        "mkv": lambda: video_bytes(seconds=0.2, fmt="matroska"),
        "png": lambda: image_bytes("PNG"),
    }
    body = samples[data]() if isinstance(data, str) else data
    issued = await upload_url(client, draft, draft.group_id, content_type)
    r = await put(client, issued["uploadUrl"], body, content_type)
    assert (r.status_code, r.json()) == (400, {"error": reason})
    stored = await row(database, issued["mediaId"])
    assert (stored.status, stored.error, stored.uploaded_at) == ("failed", reason, None)
    view = (await client.get(f"/api/v1/get-post/{draft.group_id}", headers=draft.headers)).json()["media"]
    assert view[0]["status"] == "failed" and view[0]["error"] == reason
    assert (await client.get(issued["fileUrl"])).status_code == 404  # nothing stored


async def test_failed_upload_can_be_retried_with_the_right_bytes(client, draft, database):
    issued = await upload_url(client, draft, draft.group_id, "video/mp4", "clip.mp4")
    assert (await put(client, issued["uploadUrl"], b"garbage", "video/mp4")).status_code == 400
    mp4 = video_bytes(seconds=0.4)
    assert (await put(client, issued["uploadUrl"], mp4, "video/mp4")).status_code == 200
    stored = await row(database, issued["mediaId"])
    assert (stored.status, stored.error, stored.size) == ("ready", None, len(mp4))


async def test_put_after_the_group_was_deleted(client, draft):
    issued = await upload_url(client, draft, draft.group_id, "image/png")
    assert (
        await client.delete(f"/api/v1/delete-post/{draft.group_id}", headers=draft.headers)
    ).status_code == 200
    r = await put(client, issued["uploadUrl"], image_bytes("PNG"))
    assert (r.status_code, r.json()) == (404, {"error": "Media not found"})


async def test_get_supports_ranges_and_head(client, draft):
    mp4 = video_bytes(seconds=0.4)
    issued = await upload_url(client, draft, draft.group_id, "video/mp4", "c.mp4")
    assert (await put(client, issued["uploadUrl"], mp4, "video/mp4")).status_code == 200
    part = await client.get(issued["fileUrl"], headers={"range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == mp4[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(mp4)}"
    head = await client.head(issued["fileUrl"])
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(mp4)) and head.headers["content-type"] == "video/mp4"
    assert head.headers["accept-ranges"] == "bytes"


async def test_signed_fetch_urls(client, local_storage):
    await local_storage.put("cache/0123456789abcdef01234567/bluesky-aa", b"jpeg bytes", "image/jpeg")
    key = "cache/0123456789abcdef01234567/bluesky-aa"
    plain = local_storage.file_url(key)
    assert (await client.get(plain)).json() == BAD_SIGNATURE  # converted copies are not public
    signed = local_storage.signed_fetch_url(key, 60)
    fetched = await client.get(signed)
    assert fetched.status_code == 200 and fetched.content == b"jpeg bytes"
    assert fetched.headers["content-type"] == "image/jpeg"
    expired = local_storage.signed_fetch_url(key, -1)
    assert (await client.get(expired)).json() == {"error": "This URL has expired"}
    tampered = with_query(signed, expires="4102444800")
    r = await client.get(tampered)
    assert (r.status_code, r.json()) == (403, BAD_SIGNATURE)


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/media/images/nothing-here.png", 404, "Not found"),
        ("/media/../secret.key", 404, "Not found"),
        ("/media/images/%2e%2e/%2e%2e/secret.key", 404, "Not found"),
        ("/media/meta/x.json", 403, "Invalid URL signature"),
    ],
)
async def test_unknown_or_escaping_paths(client, path, status, error):
    r = await client.get(path)
    assert (r.status_code, r.json()) == (status, {"error": error})


async def test_a_file_in_place_without_its_row_update_is_probed_on_first_use(
    client, draft, database, local_storage
):
    """A crash between moving the file into place and the commit leaves a pending row."""
    issued = await upload_url(client, draft, draft.group_id, "image/png")
    stored = await row(database, issued["mediaId"])
    png = image_bytes("PNG", (12, 8))
    await local_storage.put(stored.storage_key, png, "image/png")
    repaired = await media.ensure_probed(database, local_storage, media.stored_media(stored))
    assert (repaired.status, repaired.size, repaired.width, repaired.height) == ("ready", len(png), 12, 8)
    assert (await put(client, issued["uploadUrl"], png)).json() == USED


async def test_get_upload_url_is_documented(client):
    spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"]["/api/v1/get-upload-url"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert {"fileName", "contentType", "postGroupId", "type"} <= set(body["properties"])
    reply = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(spec["components"]["schemas"][reply]["properties"]) == {
        "success",
        "uploadUrl",
        "fileUrl",
        "mediaId",
    }
    assert not [path for path in spec["paths"] if path.startswith("/media")]
