"""The fake Instagram publishing API on its own (over ASGI; media hosted over real HTTP)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.media.files import photo_bytes, video_bytes
from tests.platforms.graph_helpers import (  # noqa: F401 - fixtures
    MediaServer,
    media_host_fixture,
    media_server_fixture,
)
from tests.simulator.conftest import FakeClock

USER = "17841400000000007"
API = "/instagram/v23.0"
REEL = video_bytes(seconds=3.0)


def auth(account: str = USER) -> dict[str, str]:
    return {"Authorization": f"Bearer sandbox.{account}.secret"}


def error_of(r: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = r.json()["error"]
    return error


async def create(client: httpx.AsyncClient, **params: str) -> httpx.Response:
    return await client.post(f"{API}/{USER}/media", data=params, headers=auth())


async def state(
    client: httpx.AsyncClient, container: str, fields: str = "status_code,status"
) -> dict[str, Any]:
    return dict((await client.get(f"{API}/{container}", params={"fields": fields}, headers=auth())).json())


async def publish(client: httpx.AsyncClient, container: str) -> httpx.Response:
    return await client.post(f"{API}/{USER}/media_publish", params={"creation_id": container}, headers=auth())


async def test_photo_post(client: httpx.AsyncClient, media_host: MediaServer) -> None:
    url = media_host.add("p.jpg", photo_bytes((500, 400)), "image/jpeg")
    cid = (await create(client, image_url=url, caption="hello #tag")).json()["id"]
    assert await state(client, cid) == {
        "id": cid,
        "status_code": "FINISHED",
        "status": "Finished: Media has been uploaded and it is ready to be published.",
    }
    media_id = (await publish(client, cid)).json()["id"]
    assert (await state(client, cid, "status_code"))["status_code"] == "PUBLISHED"
    r = await client.get(
        f"{API}/{USER}/media", params={"fields": "id,caption,timestamp,media_type"}, headers=auth()
    )
    [item] = r.json()["data"]
    assert (item["id"], item["caption"], item["media_type"]) == (media_id, "hello #tag", "IMAGE")
    [post] = (await client.get("/_control/posts")).json()["posts"]
    assert post["media"][0]["width"] == 500 and post["text"] == "hello #tag"


@pytest.mark.parametrize(
    ("size", "fmt", "subcode"),
    [((900, 300), "JPEG", 2207009), ((400, 400), "PNG", 2207005)],
)
async def test_images_instagram_refuses(
    client: httpx.AsyncClient, media_host: MediaServer, size: tuple[int, int], fmt: str, subcode: int
) -> None:
    url = media_host.add("i", photo_bytes(size, fmt=fmt), "image/jpeg")
    r = await create(client, image_url=url, caption="x")
    assert r.status_code == 400 and error_of(r)["error_subcode"] == subcode


async def test_unfetchable_image(client: httpx.AsyncClient, media_host: MediaServer) -> None:
    r = await create(client, image_url=media_host.url("missing.jpg"), caption="x")
    error = error_of(r)
    assert (error["code"], error["error_subcode"]) == (9004, 2207052)
    assert error["error_user_msg"].startswith("The media could not be fetched from this URI")


async def test_caption_rules(client: httpx.AsyncClient, media_host: MediaServer) -> None:
    url = media_host.add("p.jpg", photo_bytes((400, 400)), "image/jpeg")
    r = await create(client, image_url=url, caption="x" * 2201)
    assert error_of(r)["error_subcode"] == 2207010
    r = await create(client, image_url=url, caption=" ".join(f"#t{i}" for i in range(31)))
    assert error_of(r)["message"] == "The caption has more than 30 hashtags"
    assert (
        await create(client, image_url=url, caption=" ".join(f"#t{i}" for i in range(30)))
    ).status_code == 200


async def test_reel_from_url_is_processed(client: httpx.AsyncClient, media_host: MediaServer) -> None:
    url = media_host.add("r.mp4", REEL, "video/mp4")
    cid = (await create(client, media_type="REELS", video_url=url, caption="reel")).json()["id"]
    r = await publish(client, cid)
    assert (r.status_code, error_of(r)["error_subcode"]) == (400, 2207027)
    assert [(await state(client, cid))["status_code"] for _ in range(2)] == ["IN_PROGRESS", "FINISHED"]
    short = media_host.add("s.mp4", video_bytes(seconds=1.0), "video/mp4")
    bad = (await create(client, media_type="REELS", video_url=short, caption="short")).json()["id"]
    await state(client, bad)
    assert await state(client, bad) == {
        "id": bad,
        "status_code": "ERROR",
        "status": "Error: Media upload has failed with error code 2207026",
    }
    gone = (
        await create(client, media_type="REELS", video_url=media_host.url("gone.mp4"), caption="x")
    ).json()["id"]
    await state(client, gone)
    assert "2207052" in (await state(client, gone))["status"]


async def test_resumable_upload(client: httpx.AsyncClient) -> None:
    r = await create(client, media_type="REELS", upload_type="resumable", caption="uploaded")
    body = r.json()
    cid = body["id"]
    assert body["uri"] == f"https://rupload.facebook.com/ig-api-upload/v23.0/{cid}"
    upload = f"/instagram/ig-api-upload/v23.0/{cid}"
    headers = {"Authorization": f"OAuth sandbox.{USER}.x", "file_size": str(len(REEL))}
    r = await client.post(upload, content=REEL[:1000], headers=headers | {"offset": "0"})
    assert r.json() == {"success": True, "message": "Partial upload received."}
    assert (await state(client, cid, "status_code,video_status"))["video_status"]["uploading_phase"] == {
        "status": "in_progress",
        "bytes_transferred": 1000,
    }
    r = await client.post(upload, content=REEL[2000:], headers=headers | {"offset": "2000"})
    assert r.status_code == 400 and r.json()["debug_info"]["type"] == "BadRequest"
    r = await client.post(upload, content=REEL[500:], headers=headers | {"offset": "500"})
    assert r.json() == {"success": True, "message": "Upload successful."}
    assert [(await state(client, cid))["status_code"] for _ in range(2)] == ["IN_PROGRESS", "FINISHED"]
    await publish(client, cid)
    [post] = (await client.get("/_control/posts")).json()["posts"]
    assert post["media"][0]["size"] == len(REEL)
    r = await client.post(upload, content=b"x", headers={"offset": "0", "file_size": "1"})
    assert r.status_code == 401 and r.json()["debug_info"]["type"] == "AuthorizationError"


async def test_carousel_and_items(client: httpx.AsyncClient, media_host: MediaServer) -> None:
    url = media_host.add("p.jpg", photo_bytes((400, 400)), "image/jpeg")
    items = [(await create(client, image_url=url, is_carousel_item="true")).json()["id"] for _ in range(2)]
    r = await publish(client, items[0])
    assert error_of(r)["error_subcode"] == 2207028
    single = (await create(client, image_url=url, caption="not an item")).json()["id"]
    r = await create(client, media_type="CAROUSEL", children=f"{items[0]},{single}", caption="x")
    assert error_of(r)["error_subcode"] == 2207028
    r = await create(client, media_type="VIDEO", video_url=url, caption="a video needs is_carousel_item")
    assert error_of(r)["error_subcode"] == 2207023
    cid = (await create(client, media_type="CAROUSEL", children=",".join(items), caption="album")).json()[
        "id"
    ]
    media_id = (await publish(client, cid)).json()["id"]
    r = await client.get(
        f"{API}/{media_id}", params={"fields": "media_type,media_product_type"}, headers=auth()
    )
    assert r.json() == {"id": media_id, "media_type": "CAROUSEL_ALBUM", "media_product_type": "FEED"}


async def test_stories_are_listed_apart_for_a_day(
    client: httpx.AsyncClient, clock: FakeClock, media_host: MediaServer
) -> None:
    url = media_host.add("r.mp4", REEL, "video/mp4")
    cid = (await create(client, media_type="STORIES", video_url=url)).json()["id"]
    await state(client, cid)
    story = (await publish(client, cid)).json()["id"]
    stories = await client.get(f"{API}/{USER}/stories", headers=auth())
    assert [s["id"] for s in stories.json()["data"]] == [story]
    assert (await client.get(f"{API}/{USER}/media", headers=auth())).json()["data"] == []
    clock.now += 86401
    assert (await client.get(f"{API}/{USER}/stories", headers=auth())).json()["data"] == []


async def test_quota(client: httpx.AsyncClient, media_host: MediaServer) -> None:
    url = media_host.add("p.jpg", photo_bytes((400, 400)), "image/jpeg")
    await publish(client, (await create(client, image_url=url, caption="one")).json()["id"])
    r = await client.get(
        f"{API}/{USER}/content_publishing_limit", params={"fields": "quota_usage,config"}, headers=auth()
    )
    assert r.json() == {"data": [{"quota_usage": 1, "config": {"quota_total": 100, "quota_duration": 86400}}]}


async def test_faults(client: httpx.AsyncClient, media_host: MediaServer) -> None:
    url = media_host.add("p.jpg", photo_bytes((400, 400)), "image/jpeg")
    r = await create(client, image_url=url, caption="#sandbox:auth-expired")
    assert (error_of(r)["code"], error_of(r)["error_subcode"]) == (190, 463)
    r = await create(client, image_url=url, caption="#sandbox:rate-limit-once")
    assert error_of(r)["code"] == 4 and "X-Business-Use-Case-Usage" in r.headers
    cid = (await create(client, image_url=url, caption="#sandbox:media-processing-failed")).json()["id"]
    assert (await state(client, cid))["status_code"] == "ERROR"


async def test_login(client: httpx.AsyncClient) -> None:
    r = await client.get(
        "/instagram/oauth/authorize",
        params={
            "client_id": "app",
            "redirect_uri": "https://example.com/cb",
            "response_type": "code",
            "state": "s",
        },
    )
    location = r.headers["location"]
    assert location.endswith("#_")
    code = parse_qs(urlsplit(location).query)["code"][0]
    form = {
        "client_id": "app",
        "client_secret": "sec",
        "grant_type": "authorization_code",
        "redirect_uri": "https://example.com/cb",
        "code": code + "#_",
    }
    short = (await client.post("/instagram/oauth/access_token", data=form)).json()
    assert set(short) == {"access_token", "user_id", "permissions"}
    r = await client.post("/instagram/oauth/access_token", data=form)
    assert r.status_code == 400
    assert r.json() == {
        "error_type": "OAuthException",
        "code": 400,
        "error_message": "Invalid authorization code",
    }
    long = await client.get(
        "/instagram/access_token",
        params={
            "grant_type": "ig_exchange_token",
            "client_secret": "sec",
            "access_token": short["access_token"],
        },
    )
    assert long.json()["expires_in"] == 5184000
    refreshed = await client.get(
        "/instagram/refresh_access_token",
        params={"grant_type": "ig_refresh_token", "access_token": long.json()["access_token"]},
    )
    assert refreshed.json()["access_token"].startswith(f"sandbox.{short['user_id']}.")
