"""The fake Bluesky's blobs and video service on their own (over ASGI)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from postpost.simulator import create_simulator_app
from tests.media.files import image_bytes, photo_bytes, video_bytes
from tests.simulator.conftest import FakeClock
from tests.simulator.test_bluesky import (
    XRPC,
    assert_error,
    bearer,
    control_posts,
    create,
    jwt_part,
    login,
)

SERVICE = "did:web:sim"  # the PDS's did:web as the video service sees it (host "sim")


async def blob_of(client: httpx.AsyncClient, s: dict[str, Any], data: bytes, mime: str) -> dict[str, Any]:
    r = await client.post(
        f"{XRPC}/com.atproto.repo.uploadBlob",
        content=data,
        headers={**bearer(s["accessJwt"]), "Content-Type": mime},
    )
    assert r.status_code == 200, r.text
    blob: dict[str, Any] = r.json()["blob"]
    return blob


def images(*blobs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"$type": "app.bsky.embed.images", "images": [{"alt": "", "image": b, **extra} for b in blobs]}


async def service_token(client: httpx.AsyncClient, s: dict[str, Any], clock: FakeClock, **params: Any) -> str:
    query = {"aud": SERVICE, "lxm": "com.atproto.repo.uploadBlob", "exp": int(clock.now) + 1800, **params}
    r = await client.get(
        f"{XRPC}/com.atproto.server.getServiceAuth", params=query, headers=bearer(s["accessJwt"])
    )
    assert r.status_code == 200, r.text
    token: str = r.json()["token"]
    return token


async def upload_video(
    client: httpx.AsyncClient, s: dict[str, Any], token: str, data: bytes, did: str | None = None
) -> httpx.Response:
    return await client.post(
        f"{XRPC}/app.bsky.video.uploadVideo",
        params={"did": did or s["did"], "name": "clip.mp4"},
        content=data,
        headers={**bearer(token), "Content-Type": "video/mp4"},
    )


async def job_status(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    r = await client.get(f"{XRPC}/app.bsky.video.getJobStatus", params={"jobId": job_id})
    assert r.status_code == 200, r.text
    status: dict[str, Any] = r.json()["jobStatus"]
    return status


@pytest.fixture
async def small(clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    """A simulator whose blob and video limits are small and videos at most 0.5 s long."""
    options = {"bluesky": {"blob_limit": 2000, "video_limit": 3000, "video_max_seconds": 0.5}}
    app = create_simulator_app(clock=clock, options=options)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as c:
        yield c


# ----- blobs on the PDS ------------------------------------------------------


async def test_upload_blob_names_it_by_cid_and_sniffs_its_type(client: httpx.AsyncClient) -> None:
    s = await login(client)
    photo = photo_bytes((30, 20))
    blob = await blob_of(client, s, photo, "image/jpeg")
    digest = hashlib.sha256(photo).digest()
    cid = "b" + base64.b32encode(b"\x01\x55\x12\x20" + digest).decode().lower().rstrip("=")
    assert blob == {"$type": "blob", "ref": {"$link": cid}, "mimeType": "image/jpeg", "size": len(photo)}
    assert cid.startswith("bafkrei")
    assert (await blob_of(client, s, image_bytes("PNG"), "image/jpeg"))["mimeType"] == "image/png"
    assert (await blob_of(client, s, b"just text", "text/plain"))["mimeType"] == "text/plain"


async def test_upload_blob_needs_a_session_and_has_a_size_limit(small: httpx.AsyncClient) -> None:
    r = await small.post(f"{XRPC}/com.atproto.repo.uploadBlob", content=b"x")
    assert_error(r, 401, "AuthenticationRequired")
    s = await login(small)

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: the limit applies while reading
        for _ in range(3):
            yield b"\0" * 1000

    r = await small.post(
        f"{XRPC}/com.atproto.repo.uploadBlob", content=chunked(), headers=bearer(s["accessJwt"])
    )
    assert_error(r, 413, "PayloadTooLarge", "request entity too large")
    r = await small.post(
        f"{XRPC}/com.atproto.repo.uploadBlob", content=b"\0" * 2001, headers=bearer(s["accessJwt"])
    )
    assert r.status_code == 413
    assert (await blob_of(small, s, b"\0" * 2000, "application/octet-stream"))["size"] == 2000


async def test_record_with_images_lists_what_was_measured(client: httpx.AsyncClient) -> None:
    s = await login(client)
    photo, png = photo_bytes((64, 40)), image_bytes("PNG", (10, 20))
    embed = images(await blob_of(client, s, photo, "image/jpeg"), await blob_of(client, s, png, "image/png"))
    r = await create(client, s, "two", embed=embed)
    assert r.status_code == 200, r.text
    [post] = await control_posts(client)
    assert post["media"] == [
        {"type": "image", "mimeType": "image/jpeg", "size": len(photo), "width": 64, "height": 40},
        {"type": "image", "mimeType": "image/png", "size": len(png), "width": 10, "height": 20},
    ]


async def test_embedded_blobs_are_checked(client: httpx.AsyncClient) -> None:
    s, other = await login(client), await login(client, "bob.bsky.social")
    theirs = await blob_of(client, other, photo_bytes((8, 8)), "image/jpeg")
    r = await create(client, s, "x", embed=images(theirs))
    assert_error(r, 400, "BlobNotFound", f"Could not find blob: {theirs['ref']['$link']}")
    mine = await blob_of(client, s, photo_bytes((8, 8)), "image/jpeg")
    r = await create(client, s, "x", embed=images({**mine, "mimeType": "image/png"}))
    expected = "Referenced Mimetype does not match stored blob. Expected: image/jpeg, Got: image/png"
    assert_error(r, 400, "InvalidMimeType", expected)
    r = await create(client, s, "x", embed=images({**mine, "size": 1}))
    expected = f"Referenced Size does not match stored blob. Expected: {mine['size']}, Got: 1"
    assert_error(r, 400, "InvalidSize", expected)
    big = await blob_of(client, s, b"\xff\xd8\xff" + b"\0" * 1_000_000, "image/jpeg")
    r = await create(client, s, "x", embed=images(big))
    assert_error(
        r,
        400,
        "BlobTooLarge",
        "This file is too large. It is 1,000,003 bytes but the maximum size is 1,000,000 bytes.",
    )
    video = await blob_of(client, s, video_bytes(seconds=0.2), "video/mp4")
    r = await create(client, s, "x", embed=images(video))
    assert_error(r, 400, "InvalidMimeType", "Wrong type of file. It is video/mp4 but it must match image/*.")
    r = await create(client, s, "x", embed=images(mine, aspectRatio={"width": 0, "height": 5}))
    assert_error(r, 400, "InvalidRequest")
    assert "aspectRatio/width must be an integer of at least 1" in r.json()["message"]
    assert await control_posts(client) == []


async def test_video_embed_checks_alt_text_and_type(client: httpx.AsyncClient) -> None:
    s = await login(client)
    clip = video_bytes(seconds=0.4, size=(32, 24))
    video = await blob_of(client, s, clip, "video/mp4")
    embed = {"$type": "app.bsky.embed.video", "video": video, "alt": "é" * 1001}
    r = await create(client, s, "x", embed=embed)
    assert_error(r, 400, "InvalidRequest")
    assert r.json()["message"].endswith("Record/embed/alt must not be longer than 1000 graphemes")
    photo = await blob_of(client, s, photo_bytes((8, 8)), "image/jpeg")
    r = await create(client, s, "x", embed={"$type": "app.bsky.embed.video", "video": photo})
    assert_error(
        r, 400, "InvalidMimeType", "Wrong type of file. It is image/jpeg but it must match video/mp4."
    )
    ok = {
        "$type": "app.bsky.embed.video",
        "video": video,
        "alt": "é" * 1000,
        "aspectRatio": {"width": 4, "height": 3},
    }
    assert (await create(client, s, "simple method", embed=ok)).status_code == 200
    [post] = await control_posts(client)
    [entry] = post["media"]
    assert entry["type"] == "video" and (entry["width"], entry["height"]) == (32, 24)
    assert entry["duration"] == pytest.approx(0.4, abs=0.1)


async def test_processing_failed_marker_refuses_a_record_with_media(client: httpx.AsyncClient) -> None:
    s = await login(client)
    embed = images(await blob_of(client, s, photo_bytes((8, 8)), "image/jpeg"))
    r = await create(client, s, "x #sandbox:media-processing-failed", embed=embed)
    assert_error(r, 400, "InvalidRequest", "The post's media could not be processed")
    r = await create(client, s, "words only #sandbox:media-processing-failed")
    assert r.status_code == 200  # nothing to process
    assert (await create(client, s, "x #sandbox:media-slow", embed=embed)).status_code == 200


# ----- service tokens and the video service ---------------------------------


async def test_describe_repo_names_this_pds(client: httpx.AsyncClient) -> None:
    s = await login(client)
    r = await client.get(f"{XRPC}/com.atproto.repo.describeRepo", params={"repo": s["did"]})
    assert r.status_code == 200
    body = r.json()
    assert body["did"] == s["did"] and body["handle"] == s["handle"] and body["handleIsCorrect"] is True
    [service] = body["didDoc"]["service"]
    assert service == {
        "id": "#atproto_pds",
        "type": "AtprotoPersonalDataServer",
        "serviceEndpoint": "http://sim/bluesky",
    }


async def test_service_auth_rules(client: httpx.AsyncClient, clock: FakeClock) -> None:
    s = await login(client)
    token = await service_token(client, s, clock)
    assert jwt_part(token, 0) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt_part(token, 1)
    assert (claims["iss"], claims["aud"], claims["lxm"]) == (s["did"], SERVICE, "com.atproto.repo.uploadBlob")
    assert claims["exp"] == int(clock.now) + 1800
    url, auth = f"{XRPC}/com.atproto.server.getServiceAuth", bearer(s["accessJwt"])
    assert_error(
        await client.get(url, headers=auth), 400, "InvalidRequest", 'Params must have the property "aud"'
    )
    past = {"aud": SERVICE, "exp": int(clock.now) - 1}
    assert_error(
        await client.get(url, params=past, headers=auth), 400, "BadExpiration", "expiration is in past"
    )
    far = {"aud": SERVICE, "lxm": "x", "exp": int(clock.now) + 3601}
    assert_error(await client.get(url, params=far, headers=auth), 400, "BadExpiration")
    methodless = {"aud": SERVICE, "exp": int(clock.now) + 61}
    assert_error(await client.get(url, params=methodless, headers=auth), 400, "BadExpiration")
    assert (await client.get(url, params={"aud": SERVICE})).status_code == 401


async def test_video_job_moves_through_states_to_a_blob_on_the_pds(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    s = await login(client)
    clip = video_bytes(seconds=1.0, size=(64, 48))
    r = await upload_video(client, s, await service_token(client, s, clock), clip)
    assert r.status_code == 200
    created = r.json()
    assert "jobStatus" not in created  # the service answers the job status bare
    assert created["did"] == s["did"] and created["state"] == "JOB_STATE_CREATED" and "blob" not in created
    seen = []
    for _ in range(5):  # two seconds of processing
        status = await job_status(client, created["jobId"])
        seen.append((status["state"], status["progress"]))
        clock.now += 0.45
    assert seen == [
        ("JOB_STATE_CREATED", 0),
        ("JOB_STATE_ENCODING", 22),
        ("JOB_STATE_ENCODING", 45),
        ("JOB_STATE_ENCODING", 67),
        ("JOB_STATE_SCANNING", 90),
    ]
    done = await job_status(client, created["jobId"])
    assert done["state"] == "JOB_STATE_COMPLETED" and done["progress"] == 100
    blob = done["blob"]
    assert blob["mimeType"] == "video/mp4" and blob["size"] == len(clip)
    embed = {"$type": "app.bsky.embed.video", "video": blob, "aspectRatio": {"width": 64, "height": 48}}
    assert (await create(client, s, "clip", embed=embed)).status_code == 200  # the blob is on the PDS
    [post] = await control_posts(client)
    assert post["media"][0]["duration"] == pytest.approx(1.0, abs=0.1)
    again = await upload_video(client, s, await service_token(client, s, clock), clip)
    assert again.json()["state"] == "JOB_STATE_FAILED" and again.json()["error"] == "already_exists"
    assert again.json()["blob"] == blob


@pytest.mark.parametrize(
    ("claims", "did"),
    [
        ({"aud": "did:web:video.bsky.app"}, None),
        ({"lxm": "app.bsky.video.getUploadLimits"}, None),
        ({}, "did:plc:x"),
    ],
    ids=["wrong-audience", "wrong-method", "not-the-issuer"],
)
async def test_upload_video_needs_a_service_token_for_this_pds(
    client: httpx.AsyncClient, clock: FakeClock, claims: dict[str, str], did: str | None
) -> None:
    s = await login(client)
    assert_error(await upload_video(client, s, s["accessJwt"], b"v"), 401, "AuthenticationRequired")
    token = await service_token(client, s, clock, **claims)
    assert_error(await upload_video(client, s, token, b"v", did=did), 401, "AuthenticationRequired")


async def test_video_job_failures(small: httpx.AsyncClient, clock: FakeClock) -> None:
    s = await login(small)
    token = await service_token(small, s, clock)
    r = await upload_video(small, s, token, image_bytes("PNG"))
    clock.now += 10
    assert await job_status(small, r.json()["jobId"]) == {
        "jobId": r.json()["jobId"],
        "did": s["did"],
        "state": "JOB_STATE_FAILED",
        "error": "invalid_video",
        "message": "The file is not a supported video",
    }
    r = await upload_video(small, s, token, video_bytes(seconds=1.0, size=(16, 16), fps=5))
    clock.now += 10
    failed = await job_status(small, r.json()["jobId"])
    assert (failed["error"], failed["message"]) == (
        "video_too_long",
        "Video is too long: at most 0.5 seconds",
    )
    assert_error(await upload_video(small, s, token, b"\0" * 3001), 413, "PayloadTooLarge")
    r = await small.get(f"{XRPC}/app.bsky.video.getJobStatus", params={"jobId": "nope"})
    assert_error(r, 400, "InvalidRequest", "Job not found")


@pytest.mark.parametrize(
    ("fault", "seconds", "state"),
    [("media-slow", 5.0, "JOB_STATE_COMPLETED"), ("media-processing-failed", 2.0, "JOB_STATE_FAILED")],
)
async def test_queued_media_fault_is_taken_by_the_next_video_upload(
    client: httpx.AsyncClient, clock: FakeClock, fault: str, seconds: float, state: str
) -> None:
    s = await login(client)
    await client.post("/_control/faults", json={"platform": "bluesky", "account": s["did"], "fault": fault})
    blob = await blob_of(client, s, photo_bytes((8, 8)), "image/jpeg")  # an image upload leaves it queued
    assert blob["mimeType"] == "image/jpeg"
    assert (await client.get("/_control/faults")).json()["faults"][0]["faults"] == [fault]
    token = await service_token(client, s, clock)
    job_id = (await upload_video(client, s, token, video_bytes(seconds=0.2))).json()["jobId"]
    assert (await client.get("/_control/faults")).json() == {"faults": []}
    clock.now += seconds - 0.1
    assert (await job_status(client, job_id))["state"] == "JOB_STATE_SCANNING"
    clock.now += 0.2
    final = await job_status(client, job_id)
    assert final["state"] == state
    if state == "JOB_STATE_FAILED":
        assert (final["error"], final["message"]) == ("encoding_failed", "The video could not be encoded")


async def test_reset_forgets_blobs_and_jobs(client: httpx.AsyncClient, clock: FakeClock) -> None:
    s = await login(client)
    blob = await blob_of(client, s, photo_bytes((8, 8)), "image/jpeg")
    job_id = (
        await upload_video(client, s, await service_token(client, s, clock), video_bytes(seconds=0.2))
    ).json()["jobId"]
    await client.post("/_control/reset", json={"platform": "bluesky", "account": s["did"]})
    assert_error(await create(client, s, "x", embed=images(blob)), 400, "BlobNotFound")
    r = await client.get(f"{XRPC}/app.bsky.video.getJobStatus", params={"jobId": job_id})
    assert_error(r, 400, "InvalidRequest", "Job not found")
