"""POST /api/v1/get-upload-url: contract, error strings, tenancy, type defaults, file names, size cap."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, update

from postpost.db.models import Media, PostGroup
from postpost.services.media import sanitize_file_name
from tests.media.conftest import create_draft

REQUIRED = "fileName, contentType, and postGroupId are required"
ALLOWED = (
    "image/jpeg, image/png, image/gif, image/webp, image/bmp, image/tiff, "
    "video/mp4, video/quicktime, video/x-msvideo, video/x-matroska, video/webm"
)
MIB = 1024 * 1024


async def ask(client, user, **body):
    return await client.post("/api/v1/get-upload-url", headers=user.headers, json=body)


@pytest.fixture
async def owner(make_user, make_connection, client):
    user = await make_user()
    user.group_id = await create_draft(client, user, [await make_connection(user)])
    return user


def body_for(user, **overrides):
    return {"fileName": "photo.jpg", "contentType": "image/jpeg", "postGroupId": user.group_id, **overrides}


async def test_success_shape(client, owner):
    before = int(time.time())
    r = await ask(client, owner, **body_for(owner, type="image"))
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"success", "uploadUrl", "fileUrl", "mediaId"} and body["success"] is True
    assert re.fullmatch(r"[0-9a-f]{24}", body["mediaId"])
    assert re.fullmatch(
        r"http://127\.0\.0\.1:8000/media/images/\d{13}-[0-9a-f]{16}-photo\.jpg", body["fileUrl"]
    )
    url = urlsplit(body["uploadUrl"])
    assert body["uploadUrl"].startswith(body["fileUrl"] + "?")
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert set(query) == {"contentType", "expires", "maxBytes", "signature"}
    assert query["contentType"] == "image/jpeg"
    assert before + 3600 <= int(query["expires"]) <= int(time.time()) + 3600


@pytest.mark.parametrize(
    "overrides",
    [
        {"fileName": None},
        {"contentType": None},
        {"postGroupId": None},
        {"fileName": ""},
        {"contentType": "   "},
        {"postGroupId": ""},
        {"fileName": 12},
        {"contentType": ["image/png"]},
    ],
)
async def test_missing_fields(client, owner, overrides):
    body = {k: v for k, v in body_for(owner, **overrides).items() if v is not None}
    r = await ask(client, owner, **body)
    assert (r.status_code, r.json()) == (400, {"error": REQUIRED})


async def test_non_object_and_empty_bodies(client, owner):
    for raw in (b"[1, 2]", b"", b'"text"'):
        r = await client.post(
            "/api/v1/get-upload-url",
            headers={**owner.headers, "content-type": "application/json"},
            content=raw,
        )
        assert (r.status_code, r.json()) == (400, {"error": REQUIRED})


@pytest.mark.parametrize(
    ("content_type", "error"),
    [
        ("text/html", f"Only video and image files are allowed. Allowed types: {ALLOWED}"),
        ("application/octet-stream", f"Only video and image files are allowed. Allowed types: {ALLOWED}"),
        ("image/svg+xml", f"Unsupported contentType image/svg+xml. Allowed types: {ALLOWED}"),
        ("video/ogg", f"Unsupported contentType video/ogg. Allowed types: {ALLOWED}"),
        ("image/jpg", f"Unsupported contentType image/jpg. Allowed types: {ALLOWED}"),
    ],
)
async def test_content_types_no_platform_accepts(client, owner, content_type, error):
    r = await ask(client, owner, **body_for(owner, contentType=content_type))
    assert (r.status_code, r.json()) == (400, {"error": error})


@pytest.mark.parametrize(
    ("content_type", "given", "expected"),
    [
        ("image/png", None, "image"),
        ("video/webm", None, "video"),
        ("video/quicktime", "", "video"),
        ("image/gif", "image", "image"),
        ("Image/WebP; q=1", None, "image"),
    ],
)
async def test_type_defaults_from_content_type(client, owner, database, content_type, given, expected):
    extra = {} if given is None else {"type": given}
    r = await ask(client, owner, **body_for(owner, contentType=content_type, **extra))
    assert r.status_code == 200, r.text
    async with database.session() as session:
        row = await session.get(Media, r.json()["mediaId"])
    assert row is not None and row.type == expected
    assert row.mime_type == content_type.split(";")[0].strip().lower()
    assert f"/{expected}s/" in r.json()["fileUrl"]


@pytest.mark.parametrize(
    ("given", "error"),
    [
        ("audio", "type must be 'image' or 'video'"),
        ("IMAGE", "type must be 'image' or 'video'"),
        (3, "type must be 'image' or 'video'"),
        ("video", "type 'video' does not match contentType image/jpeg"),
    ],
)
async def test_bad_type(client, owner, given, error):
    r = await ask(client, owner, **body_for(owner, type=given))
    assert (r.status_code, r.json()) == (400, {"error": error})


async def test_group_must_be_the_callers(client, owner, make_user, database):
    stranger = await make_user()
    for group_id in (owner.group_id, "0" * 24, "not-an-id", "65f8a1b2c3d4e5f6a7b8c9d0x"):
        r = await ask(client, stranger, fileName="x.png", contentType="image/png", postGroupId=group_id)
        assert (r.status_code, r.json()) == (404, {"error": "Post group not found"})
    async with database.session() as session:
        count = len(list(await session.scalars(select(Media.id).where(Media.group_id == owner.group_id))))
    assert count == 0
    # The control: the owner gets a URL for the same group.
    assert (await ask(client, owner, **body_for(owner))).status_code == 200


async def test_managed_user_group_through_the_workspace_header(client, make_user, make_connection):
    boss = await make_user(workspace=True)
    managed = await make_user(parent=boss)
    group_id = await create_draft(client, managed, [await make_connection(managed)])
    headers = {**boss.headers, "x-postpost-user-id": managed.id}
    body = {"fileName": "a.png", "contentType": "image/png", "postGroupId": group_id}
    assert (await client.post("/api/v1/get-upload-url", headers=headers, json=body)).status_code == 200
    r = await client.post("/api/v1/get-upload-url", headers=boss.headers, json=body)
    assert (r.status_code, r.json()) == (404, {"error": "Post group not found"})


@pytest.mark.parametrize(
    ("status", "processing", "error"),
    [
        ("published", "finished", "Cannot add media to a post that has already been published or failed"),
        ("failed", "finished", "Cannot add media to a post that has already been published or failed"),
        (
            "partially_published",
            "finished",
            "Cannot add media to a post that has already been published or failed",
        ),
        ("scheduled", "processing", "Cannot add media to a post that is currently being published"),
    ],
)
async def test_finished_or_publishing_groups_refuse_media(client, owner, database, status, processing, error):
    async with database.session() as session:
        await session.execute(
            update(PostGroup)
            .where(PostGroup.id == owner.group_id)
            .values(status=status, processing_status=processing)
        )
        await session.commit()
    r = await ask(client, owner, **body_for(owner))
    assert (r.status_code, r.json()) == (400, {"error": error})


async def test_scheduled_group_accepts_media(client, make_user, make_connection):
    user = await make_user()
    r = await client.post(
        "/api/v1/create-post",
        headers=user.headers,
        json={
            "content": "x",
            "platforms": [await make_connection(user)],
            "scheduledTime": "2031-01-01T00:00:00Z",
        },
    )
    body = {"fileName": "a.png", "contentType": "image/png", "postGroupId": r.json()["postGroupId"]}
    assert (await client.post("/api/v1/get-upload-url", headers=user.headers, json=body)).status_code == 200


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("my photo (1).jpg", "my_photo_1.jpg"),
        ("  padded name.png  ", "padded_name.png"),
        ("two  spaces\there.gif", "two__spaces_here.gif"),
        ("crème brûlée.jpg", "crme_brle.jpg"),
        ("../../etc/passwd", "....etcpasswd"),
        ("((( )))", "_"),
        ("(((!)))", "file"),
        ("a-b_c.d.PNG", "a-b_c.d.PNG"),
    ],
)
def test_file_name_sanitising(given, expected):
    assert sanitize_file_name(given) == expected


def test_long_file_names_keep_their_extension():
    name = sanitize_file_name("x" * 400 + ".jpeg")
    assert len(name) == 150 and name.endswith("x.jpeg")


async def test_sanitised_name_is_stored_and_in_the_url(client, owner, database):
    r = await ask(client, owner, **body_for(owner, fileName="my photo (1).jpg"))
    assert r.json()["fileUrl"].endswith("-my_photo_1.jpg")
    async with database.session() as session:
        row = await session.get(Media, r.json()["mediaId"])
    assert row is not None and row.file_name == "my_photo_1.jpg" and row.status == "pending"


@pytest.mark.parametrize(
    ("plan", "entitlements", "cap"),
    [
        ("pro", None, 100 * MIB),
        ("premium", None, 250 * MIB),
        ("pro", {"mediaMaxBytes": 1000}, 1000),
        ("pro", {"mediaMaxBytes": None}, 512 * MIB),  # no plan cap: the server's ceiling
        ("pro", {"mediaMaxBytes": 10**12}, 512 * MIB),
    ],
)
async def test_size_cap_comes_from_the_plan(client, make_user, make_connection, plan, entitlements, cap):
    user = await make_user(plan, entitlements=entitlements)
    group_id = await create_draft(client, user, [await make_connection(user)])
    r = await client.post(
        "/api/v1/get-upload-url",
        headers=user.headers,
        json={"fileName": "v.mp4", "contentType": "video/mp4", "postGroupId": group_id},
    )
    assert parse_qs(urlsplit(r.json()["uploadUrl"]).query)["maxBytes"] == [str(cap)]


async def test_requires_an_api_key(client):
    r = await client.post("/api/v1/get-upload-url", json={})
    assert (r.status_code, r.json()) == (401, {"error": "API key is required"})
