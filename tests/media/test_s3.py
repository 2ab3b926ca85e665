"""The S3 backend against a real S3-protocol server (moto over HTTP): URLs, probing on first use, caps."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from postpost.services import media
from tests.media.conftest import create_draft, put_file, upload_url
from tests.media.files import image_bytes, video_bytes

pytestmark = pytest.mark.parametrize("backend", ["s3"], indirect=True)


async def stored(s3, media_id, group_id):
    async with s3.database.session() as session:
        files = (await media.media_for_groups(session, [group_id]))[group_id]
    return next(f for f in files if f.id == media_id)


async def test_presigned_put_is_bound_to_the_content_type_and_expires_in_an_hour(
    backend, make_user, make_connection, s3_endpoint, s3_bucket
):
    s3 = backend
    user = await make_user()
    group_id = await create_draft(s3.client, user, [await make_connection(user)])
    issued = await upload_url(s3.client, user, group_id, "video/mp4", "clip one.mp4")
    url = urlsplit(issued["uploadUrl"])
    query = parse_qs(url.query)
    assert query["X-Amz-Expires"] == ["3600"]
    assert "content-type" in query["X-Amz-SignedHeaders"][0].split(";")
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert issued["fileUrl"] == f"{s3_endpoint}/{s3_bucket}/{url.path.split('/', 2)[2]}"
    assert issued["fileUrl"].endswith("-clip_one.mp4")


async def test_probed_on_first_use(backend, make_user, make_connection):
    s3 = backend
    user = await make_user()
    group_id = await create_draft(s3.client, user, [await make_connection(user)])
    issued = await upload_url(s3.client, user, group_id, "image/webp", "p.webp")
    before = await stored(s3, issued["mediaId"], group_id)
    assert (await media.ensure_probed(s3.database, s3.storage, before)).status == "pending"  # nothing yet

    webp = image_bytes("WEBP", (50, 40))
    assert (await put_file(s3.client, issued["uploadUrl"], webp, "image/webp")).status_code == 200
    pending = await stored(s3, issued["mediaId"], group_id)
    assert pending.status == "pending"
    probed = await media.ensure_probed(s3.database, s3.storage, pending)
    assert (probed.status, probed.size, probed.width, probed.height) == ("ready", len(webp), 50, 40)
    assert probed.details["format"] == "WEBP"
    assert await media.ensure_probed(s3.database, s3.storage, probed) is probed  # no second probe


async def test_mislabelled_object_fails_with_a_reason(backend, make_user, make_connection):
    s3 = backend
    user = await make_user()
    group_id = await create_draft(s3.client, user, [await make_connection(user)])
    issued = await upload_url(s3.client, user, group_id, "video/mp4", "v.mp4")
    png = image_bytes("PNG")
    assert (await put_file(s3.client, issued["uploadUrl"], png, "video/mp4")).status_code == 200
    probed = await media.ensure_probed(s3.database, s3.storage, await stored(s3, issued["mediaId"], group_id))
    assert (probed.status, probed.error) == ("failed", "Uploaded file is an image, not video/mp4")
    view = (await s3.client.get(f"/api/v1/get-post/{group_id}", headers=user.headers)).json()["media"]
    assert view[0]["status"] == "failed" and view[0]["error"] == probed.error


async def test_plan_cap_is_checked_when_probing(backend, make_user, make_connection):
    s3 = backend
    user = await make_user(entitlements={"mediaMaxBytes": 1024 * 1024})
    group_id = await create_draft(s3.client, user, [await make_connection(user)])
    big = await upload_url(s3.client, user, group_id, "image/bmp", "big.bmp")
    small = await upload_url(s3.client, user, group_id, "video/mp4", "small.mp4")
    bmp = image_bytes("BMP", (800, 600))
    mp4 = video_bytes(seconds=0.2)
    assert (await put_file(s3.client, big["uploadUrl"], bmp, "image/bmp")).status_code == 200
    assert (await put_file(s3.client, small["uploadUrl"], mp4, "video/mp4")).status_code == 200
    too_big = await media.ensure_probed(s3.database, s3.storage, await stored(s3, big["mediaId"], group_id))
    fine = await media.ensure_probed(s3.database, s3.storage, await stored(s3, small["mediaId"], group_id))
    assert (too_big.status, too_big.error) == ("failed", "File is larger than the upload limit of 1 MB")
    assert (fine.status, fine.size) == ("ready", len(mp4))
