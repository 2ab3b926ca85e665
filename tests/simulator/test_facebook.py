"""The fake Facebook Graph API on its own (over ASGI)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.media.files import image_bytes, video_bytes
from tests.simulator.conftest import FakeClock

PAGE = "100000000000042"
API = "/facebook/v23.0"


def auth(account: str = PAGE) -> dict[str, str]:
    return {"Authorization": f"Bearer sandbox.{account}.secret"}


def error_of(r: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = r.json()["error"]
    assert error["fbtrace_id"]
    return error


async def posts(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    return list((await client.get("/_control/posts", params={"platform": "facebook"})).json()["posts"])


async def feed(client: httpx.AsyncClient, **data: str) -> httpx.Response:
    return await client.post(f"{API}/{PAGE}/feed", data=data, headers=auth())


async def photo(client: httpx.AsyncClient, data: bytes, **fields: str) -> httpx.Response:
    files = {"source": ("p.png", data, "image/png")}
    return await client.post(f"{API}/{PAGE}/photos", data=fields, files=files, headers=auth())


async def test_feed_post_and_listing(client: httpx.AsyncClient, clock: FakeClock) -> None:
    r = await feed(client, message="first", link="https://example.com")
    assert r.status_code == 200
    first = r.json()["id"]
    assert first.startswith(f"{PAGE}_")
    clock.now += 10
    second = (await feed(client, message="second")).json()["id"]
    r = await client.get(
        f"{API}/{PAGE}/published_posts", params={"fields": "id,message,created_time"}, headers=auth()
    )
    data = r.json()["data"]
    assert [(d["id"], d["message"]) for d in data] == [(second, "second"), (first, "first")]
    assert data[0]["created_time"].endswith("+0000") and set(data[0]) == {"id", "message", "created_time"}
    r = await client.get(
        f"{API}/{PAGE}/published_posts", params={"since": str(clock.now - 5)}, headers=auth()
    )
    assert [d["id"] for d in r.json()["data"]] == [second]
    r = await client.get(f"{API}/{first}", params={"fields": "message,link"}, headers=auth())
    assert r.json() == {"id": first, "message": "first", "link": "https://example.com"}
    assert [p["text"] for p in await posts(client)] == ["first", "second"]


async def test_duplicate_message(client: httpx.AsyncClient) -> None:
    await feed(client, message="again")
    r = await feed(client, message="again")
    assert r.status_code == 400
    assert (error_of(r)["code"], error_of(r)["error_subcode"]) == (506, 1455006)
    await feed(client, message="between")
    assert (await feed(client, message="again")).status_code == 200


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "(#100) Missing message or attachment"),
        ({"message": "x", "link": "ftp://x"}, "(#100) The parameter link must be a valid URL"),
        ({"message": "x" * 63207}, "(#100) The message exceeds the maximum length of 63206 characters"),
        ({"message": "x", "attached_media[0]": '{"media_fbid":"1"}'}, None),
    ],
)
async def test_feed_validation(client: httpx.AsyncClient, data: dict[str, str], message: str | None) -> None:
    r = await feed(client, **data)
    assert r.status_code == 400 and error_of(r)["code"] == 100
    if message:
        assert error_of(r)["message"] == message


async def test_only_the_pages_own_token_publishes(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{API}/{PAGE}/feed", data={"message": "x"}, headers=auth("999"))
    assert r.status_code == 400 and error_of(r)["code"] == 200
    r = await client.post(f"{API}/{PAGE}/feed", data={"message": "x"})
    assert error_of(r)["code"] == 190


async def test_photos(client: httpx.AsyncClient) -> None:
    r = await photo(client, image_bytes(size=(30, 20)), message="one photo")
    body = r.json()
    assert set(body) == {"id", "post_id"}
    [post] = await posts(client)
    assert post["id"] == body["post_id"] and post["media"][0]["width"] == 30
    ids = [(await photo(client, image_bytes(), published="false")).json()["id"] for _ in range(2)]
    assert len(await posts(client)) == 1  # unpublished photos are not posts
    attached = {f"attached_media[{i}]": json.dumps({"media_fbid": pid}) for i, pid in enumerate(ids)}
    r = await feed(client, message="album", **attached)
    assert r.status_code == 200
    assert len((await posts(client))[-1]["media"]) == 2
    r = await feed(client, message="reuse", **attached)
    assert r.status_code == 400  # each photo belongs to one post
    r = await photo(client, b"not an image", message="x")
    assert (r.status_code, error_of(r)["code"]) == (400, 324)


async def test_single_video_and_processing(client: httpx.AsyncClient) -> None:
    files = {"source": ("v.mp4", video_bytes(), "video/mp4")}
    r = await client.post(f"{API}/{PAGE}/videos", data={"description": "clip"}, files=files, headers=auth())
    video = r.json()["id"]
    statuses = []
    for _ in range(2):
        r = await client.get(f"{API}/{video}", params={"fields": "status"}, headers=auth())
        statuses.append(r.json()["status"]["video_status"])
    assert statuses == ["processing", "ready"]
    [post] = await posts(client)
    assert post["id"] == f"{PAGE}_{video}" and post["media"][0]["type"] == "video"


async def test_resumable_phases(client: httpx.AsyncClient) -> None:
    data = video_bytes(seconds=0.5)
    url = f"{API}/{PAGE}/videos"
    start = (
        await client.post(url, data={"upload_phase": "start", "file_size": str(len(data))}, headers=auth())
    ).json()
    assert start["start_offset"] == "0" and int(start["end_offset"]) == len(data)  # one 4 MB chunk
    session = start["upload_session_id"]

    async def transfer(offset: int, chunk: bytes) -> httpx.Response:
        fields = {"upload_phase": "transfer", "upload_session_id": session, "start_offset": str(offset)}
        return await client.post(url, data=fields, files={"video_file_chunk": ("c", chunk)}, headers=auth())

    early = await client.post(
        url, data={"upload_phase": "finish", "upload_session_id": session}, headers=auth()
    )
    assert early.status_code == 400 and error_of(early)["error_subcode"] == 1363030
    assert (await transfer(10, data)).status_code == 400  # past what arrived
    r = await transfer(0, data[:100])
    assert r.json() == {"start_offset": "100", "end_offset": str(len(data))}
    r = await transfer(50, data[50:])  # resending from an earlier offset is accepted
    assert r.json() == {"start_offset": str(len(data)), "end_offset": str(len(data))}
    r = await client.post(
        url,
        data={"upload_phase": "finish", "upload_session_id": session, "description": "big"},
        headers=auth(),
    )
    assert r.json() == {"success": True}
    [post] = await posts(client)
    assert post["media"][0]["size"] == len(data) and post["text"] == "big"


async def test_queued_upload_interruption_keeps_half_a_chunk(client: httpx.AsyncClient) -> None:
    await client.post(
        "/_control/faults", json={"platform": "facebook", "account": PAGE, "fault": "upload-interrupted"}
    )
    url = f"{API}/{PAGE}/videos"
    start = (
        await client.post(url, data={"upload_phase": "start", "file_size": "1000"}, headers=auth())
    ).json()
    fields = {
        "upload_phase": "transfer",
        "upload_session_id": start["upload_session_id"],
        "start_offset": "0",
    }
    with pytest.raises(AssertionError):  # httpx's ASGI transport: the answer never completed
        await client.post(url, data=fields, files={"video_file_chunk": ("c", b"x" * 1000)}, headers=auth())
    r = await client.get(f"{API}/{start['video_id']}", params={"fields": "status"}, headers=auth())
    assert r.json()["status"]["uploading_phase"] == {"status": "in_progress", "bytes_transferred": 500}


async def test_faults(client: httpx.AsyncClient) -> None:
    r = await feed(client, message="#sandbox:rate-limit-once")
    assert (r.status_code, error_of(r)["code"]) == (400, 32)
    assert "estimated_time_to_regain_access" in r.headers["X-Business-Use-Case-Usage"]
    r = await feed(client, message="#sandbox:auth-expired")
    assert (error_of(r)["code"], error_of(r)["error_subcode"]) == (190, 463)
    r = await feed(client, message="#sandbox:server-error-after-commit")
    assert r.status_code == 500 and len(await posts(client)) == 1


async def test_login_pages_and_debug_token(client: httpx.AsyncClient) -> None:
    r = await client.get(
        "/facebook/v23.0/dialog/oauth",
        params={
            "client_id": "app",
            "redirect_uri": "https://example.com/cb",
            "state": "s1",
            "scope": "pages_show_list",
        },
    )
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["state"] == ["s1"]
    params = {
        "client_id": "app",
        "client_secret": "sec",
        "redirect_uri": "https://example.com/cb",
        "code": query["code"][0],
    }
    short = (await client.get(f"{API}/oauth/access_token", params=params)).json()
    assert short["token_type"] == "bearer" and short["expires_in"] == 7200
    long = (
        await client.get(
            f"{API}/oauth/access_token",
            params={
                "grant_type": "fb_exchange_token",
                "client_id": "app",
                "client_secret": "sec",
                "fb_exchange_token": short["access_token"],
            },
        )
    ).json()
    assert long["expires_in"] == 5184000
    user_headers = {"Authorization": f"Bearer {long['access_token']}"}
    page, other = (await client.get(f"{API}/me/accounts", headers=user_headers)).json()["data"]
    assert set(page) == {"id", "name", "access_token", "tasks", "category", "category_list"}
    assert "CREATE_CONTENT" in page["tasks"] and other["id"] != page["id"]
    picked = await client.get(
        f"{API}/me/accounts", params={"fields": "name,link,picture{url}"}, headers=user_headers
    )
    assert set(picked.json()["data"][1]) == {"id", "name", "link", "picture"}
    page_headers = {"Authorization": f"Bearer {page['access_token']}"}
    r = await client.get(f"{API}/me/accounts", headers=page_headers)
    assert r.status_code == 400  # a page has no pages
    r = await client.post(f"{API}/{page['id']}/feed", data={"message": "hi"}, headers=user_headers)
    assert error_of(r)["code"] == 200  # a user token does not publish as the page
    assert (
        await client.post(f"{API}/{page['id']}/feed", data={"message": "hi"}, headers=page_headers)
    ).status_code == 200
    debug = await client.get(
        f"{API}/debug_token", params={"input_token": page["access_token"], "access_token": "app|sec"}
    )
    data = debug.json()["data"]
    assert (data["type"], data["is_valid"], data["expires_at"], data["profile_id"]) == (
        "PAGE",
        True,
        0,
        page["id"],
    )
    debug = await client.get(
        f"{API}/debug_token", params={"input_token": long["access_token"]}, headers=user_headers
    )
    assert debug.json()["data"]["type"] == "USER" and debug.json()["data"]["expires_at"] > 0
    debug = await client.get(f"{API}/debug_token", params={"input_token": "junk", "access_token": "app|sec"})
    assert debug.json()["data"] == {
        "is_valid": False,
        "error": {"code": 190, "message": "Invalid OAuth access token."},
        "scopes": [],
    }
    params["code"] = "used"
    refused = await client.post(f"{API}/oauth/access_token", data=params)
    assert refused.status_code == 400
    assert error_of(refused) | {"fbtrace_id": ""} == {
        "message": "Invalid verification code format.",
        "type": "OAuthException",
        "code": 100,
        "error_subcode": 36008,
        "fbtrace_id": "",
    }


async def test_login_denied(client: httpx.AsyncClient) -> None:
    query = {"client_id": "app", "redirect_uri": "https://example.com/cb?x=1", "state": "s2"}
    r = await client.get("/facebook/v23.0/dialog/oauth", params=query | {"sandbox_deny": "1"})
    assert r.status_code == 302
    back = parse_qs(urlsplit(r.headers["location"]).query)
    assert back == {
        "x": ["1"],
        "error": ["access_denied"],
        "error_reason": ["user_denied"],
        "error_description": ["The user denied your request."],
        "state": ["s2"],
    }
    odd = await client.get("/facebook/v23.0/dialog/oauth", params=query | {"sandbox_account": "abc"})
    assert odd.status_code == 400
