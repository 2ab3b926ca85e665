"""Tests of the fake LinkedIn (OAuth, userinfo, REST posts, images and videos) over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest

from postpost.simulator import create_simulator_app
from tests.media.files import animated_gif, image_bytes, video_bytes
from tests.simulator.conftest import FakeClock

VERSION = "202605"  # the clock's month (FakeClock starts on 2026-05-28)
MEMBER = "AbC123xyz0"
TOKEN = f"sandbox.{MEMBER}.token"
AUTHOR = f"urn:li:person:{MEMBER}"
ORG = "urn:li:organization:4242"


def headers(token: str = TOKEN, version: str | None = VERSION) -> dict[str, str]:
    h = {"Authorization": f"Bearer {token}", "X-Restli-Protocol-Version": "2.0.0"}
    if version is not None:
        h["LinkedIn-Version"] = version
    return h


def post_body(commentary: str, author: str = AUTHOR, **extra: Any) -> dict[str, Any]:
    return {
        "author": author,
        "commentary": commentary,
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
        **extra,
    }


async def create(client: httpx.AsyncClient, commentary: str, **extra: Any) -> httpx.Response:
    token = extra.pop("token", TOKEN)
    return await client.post(
        "/linkedin/rest/posts", json=post_body(commentary, **extra), headers=headers(token)
    )


async def listing(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    posts: list[dict[str, Any]] = (await client.get("/_control/posts")).json()["posts"]
    for post in posts:
        post.pop("at")
    return posts


def assert_li_error(
    r: httpx.Response, status: int, *, code: str | None = None, service: int | None = None
) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code
    if service is not None:
        assert body["serviceErrorCode"] == service
    return str(body["message"])


@pytest.fixture
async def small_parts(clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    """The simulator with 1 KB video parts and a daily quota of 3 posts."""
    options = {"linkedin": {"part_size": 1024, "daily_posts": 3}}
    app = create_simulator_app(stall_seconds=0.2, clock=clock, options=options)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as c:
        yield c


# ----- posts and little text ------------------------------------------------------------


async def test_text_post_is_created_with_a_time_ordered_urn(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    r = await create(client, "Hello LinkedIn")
    assert r.status_code == 201 and r.content == b""
    urn = r.headers["x-restli-id"]
    assert urn.startswith("urn:li:share:")
    assert int(urn.rsplit(":", 1)[1]) >> 22 == int(clock.now * 1000)
    assert await listing(client) == [
        {
            "platform": "linkedin",
            "account": MEMBER,
            "id": urn,
            "text": "Hello LinkedIn",
            "replyTo": None,
            "media": [],
        }
    ]
    got = await client.get(f"/linkedin/rest/posts/{quote(urn, safe='')}", headers=headers())
    assert got.status_code == 200
    assert got.json()["commentary"] == "Hello LinkedIn" and got.json()["author"] == AUTHOR
    assert got.json()["createdAt"] == int(clock.now * 1000)
    missing = await client.get("/linkedin/rest/posts/urn%3Ali%3Ashare%3A1", headers=headers())
    assert_li_error(missing, 404, code="NOT_FOUND")
    unencoded = await client.get(f"/linkedin/rest/posts/{urn}", headers=headers())
    assert "URL-encoded" in assert_li_error(unencoded, 400, code="ILLEGAL_ARGUMENT")


async def test_escaped_reserved_characters_display_literally(client: httpx.AsyncClient) -> None:
    literal = r"Q&A \(live\) \@home \#1 \*bold\* \_x\_ \~ \<tag\> \[a\] \{b\} a\|b c\\d"
    assert (await create(client, literal)).status_code == 201
    [post] = await listing(client)
    assert post["text"] == r"Q&A (live) @home #1 *bold* _x_ ~ <tag> [a] {b} a|b c\d"


async def test_an_unescaped_reserved_character_cuts_the_post(client: httpx.AsyncClient) -> None:
    assert (await create(client, "Launch day (finally) is here")).status_code == 201
    assert (await create(client, "Price: 5 * 3")).status_code == 201
    assert [p["text"] for p in await listing(client)] == ["Launch day ", "Price: 5 "]


async def test_mentions_and_hashtags(client: httpx.AsyncClient) -> None:
    text = (
        r"Thanks @[Jane Doe \(CTO\)](urn:li:person:abc) and @[Acme Inc](urn:li:organization:12) "
        r"#launch {hashtag|\#|news}"
    )
    assert (await create(client, text)).status_code == 201
    [post] = await listing(client)
    assert post["text"] == "Thanks Jane Doe (CTO) and Acme Inc #launch #news"


async def test_required_fields_and_values(client: httpx.AsyncClient) -> None:
    body = post_body("x")
    del body["author"]
    r = await client.post("/linkedin/rest/posts", json=body, headers=headers())
    assert (
        assert_li_error(r, 422)
        == "ERROR :: /author :: field is required but not found and has no default value\n"
    )
    r = await create(client, "x", visibility="EVERYONE")
    assert "/visibility" in assert_li_error(r, 422)
    r = await create(client, "x", lifecycleState="DRAFT")
    assert "/lifecycleState" in assert_li_error(r, 422)
    r = await client.post("/linkedin/rest/posts", content=b"not json", headers=headers())
    assert_li_error(r, 400, code="ILLEGAL_ARGUMENT")
    assert await listing(client) == []


async def test_authors_the_member_may_post_as(client: httpx.AsyncClient) -> None:
    r = await create(client, "someone else", author="urn:li:person:Other00000")
    assert "Not enough permissions" in assert_li_error(r, 403, code="ACCESS_DENIED")
    r = await create(client, "for the company", author=ORG)
    assert r.status_code == 201
    [post] = await listing(client)
    assert post["account"] == "4242"


async def test_length_counts_the_displayed_text(client: httpx.AsyncClient) -> None:
    assert (await create(client, "\\(" * 3000)).status_code == 201  # 6,000 characters sent, 3,000 shown
    r = await create(client, "a" * 3001)
    message = assert_li_error(r, 422)
    assert message.startswith("ERROR :: /commentary :: length of 3001")
    assert r.json()["errorDetails"]["inputErrors"][0]["code"] == "MAX_LENGTH_EXCEEDED"


async def test_a_repeated_post_is_refused_naming_the_first(client: httpx.AsyncClient) -> None:
    first = (await create(client, "same words")).headers["x-restli-id"]
    r = await create(client, "same words")
    assert assert_li_error(r, 422) == f"ERROR :: /commentary :: Content is a duplicate of {first}\n"
    assert r.json()["errorDetails"]["inputErrors"][0]["code"] == "DUPLICATE_POST"
    assert (await create(client, "same words", author=ORG)).status_code == 201  # another author
    assert len(await listing(client)) == 2


async def test_daily_quota_answers_429_without_headers(small_parts: httpx.AsyncClient) -> None:
    for i in range(3):
        assert (await create(small_parts, f"post {i}")).status_code == 201
    r = await create(small_parts, "one too many")
    assert "DAY limit" in assert_li_error(r, 429)
    assert "retry-after" not in r.headers


# ----- versions and tokens --------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "code"),
    [(None, "VERSION_MISSING"), ("202401", "NONEXISTENT_VERSION"), ("202701", "NONEXISTENT_VERSION")],
)
async def test_missing_or_inactive_versions_get_426(
    client: httpx.AsyncClient, version: str | None, code: str
) -> None:
    r = await client.post("/linkedin/rest/posts", json=post_body("x"), headers=headers(version=version))
    assert_li_error(r, 426, code=code)
    assert await listing(client) == []


async def test_a_year_old_version_is_still_active_and_restli_is_required(client: httpx.AsyncClient) -> None:
    r = await client.post("/linkedin/rest/posts", json=post_body("old"), headers=headers(version="202505"))
    assert r.status_code == 201
    h = headers()
    del h["X-Restli-Protocol-Version"]
    r = await client.post("/linkedin/rest/posts", json=post_body("no restli"), headers=h)
    assert_li_error(r, 400, code="ILLEGAL_ARGUMENT")


async def test_bad_tokens(client: httpx.AsyncClient) -> None:
    r = await client.post("/linkedin/rest/posts", json=post_body("x"), headers={"LinkedIn-Version": VERSION})
    assert_li_error(r, 401, code="EMPTY_ACCESS_TOKEN")
    r = await create(client, "x", token="forged")
    assert_li_error(r, 401, code="INVALID_ACCESS_TOKEN", service=65600)
    r = await client.get("/linkedin/v2/userinfo", headers={"Authorization": "Bearer nope"})
    assert_li_error(r, 401, service=65600)


async def oauth_tokens(client: httpx.AsyncClient, member: str = MEMBER) -> dict[str, Any]:
    r = await client.get(
        "/linkedin/oauth/v2/authorization",
        params={
            "response_type": "code",
            "client_id": "app",
            "redirect_uri": "https://postpost.test/cb",
            "state": "s1",
            "scope": "openid profile w_member_social",
            "member": member,
        },
    )
    assert r.status_code == 302
    target = urlsplit(r.headers["location"])
    assert target.netloc == "postpost.test" and target.path == "/cb"
    query = parse_qs(target.query)
    assert query["state"] == ["s1"]
    form = {
        "grant_type": "authorization_code",
        "code": query["code"][0],
        "redirect_uri": "https://postpost.test/cb",
        "client_id": "app",
        "client_secret": "secret",
    }
    r = await client.post("/linkedin/oauth/v2/accessToken", data=form)
    assert r.status_code == 200, r.text
    tokens: dict[str, Any] = r.json()
    again = await client.post("/linkedin/oauth/v2/accessToken", data=form)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"  # a code is single-use
    return tokens


async def test_oauth_code_flow_and_userinfo(client: httpx.AsyncClient) -> None:
    tokens = await oauth_tokens(client)
    assert tokens["expires_in"] == 60 * 86400
    assert tokens["refresh_token_expires_in"] == 365 * 86400
    assert tokens["scope"] == "openid,profile,w_member_social"
    me = await client.get(
        "/linkedin/v2/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["sub"] == MEMBER and me.json()["name"] == f"Sandbox Member {MEMBER}"
    assert (await create(client, "with an issued token", token=tokens["access_token"])).status_code == 201


async def test_refresh_grant_keeps_the_refresh_token_and_tokens_expire(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    tokens = await oauth_tokens(client)
    clock.now += 61 * 86400
    r = await create(client, "too late", token=tokens["access_token"])
    assert_li_error(r, 401, code="EXPIRED_ACCESS_TOKEN", service=65602)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": "app",
        "client_secret": "s",
    }
    r = await client.post("/linkedin/oauth/v2/accessToken", data=form)
    assert r.status_code == 200
    fresh = r.json()
    assert fresh["refresh_token"] == tokens["refresh_token"]
    assert fresh["refresh_token_expires_in"] == (365 - 61) * 86400
    assert fresh["access_token"] != tokens["access_token"]
    assert (await create(client, "refreshed", token=fresh["access_token"])).status_code == 201
    wrong_client = await client.post("/linkedin/oauth/v2/accessToken", data={**form, "client_id": "other"})
    assert wrong_client.status_code == 401 and wrong_client.json()["error"] == "invalid_client"
    clock.now += 305 * 86400
    expired = await client.post("/linkedin/oauth/v2/accessToken", data=form)
    assert expired.status_code == 400 and expired.json()["error"] == "invalid_grant"


async def test_oauth_refusals(client: httpx.AsyncClient) -> None:
    r = await client.get("/linkedin/oauth/v2/authorization", params={"client_id": "app"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = await client.get(
        "/linkedin/oauth/v2/authorization",
        params={
            "response_type": "token",
            "client_id": "app",
            "redirect_uri": "https://x.test/cb?a=1",
            "state": "z",
        },
    )
    assert r.status_code == 302
    assert r.headers["location"] == "https://x.test/cb?a=1&error=unsupported_response_type&state=z"
    r = await client.post("/linkedin/oauth/v2/accessToken", data={"grant_type": "password"})
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = await client.post("/linkedin/oauth/v2/accessToken", data={"grant_type": "refresh_token"})
    assert (
        r.status_code == 400
        and r.json()["error_description"] == 'A required parameter "refresh_token" is missing'
    )


# ----- faults -----------------------------------------------------------------------------


async def test_markers_in_linkedins_wire_format(client: httpx.AsyncClient) -> None:
    r = await create(client, r"nope \#sandbox:auth-expired")
    assert_li_error(r, 401, code="EXPIRED_ACCESS_TOKEN", service=65602)
    r = await create(client, r"bad \#sandbox:invalid-content@linkedin")
    assert "/commentary" in assert_li_error(r, 422)
    r = await create(client, r"busy \#sandbox:rate-limit-once")
    assert_li_error(r, 429)
    assert r.headers["retry-after"] == "1"
    assert (await create(client, r"busy \#sandbox:rate-limit-once")).status_code == 201
    r = await create(client, r"flaky \#sandbox:server-error-once")
    assert_li_error(r, 503)
    assert (await create(client, r"flaky \#sandbox:server-error-once")).status_code == 201
    assert (await create(client, r"other \#sandbox:auth-expired\@mastodon")).status_code == 201
    assert [p["text"] for p in await listing(client)] == [
        "busy #sandbox:rate-limit-once",
        "flaky #sandbox:server-error-once",
        "other #sandbox:auth-expired@mastodon",
    ]


async def test_timeout_after_commit_stores_then_stalls_and_a_repeat_is_a_duplicate(
    client: httpx.AsyncClient,
) -> None:
    text = r"lost \#sandbox:timeout-after-commit"
    r = await create(client, text)  # stalls 0.2 s in this app, then answers
    assert r.status_code == 201
    urn = r.headers["x-restli-id"]
    again = await create(client, text)
    assert urn in assert_li_error(again, 422)
    assert [p["id"] for p in await listing(client)] == [urn]


async def test_control_reset_of_one_account(client: httpx.AsyncClient) -> None:
    await create(client, "mine")
    await create(client, "the company's", author=ORG)
    r = await client.post("/_control/reset", json={"platform": "linkedin", "account": MEMBER})
    assert r.status_code == 200
    assert [p["account"] for p in await listing(client)] == ["4242"]
    assert (await create(client, "mine")).status_code == 201  # no longer a duplicate


# ----- media ------------------------------------------------------------------------------


async def upload_image(client: httpx.AsyncClient, data: bytes, owner: str = AUTHOR) -> str:
    r = await client.post(
        "/linkedin/rest/images",
        params={"action": "initializeUpload"},
        json={"initializeUploadRequest": {"owner": owner}},
        headers=headers(),
    )
    assert r.status_code == 200, r.text
    value = r.json()["value"]
    assert value["image"].startswith("urn:li:image:") and value["uploadUrlExpiresAt"] > 0
    url = value["uploadUrl"]
    assert url.startswith("http://sim/linkedin/dms-uploads/")
    put = await client.put(url, content=data, headers={"Authorization": f"Bearer {TOKEN}"})
    assert put.status_code == 201, put.text
    return str(value["image"])


async def status_of(client: httpx.AsyncClient, urn: str) -> dict[str, Any]:
    kind = "videos" if ":video:" in urn else "images"
    r = await client.get(f"/linkedin/rest/{kind}/{quote(urn, safe='')}", headers=headers())
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_single_and_multi_image_posts(client: httpx.AsyncClient) -> None:
    png = await upload_image(client, image_bytes("PNG"))
    assert await status_of(client, png) == {
        "id": png,
        "owner": AUTHOR,
        "status": "AVAILABLE",
        "aspectRatioWidth": 64,
        "aspectRatioHeight": 48,
    }
    r = await create(client, "one", content={"media": {"id": png, "altText": "red"}})
    assert r.status_code == 201 and r.headers["x-restli-id"].startswith("urn:li:ugcPost:")
    jpeg = await upload_image(client, image_bytes("JPEG", size=(30, 20)))
    gif = await upload_image(client, animated_gif())
    images = [{"id": jpeg, "altText": "a"}, {"id": gif}]
    assert (await create(client, "two", content={"multiImage": {"images": images}})).status_code == 201
    lone = await create(client, "lone", content={"multiImage": {"images": images[:1]}})
    assert "2 to 20" in assert_li_error(lone, 422)
    one, two = await listing(client)
    assert one["media"] == [
        {"type": "image", "mimeType": "image/png", "size": 139, "width": 64, "height": 48}
    ]
    assert [(m["mimeType"], m["width"]) for m in two["media"]] == [("image/jpeg", 30), ("image/gif", 40)]
    stored = await client.get(f"/linkedin/rest/posts/{quote(one['id'], safe='')}", headers=headers())
    assert stored.json()["content"] == {"media": {"id": png, "altText": "red"}}


async def test_images_linkedin_cannot_process(client: httpx.AsyncClient) -> None:
    webp = await upload_image(client, image_bytes("WEBP"))
    status = await status_of(client, webp)
    assert status["status"] == "PROCESSING_FAILED"
    assert status["processingFailureReason"] == "Unsupported image format WEBP"
    r = await create(client, "webp", content={"media": {"id": webp}})
    assert "not available" in assert_li_error(r, 422)
    other = await create(client, "not mine", content={"media": {"id": "urn:li:image:nope"}})
    assert "/content/media/id" in assert_li_error(other, 422)
    assert await listing(client) == []


async def open_video(client: httpx.AsyncClient, size: int) -> dict[str, Any]:
    request = {"owner": AUTHOR, "fileSizeBytes": size, "uploadCaptions": False, "uploadThumbnail": False}
    r = await client.post(
        "/linkedin/rest/videos",
        params={"action": "initializeUpload"},
        json={"initializeUploadRequest": request},
        headers=headers(),
    )
    assert r.status_code == 200, r.text
    value: dict[str, Any] = r.json()["value"]
    return value


async def put_parts(client: httpx.AsyncClient, value: dict[str, Any], data: bytes) -> list[str]:
    etags = []
    for part in value["uploadInstructions"]:
        chunk = data[part["firstByte"] : part["lastByte"] + 1]
        r = await client.put(
            part["uploadUrl"], content=chunk, headers={"Content-Type": "application/octet-stream"}
        )
        assert r.status_code == 200, r.text
        etags.append(r.headers["etag"])
    return etags


async def finalize(client: httpx.AsyncClient, value: dict[str, Any], etags: list[str]) -> httpx.Response:
    request = {"video": value["video"], "uploadToken": value["uploadToken"], "uploadedPartIds": etags}
    return await client.post(
        "/linkedin/rest/videos",
        params={"action": "finalizeUpload"},
        json={"finalizeUploadRequest": request},
        headers=headers(),
    )


async def test_video_upload_in_parts_then_processing(small_parts: httpx.AsyncClient) -> None:
    data = video_bytes(seconds=3.0, size=(32, 32), fps=10)
    value = await open_video(small_parts, len(data))
    ranges = [(p["firstByte"], p["lastByte"]) for p in value["uploadInstructions"]]
    assert ranges[0] == (0, 1023) and ranges[-1][1] == len(data) - 1 and len(ranges) == -(-len(data) // 1024)
    assert value["uploadToken"]
    etags = await put_parts(small_parts, value, data)
    assert len(set(etags)) == len(etags)
    wrong = await finalize(small_parts, value, list(reversed(etags)))
    assert "uploadedPartIds" in assert_li_error(wrong, 400)
    early = await create(small_parts, "too soon", content={"media": {"id": value["video"]}})
    assert "WAITING_UPLOAD" in assert_li_error(early, 422)
    assert (await finalize(small_parts, value, etags)).status_code == 200
    assert (await status_of(small_parts, value["video"]))["status"] == "PROCESSING"
    available = await status_of(small_parts, value["video"])
    assert available["status"] == "AVAILABLE" and available["duration"] == 3000
    assert (await create(small_parts, "video", content={"media": {"id": value["video"]}})).status_code == 201
    [post] = await listing(small_parts)
    assert post["media"] == [
        {
            "type": "video",
            "mimeType": "video/mp4",
            "size": len(data),
            "width": 32,
            "height": 32,
            "duration": 3.0,
        }
    ]


async def test_a_part_must_hold_its_byte_range(small_parts: httpx.AsyncClient) -> None:
    data = video_bytes(seconds=3.0, size=(32, 32), fps=10)
    value = await open_video(small_parts, len(data))
    r = await small_parts.put(value["uploadInstructions"][0]["uploadUrl"], content=data[:10])
    assert "bytes 0-1023" in assert_li_error(r, 400)
    r = await small_parts.post(
        "/linkedin/rest/videos",
        params={"action": "initializeUpload"},
        json={"initializeUploadRequest": {"owner": AUTHOR, "fileSizeBytes": 600 * 1024 * 1024}},
        headers=headers(),
    )
    assert_li_error(r, 400)


async def test_a_short_video_fails_processing(client: httpx.AsyncClient) -> None:
    data = video_bytes(seconds=1.0, size=(32, 32), fps=10)
    value = await open_video(client, len(data))
    assert len(value["uploadInstructions"]) == 1 and value["uploadToken"] == ""
    assert (await finalize(client, value, await put_parts(client, value, data))).status_code == 200
    await status_of(client, value["video"])
    failed = await status_of(client, value["video"])
    assert failed["status"] == "PROCESSING_FAILED"
    assert failed["processingFailureReason"] == "Video duration 1.0 s is outside 3 s to 30 min"


async def uploaded_video(client: httpx.AsyncClient) -> str:
    data = video_bytes(seconds=3.0, size=(32, 32), fps=10)
    value = await open_video(client, len(data))
    assert (await finalize(client, value, await put_parts(client, value, data))).status_code == 200
    while (await status_of(client, value["video"]))["status"] != "AVAILABLE":
        pass
    return str(value["video"])


async def test_media_markers_apply_when_the_post_arrives(client: httpx.AsyncClient) -> None:
    failing = await uploaded_video(client)
    text = r"video \#sandbox:media-processing-failed"
    r = await create(client, text, content={"media": {"id": failing}})
    assert "PROCESSING_FAILED" in assert_li_error(r, 422)
    assert (await status_of(client, failing))["processingFailureReason"] == "MEDIA_ASSET_PROCESSING_FAILED"

    slow = await uploaded_video(client)
    text = r"video \#sandbox:media-slow"
    assert "PROCESSING" in assert_li_error(await create(client, text, content={"media": {"id": slow}}), 422)
    statuses = [(await status_of(client, slow))["status"] for _ in range(4)]
    assert statuses == ["PROCESSING", "PROCESSING", "PROCESSING", "AVAILABLE"]
    assert (await create(client, text, content={"media": {"id": slow}})).status_code == 201
    assert [p["text"] for p in await listing(client)] == ["video #sandbox:media-slow"]


async def test_queued_upload_interruption_fails_the_middle_part_once(small_parts: httpx.AsyncClient) -> None:
    queued = await small_parts.post(
        "/_control/faults", json={"platform": "linkedin", "account": MEMBER, "fault": "upload-interrupted"}
    )
    assert queued.status_code == 200
    data = video_bytes(seconds=3.0, size=(32, 32), fps=10)
    value = await open_video(small_parts, len(data))
    middle = len(data) // 2 // 1024
    statuses = []
    for part in value["uploadInstructions"]:
        r = await small_parts.put(part["uploadUrl"], content=data[part["firstByte"] : part["lastByte"] + 1])
        statuses.append(r.status_code)
    assert statuses[middle] == 500 and statuses.count(500) == 1
    retry = value["uploadInstructions"][middle]
    r = await small_parts.put(retry["uploadUrl"], content=data[retry["firstByte"] : retry["lastByte"] + 1])
    assert r.status_code == 200


async def test_queued_processing_failure(client: httpx.AsyncClient) -> None:
    await client.post(
        "/_control/faults",
        json={"platform": "linkedin", "account": MEMBER, "fault": "media-processing-failed"},
    )
    data = video_bytes(seconds=3.0, size=(32, 32), fps=10)
    value = await open_video(client, len(data))
    assert (await finalize(client, value, await put_parts(client, value, data))).status_code == 200
    await status_of(client, value["video"])
    assert (await status_of(client, value["video"]))["status"] == "PROCESSING_FAILED"
    assert (await create(client, "queued fault consumed")).status_code == 201
