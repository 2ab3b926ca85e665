"""The client's media flow on both storage backends and both database engines.

create draft → get-upload-url → PUT the bytes → (S3: probe on first use) → get-post and
list-posts show the media in upload order; the file URL serves the bytes back; deleting the
group removes the files.
"""

from __future__ import annotations

import httpx
import pytest

from postpost.services import media
from tests.media.conftest import create_draft, put_file, upload_url
from tests.media.files import image_bytes, video_bytes


async def probe_all(backend, group_id):
    async with backend.database.session() as session:
        files = (await media.media_for_groups(session, [group_id]))[group_id]
    return [await media.ensure_probed(backend.database, backend.storage, f) for f in files]


async def fetch(backend, url):
    if backend.name == "local":
        return await backend.client.get(url)
    async with httpx.AsyncClient() as outside:
        return await outside.get(url)


async def test_photo_and_video_attach_in_upload_order(backend, make_user, make_connection):
    user = await make_user()
    group_id = await create_draft(backend.client, user, [await make_connection(user)])
    png = image_bytes("PNG", (64, 48))
    mp4 = video_bytes(seconds=1.0, size=(64, 48), fps=25)
    photo = await upload_url(backend.client, user, group_id, "image/png", "my photo (1).png")
    clip = await upload_url(backend.client, user, group_id, "video/mp4", "clip.mp4", type="video")
    assert photo["success"] is True and photo["fileUrl"].endswith("-my_photo_1.png")
    assert "/images/" in photo["fileUrl"] and "/videos/" in clip["fileUrl"]

    # Upload in the opposite order: media order is get-upload-url order, not PUT order.
    assert (await put_file(backend.client, clip["uploadUrl"], mp4, "video/mp4")).status_code == 200
    assert (await put_file(backend.client, photo["uploadUrl"], png, "image/png")).status_code == 200
    probed = await probe_all(backend, group_id)
    assert [m.status for m in probed] == ["ready", "ready"]

    body = (await backend.client.get(f"/api/v1/get-post/{group_id}", headers=user.headers)).json()
    image, video = body["media"]
    assert image == {
        "_id": photo["mediaId"],
        "type": "image",
        "url": photo["fileUrl"],
        "mimeType": "image/png",
        "status": "ready",
        "altText": None,
        "metadata": {"size": len(png), "width": 64, "height": 48, "format": "PNG", "aspectRatio": 1.3333},
    }
    assert video["_id"] == clip["mediaId"] and video["type"] == "video" and video["mimeType"] == "video/mp4"
    meta = video["metadata"]
    assert (meta["width"], meta["height"], meta["size"]) == (64, 48, len(mp4))
    assert meta["codecName"] == "h264" and meta["frameRate"] == 25.0
    assert meta["duration"] == pytest.approx(1.0, abs=0.1)
    assert meta["format"] == "mov,mp4,m4a,3gp,3g2,mj2" and meta["bitRate"] > 0

    listed = (await backend.client.get("/api/v1/list-posts", headers=user.headers)).json()
    [group] = [g for g in listed["posts"] if g["postGroupId"] == group_id]
    assert group["mediaUrls"] == [photo["fileUrl"], clip["fileUrl"]]

    served = await fetch(backend, photo["fileUrl"])
    assert served.status_code == 200 and served.content == png
    assert served.headers["content-type"] == "image/png"


async def test_stream_from_offset_and_signed_fetch_url(backend, make_user, make_connection):
    user = await make_user()
    group_id = await create_draft(backend.client, user, [await make_connection(user)])
    mp4 = video_bytes(seconds=0.4)
    clip = await upload_url(backend.client, user, group_id, "video/mp4", "clip.mp4")
    assert (await put_file(backend.client, clip["uploadUrl"], mp4, "video/mp4")).status_code == 200
    [stored] = await probe_all(backend, group_id)

    whole = b"".join([c async for c in backend.storage.stream(stored.key, chunk_size=1000)])
    tail = b"".join([c async for c in backend.storage.stream(stored.key, offset=1500, chunk_size=700)])
    assert whole == mp4 and tail == mp4[1500:]
    assert [c async for c in backend.storage.stream(stored.key, offset=len(mp4))] == []

    fetched = await fetch(backend, backend.storage.signed_fetch_url(stored.key, 60))
    assert fetched.status_code == 200 and fetched.content == mp4


async def test_deleting_the_group_removes_its_files(backend, make_user, make_connection):
    user = await make_user()
    group_id = await create_draft(backend.client, user, [await make_connection(user)])
    kept_group = await create_draft(backend.client, user, [await make_connection(user)])
    png = image_bytes("PNG")
    doomed = await upload_url(backend.client, user, group_id, "image/png", "a.png")
    kept = await upload_url(backend.client, user, kept_group, "image/png", "b.png")
    for item in (doomed, kept):
        assert (await put_file(backend.client, item["uploadUrl"], png, "image/png")).status_code == 200
    [doomed_file] = await probe_all(backend, group_id)
    [kept_file] = await probe_all(backend, kept_group)
    cached = f"cache/{doomed_file.id}/bluesky-0123"
    await backend.storage.put(cached, b"converted", "image/jpeg")
    assert await backend.exists(doomed_file.key) and await backend.exists(cached)

    r = await backend.client.delete(f"/api/v1/delete-post/{group_id}", headers=user.headers)
    assert r.status_code == 200 and r.json() == {"success": True}
    assert not await backend.exists(doomed_file.key)
    assert not await backend.exists(cached)
    assert await backend.exists(kept_file.key)  # the control: another group's file stays
    gone = await backend.client.get(f"/api/v1/get-post/{group_id}", headers=user.headers)
    assert gone.status_code == 404
