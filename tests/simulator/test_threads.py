"""The fake Threads API on its own (over ASGI; media hosted over real HTTP)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.media.files import image_bytes, video_bytes
from tests.platforms.graph_helpers import (  # noqa: F401 - fixtures
    MediaServer,
    media_host_fixture,
    media_server_fixture,
)
from tests.simulator.conftest import FakeClock

USER = "17841400000000001"
API = "/threads/v1.0"


def auth(account: str = USER) -> dict[str, str]:
    return {"Authorization": f"Bearer sandbox.{account}.secret"}


async def create(client: httpx.AsyncClient, account: str = USER, **params: str) -> httpx.Response:
    return await client.post(f"{API}/{account}/threads", data=params, headers=auth(account))


async def container(client: httpx.AsyncClient, **params: str) -> str:
    r = await create(client, **params)
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


async def status(client: httpx.AsyncClient, container_id: str) -> dict[str, Any]:
    r = await client.get(f"{API}/{container_id}", params={"fields": "status,error_message"}, headers=auth())
    assert r.status_code == 200, r.text
    return dict(r.json())


async def publish(client: httpx.AsyncClient, container_id: str, account: str = USER) -> httpx.Response:
    return await client.post(
        f"{API}/{account}/threads_publish", params={"creation_id": container_id}, headers=auth(account)
    )


def error_of(r: httpx.Response) -> dict[str, Any]:
    body = r.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert error["fbtrace_id"] and error["type"]
    return error


async def test_text_post_two_steps(client: httpx.AsyncClient) -> None:
    cid = await container(client, media_type="TEXT", text="Hello")
    assert await status(client, cid) == {"id": cid, "status": "FINISHED"}
    r = await publish(client, cid)
    assert r.status_code == 200
    media_id = r.json()["id"]
    assert media_id != cid
    assert (await status(client, cid))["status"] == "PUBLISHED"
    r = await client.get(
        f"{API}/{media_id}", params={"fields": "id,text,media_type,permalink,is_reply"}, headers=auth()
    )
    post = r.json()
    assert post["text"] == "Hello" and post["media_type"] == "TEXT_POST" and post["is_reply"] is False
    assert post["permalink"].startswith(f"https://www.threads.net/@sandbox_{USER[-8:]}/post/")
    listed = (await client.get("/_control/posts", params={"platform": "threads"})).json()["posts"]
    assert [(p["id"], p["text"], p["replyTo"], p["media"]) for p in listed] == [(media_id, "Hello", None, [])]
    again = await publish(client, cid)
    assert again.status_code == 400 and error_of(again)["message"] == "The media has already been published"


async def test_listing_newest_first_with_since(client: httpx.AsyncClient, clock: FakeClock) -> None:
    for text in ("old", "new"):
        await publish(client, await container(client, media_type="TEXT", text=text))
        clock.now += 60
    r = await client.get(f"{API}/{USER}/threads", params={"fields": "id,text,timestamp"}, headers=auth())
    data = r.json()["data"]
    assert [d["text"] for d in data] == ["new", "old"]
    assert set(data[0]) == {"id", "text", "timestamp"} and data[0]["timestamp"].endswith("+0000")
    r = await client.get(
        f"{API}/{USER}/threads", params={"fields": "text", "since": str(clock.now - 90)}, headers=auth()
    )
    assert [d["text"] for d in r.json()["data"]] == ["new"]


async def test_reply_needs_an_existing_thread(client: httpx.AsyncClient) -> None:
    r = await create(client, media_type="TEXT", text="reply", reply_to_id="123")
    assert r.status_code == 400 and error_of(r)["code"] == 100
    head = (await publish(client, await container(client, media_type="TEXT", text="head"))).json()["id"]
    reply = (
        await publish(client, await container(client, media_type="TEXT", text="r", reply_to_id=head))
    ).json()
    listed = (await client.get("/_control/posts")).json()["posts"]
    assert listed[-1]["id"] == reply["id"] and listed[-1]["replyTo"] == head


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"media_type": "TEXT"}, "Param text is required for TEXT posts"),
        (
            {"media_type": "POLL", "text": "x"},
            "Param media_type must be one of {TEXT, IMAGE, VIDEO, CAROUSEL}",
        ),
        ({"media_type": "TEXT", "text": "x" * 501}, "Param text must be at most 500 characters long."),
        ({"media_type": "TEXT", "text": "🎉" * 126}, "Param text must be at most 500 characters long."),
        ({"media_type": "TEXT", "text": "x", "reply_control": "nobody"}, None),
        ({"media_type": "IMAGE", "text": "x"}, "Param image_url is required for IMAGE"),
        (
            {"media_type": "CAROUSEL", "text": "x", "children": "1"},
            "A carousel must have between 2 and 20 children",
        ),
    ],
)
async def test_container_validation(
    client: httpx.AsyncClient, params: dict[str, str], message: str | None
) -> None:
    r = await create(client, **params)
    assert r.status_code == 400
    error = error_of(r)
    assert error["code"] == 100
    if message is not None:
        assert error["message"] == message


async def test_text_of_exactly_500_with_emoji(client: httpx.AsyncClient) -> None:
    await container(client, media_type="TEXT", text="🎉" * 125)  # 4 bytes each


async def test_tokens(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Bearer sandbox.abc.x"}):
        r = await client.get(f"{API}/me", headers=headers)
        assert r.status_code == 400
        assert error_of(r) | {"fbtrace_id": ""} == {
            "message": "Invalid OAuth access token - Cannot parse access token",
            "type": "OAuthException",
            "code": 190,
            "fbtrace_id": "",
        }
    r = await client.get(f"{API}/me", params={"fields": "id,username", "access_token": f"sandbox.{USER}.x"})
    assert r.json()["id"] == USER
    r = await client.get(f"{API}/me", headers={"Authorization": f"OAuth sandbox.{USER}.x"})
    assert r.json()["username"] == f"sandbox_{USER[-8:]}"


async def test_other_accounts_objects_are_unknown(client: httpx.AsyncClient) -> None:
    cid = await container(client, media_type="TEXT", text="mine")
    r = await publish(client, cid, account="999")
    assert r.status_code == 400
    assert error_of(r)["error_subcode"] == 33
    r = await create(client, account=USER, media_type="TEXT", text="x")
    r = await client.post(
        f"{API}/{USER}/threads", data={"media_type": "TEXT", "text": "x"}, headers=auth("999")
    )
    assert r.status_code == 400 and error_of(r)["code"] == 100


async def test_bad_version(client: httpx.AsyncClient) -> None:
    r = await client.get("/threads/latest/me", headers=auth())
    assert r.status_code == 400 and error_of(r)["code"] == 2500


async def test_image_from_public_url(client: httpx.AsyncClient, media_host: MediaServer) -> None:
    url = media_host.add("a.png", image_bytes("PNG", (30, 20)), "image/png")
    cid = await container(client, media_type="IMAGE", image_url=url, text="pic")
    assert (await status(client, cid))["status"] == "FINISHED"
    await publish(client, cid)
    [post] = (await client.get("/_control/posts")).json()["posts"]
    assert post["media"] == [
        {
            "type": "image",
            "mimeType": "image/png",
            "size": post["media"][0]["size"],
            "width": 30,
            "height": 20,
        }
    ]
    r = await create(client, media_type="IMAGE", image_url=media_host.url("a.png", signature="bad"), text="x")
    assert r.status_code == 400
    assert (
        error_of(r)["error_subcode"] == 2207052
        and error_of(r)["message"]
        == "Media download has failed. The media URI doesn't meet our requirements."
    )
    gif = media_host.add("a.gif", image_bytes("GIF"), "image/gif")
    r = await create(client, media_type="IMAGE", image_url=gif, text="x")
    assert error_of(r)["message"] == "Unsupported image format image/gif: use JPEG or PNG"
    video = media_host.add("v.mp4", video_bytes(), "video/mp4")
    r = await create(client, media_type="IMAGE", image_url=video, text="x")
    assert error_of(r)["message"] == "The media at image_url is not a image"


async def test_video_processing_and_failures(client: httpx.AsyncClient, media_host: MediaServer) -> None:
    url = media_host.add("v.mp4", video_bytes(), "video/mp4")
    cid = await container(client, media_type="VIDEO", video_url=url, text="vid")
    r = await publish(client, cid)
    assert r.status_code == 400 and error_of(r)["error_subcode"] == 2207027
    assert (await status(client, cid))["status"] == "IN_PROGRESS"
    assert (await status(client, cid))["status"] == "FINISHED"
    slow = await container(client, media_type="VIDEO", video_url=url, text="#sandbox:media-slow")
    assert [(await status(client, slow))["status"] for _ in range(4)] == ["IN_PROGRESS"] * 3 + ["FINISHED"]
    failed = await container(
        client, media_type="VIDEO", video_url=url, text="#sandbox:media-processing-failed"
    )
    await status(client, failed)
    assert await status(client, failed) == {
        "id": failed,
        "status": "ERROR",
        "error_message": "FAILED_PROCESSING_VIDEO",
    }
    missing = await container(client, media_type="VIDEO", video_url=media_host.url("gone.mp4"), text="x")
    await status(client, missing)
    assert (await status(client, missing))["error_message"] == "FAILED_DOWNLOADING_VIDEO"


async def test_carousel(client: httpx.AsyncClient, media_host: MediaServer) -> None:
    urls = [media_host.add(f"{i}.png", image_bytes(size=(10 + i, 10)), "image/png") for i in range(2)]
    children = [
        await container(client, media_type="IMAGE", image_url=u, is_carousel_item="true") for u in urls
    ]
    text_post = await container(client, media_type="TEXT", text="not an item")
    r = await create(client, media_type="CAROUSEL", text="x", children=f"{children[0]},{text_post}")
    assert (
        r.status_code == 400
        and error_of(r)["message"] == "Param children must list carousel item containers of this user"
    )
    cid = await container(client, media_type="CAROUSEL", text="album", children=",".join(children))
    media_id = (await publish(client, cid)).json()["id"]
    [post] = (await client.get("/_control/posts")).json()["posts"]
    assert post["id"] == media_id and [m["width"] for m in post["media"]] == [10, 11]


async def test_containers_expire_after_a_day(client: httpx.AsyncClient, clock: FakeClock) -> None:
    cid = await container(client, media_type="TEXT", text="late")
    clock.now += 86401
    assert (await status(client, cid))["status"] == "EXPIRED"
    assert (await publish(client, cid)).status_code == 400


async def test_publishing_limit(client: httpx.AsyncClient, clock: FakeClock) -> None:
    await publish(client, await container(client, media_type="TEXT", text="one"))
    r = await client.get(
        f"{API}/{USER}/threads_publishing_limit",
        params={"fields": "quota_usage,config,reply_quota_usage,reply_config"},
        headers=auth(),
    )
    assert r.json() == {
        "data": [
            {
                "quota_usage": 1,
                "config": {"quota_total": 250, "quota_duration": 86400},
                "reply_quota_usage": 0,
                "reply_config": {"quota_total": 1000, "quota_duration": 86400},
            }
        ]
    }
    clock.now += 86401
    r = await client.get(f"{API}/{USER}/threads_publishing_limit", headers=auth())
    assert r.json()["data"][0]["quota_usage"] == 0


async def test_faults_in_the_graph_format(client: httpx.AsyncClient) -> None:
    r = await create(client, media_type="TEXT", text="#sandbox:auth-expired")
    assert r.status_code == 400
    assert (error_of(r)["code"], error_of(r)["error_subcode"]) == (190, 463)
    r = await create(client, media_type="TEXT", text="#sandbox:rate-limit-once")
    assert r.status_code == 400 and error_of(r)["code"] == 4 and error_of(r)["is_transient"] is True
    usage = json.loads(r.headers["X-Business-Use-Case-Usage"])
    [entries] = usage.values()
    assert entries[0]["call_count"] == 100 and entries[0]["estimated_time_to_regain_access"] == 0
    r = await create(client, media_type="TEXT", text="#sandbox:server-error-once")
    assert r.status_code == 500 and error_of(r)["code"] == 2
    cid = await container(client, media_type="TEXT", text="#sandbox:server-error-after-commit")
    r = await publish(client, cid)
    assert r.status_code == 500
    assert len((await client.get("/_control/posts")).json()["posts"]) == 1


async def test_oauth_flow(client: httpx.AsyncClient) -> None:
    r = await client.get(
        "/threads/oauth/authorize",
        params={
            "client_id": "app",
            "redirect_uri": "https://example.com/cb",
            "scope": "threads_basic,threads_content_publish",
            "response_type": "code",
            "state": "xyz",
        },
    )
    assert r.status_code == 302
    location = urlsplit(r.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "https://example.com/cb"
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]
    code = query["code"][0]
    form = {
        "client_id": "app",
        "client_secret": "s",
        "grant_type": "authorization_code",
        "redirect_uri": "https://example.com/other",
        "code": code,
    }
    assert (await client.post("/threads/oauth/access_token", data=form)).status_code == 400
    r = await client.get(
        "/threads/oauth/authorize", params={"client_id": "app", "redirect_uri": "https://example.com/cb"}
    )
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    form |= {"redirect_uri": "https://example.com/cb", "code": code}
    r = await client.post("/threads/oauth/access_token", data=form)
    short = r.json()
    assert set(short) == {"access_token", "user_id"}
    assert (await client.post("/threads/oauth/access_token", data=form)).status_code == 400  # used once
    r = await client.get(
        "/threads/access_token",
        params={
            "grant_type": "th_exchange_token",
            "client_secret": "s",
            "access_token": short["access_token"],
        },
    )
    long = r.json()
    assert long["token_type"] == "bearer" and long["expires_in"] == 5184000
    assert long["access_token"].startswith(f"sandbox.{short['user_id']}.")
    r = await client.get(
        "/threads/refresh_access_token",
        params={"grant_type": "th_refresh_token", "access_token": long["access_token"]},
    )
    assert r.json()["expires_in"] == 5184000
    r = await client.get(
        "/threads/refresh_access_token", params={"grant_type": "ig_refresh_token", "access_token": "x"}
    )
    assert r.status_code == 400
