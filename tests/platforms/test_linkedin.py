"""LinkedIn adapter against the simulator over real HTTP."""

from __future__ import annotations

import io
import json
import os
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import aiohttp
import av
import pytest
from PIL import Image

from postpost.platforms._linkedin_api import API_VERSION, next_midnight
from postpost.platforms._linkedin_text import commentary
from postpost.platforms.base import (
    Credentials,
    ErrorCode,
    InProgress,
    MediaFile,
    PlatformError,
    PostPart,
    Published,
    PublishJob,
    Secrets,
)
from postpost.platforms.descriptor import Reconciliation
from postpost.platforms.linkedin import DESCRIPTOR, LinkedInAdapter
from postpost.platforms.registry import adapter_classes
from postpost.simulator import create_simulator_app
from tests.conftest import STALL_SECONDS, ServerThread
from tests.media.files import animated_gif, image_bytes, video_bytes
from tests.platforms.conftest import HASTY, Sim, control, creds_of, media_file, publish, ready

MEMBER = "Mbr0000001"
APP = {"client_id": "postpost-app", "client_secret": "app-secret"}


def member_creds(url: str, member: str = MEMBER, **secrets: str) -> Credentials:
    token = f"sandbox.{member}.t0k3n"
    return creds_of(member, f"{url}/linkedin", {"access_token": token, **secrets}, f"Sandbox Member {member}")


@pytest.fixture
def adapter(http: aiohttp.ClientSession) -> LinkedInAdapter:
    return LinkedInAdapter(http, timeout=5, app=APP)


@pytest.fixture
def creds(simulator_url: str) -> Credentials:
    return member_creds(simulator_url)


@pytest.fixture(scope="module")
def own_url() -> Iterator[str]:
    """A simulator of our own: 128 KB video parts and two posts a day per member."""
    options = {"linkedin": {"part_size": 128 * 1024, "daily_posts": 2}}
    with ServerThread(create_simulator_app(stall_seconds=STALL_SECONDS, options=options)) as url:
        yield url


@pytest.fixture
def own(own_url: str) -> Sim:
    control(own_url, "POST", "/reset")
    return Sim(own_url)


def job(text: str, creds: Credentials, *media: MediaFile, **kw: Any) -> PublishJob:
    return PublishJob(PostPart(text, tuple(media)), creds, kw.pop("key", "k1"), **kw)


async def failure(adapter: LinkedInAdapter, j: PublishJob) -> PlatformError:
    with pytest.raises(PlatformError) as info:
        await adapter.publish(j)
    return info.value


async def run_steps(
    http: aiohttp.ClientSession, j: PublishJob, *, step_bytes: int = 32 * 1024 * 1024, limit: int = 30
) -> tuple[Published, list[InProgress]]:
    """Publish step by step as the engine does, each step on a fresh adapter instance."""
    steps: list[InProgress] = []
    state = j.state
    for _ in range(limit):
        adapter = LinkedInAdapter(http, timeout=5, app=APP, upload_step_bytes=step_bytes)
        result = await adapter.publish(PublishJob(j.part, j.creds, j.idempotency_key, state=state))
        if isinstance(result, Published):
            return result, steps
        steps.append(result)
        state = result.state
    raise AssertionError(f"still in progress after {limit} steps: {state}")


def noisy_video(frames: int = 30, size: tuple[int, int] = (160, 120)) -> bytes:
    """About 1 MB of valid MP4 (random frames, lossless): large enough for several parts."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=10, options={"preset": "ultrafast", "crf": "0"})
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for _ in range(frames):
            picture = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
            for packet in stream.encode(av.VideoFrame.from_image(picture)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def short_video() -> bytes:
    return video_bytes(seconds=3.0, size=(32, 32), fps=10)


def requests(url: str, method: str, prefix: str) -> list[str]:
    logged = control(url, "GET", "/requests?platform=linkedin")["requests"]
    return [r["path"] for r in logged if r["method"] == method and r["path"].startswith(prefix)]


# ----- description and text ---------------------------------------------------------------


def test_descriptor() -> None:
    assert adapter_classes()["linkedin"] is LinkedInAdapter
    assert (DESCRIPTOR.text.limit, DESCRIPTOR.text.threads) == (3000, False)
    assert DESCRIPTOR.reconciliation is Reconciliation.IDEMPOTENCY_KEY
    windows = [(w.count, w.seconds) for w in DESCRIPTOR.pacing.per_account]
    assert windows == [(25, 3600), (100, 86400)]
    media = DESCRIPTOR.media
    assert (media.max_images, media.max_videos, media.mix_images_and_videos) == (10, 1, False)
    assert media.convert == {"image/webp": "image/jpeg"}
    assert (media.video_min_seconds, media.video_max_seconds, media.video_max_bytes) == (3, 1800, 500 * 2**20)
    assert len(API_VERSION) == 6 and API_VERSION.isdigit()


def test_sandbox_account() -> None:
    assert DESCRIPTOR.sandbox_account is not None
    account = DESCRIPTOR.sandbox_account()
    assert account.secrets["author_urn"] == f"urn:li:person:{account.account_id}"
    assert account.secrets["access_token"].startswith(f"sandbox.{account.account_id}.")
    assert "refresh_token" not in account.secrets
    assert account.expires_at is not None
    assert timedelta(days=59) < account.expires_at - datetime.now(UTC) <= timedelta(days=60)


def test_commentary_escapes_every_reserved_character_and_converts_mentions() -> None:
    assert commentary(r"a(b)c@d#e*f_g~h<i>j[k]l{m}n|o\p") == r"a\(b\)c\@d\#e\*f\_g\~h\<i\>j\[k\]l\{m\}n\|o\\p"
    text = "Hi @{urn:li:person:AbC-1_2|Jane (CTO)} & @{urn:li:organization:123|Acme Inc}!"
    assert (
        commentary(text)
        == r"Hi @[Jane \(CTO\)](urn:li:person:AbC-1_2) & @[Acme Inc](urn:li:organization:123)!"
    )
    assert commentary("@{urn:li:member:1|Nope}") == r"\@\{urn:li:member:1\|Nope\}"


async def test_reserved_characters_and_mentions_publish_as_written(
    adapter: LinkedInAdapter, creds: Credentials, sim: Sim
) -> None:
    text = r"Launch (v2) @home #ship *now* _x_ ~y <z> [a] {b} a|b c\d, with @{urn:li:person:Xy12|Jane Doe}"
    published = await publish(adapter, text, creds, "k1")
    assert published.remote_id.startswith("urn:li:share:")
    assert published.url == f"https://www.linkedin.com/feed/update/{published.remote_id}/"
    [post] = sim.posts("linkedin")
    assert post["text"] == r"Launch (v2) @home #ship *now* _x_ ~y <z> [a] {b} a|b c\d, with Jane Doe"
    assert (post["account"], post["id"], post["media"]) == (MEMBER, published.remote_id, [])


async def test_organisation_author(adapter: LinkedInAdapter, simulator_url: str, sim: Sim) -> None:
    org = member_creds(simulator_url, author_urn="urn:li:organization:777")
    await publish(adapter, "company news", org, "k1")
    assert [(p["account"], p["text"]) for p in sim.posts("linkedin")] == [("777", "company news")]


# ----- errors -------------------------------------------------------------------------------


async def test_auth_expired_is_refreshable_only_with_a_refresh_token(
    adapter: LinkedInAdapter, creds: Credentials, simulator_url: str
) -> None:
    err = await failure(adapter, job("x #sandbox:auth-expired", creds))
    assert (err.code, err.status, err.refreshable, err.retryable) == (
        ErrorCode.PLATFORM_AUTH_EXPIRED,
        401,
        False,
        False,
    )
    assert err.platform_error == "EXPIRED_ACCESS_TOKEN The token used in the request has expired"
    with_refresh = member_creds(simulator_url, refresh_token="r")
    err = await failure(adapter, job("x #sandbox:auth-expired", with_refresh))
    assert err.refreshable is True
    forged = creds_of(MEMBER, f"{simulator_url}/linkedin", {"access_token": "forged"})
    err = await failure(adapter, job("x", forged))
    assert (err.code, err.status) == (ErrorCode.PLATFORM_AUTH_EXPIRED, 401)
    assert err.platform_error == "INVALID_ACCESS_TOKEN Invalid access token"


async def test_content_refusals(adapter: LinkedInAdapter, creds: Credentials, sim: Sim) -> None:
    err = await failure(adapter, job("bad #sandbox:invalid-content", creds))
    assert (err.code, err.status, err.retryable) == (ErrorCode.INVALID_CONTENT, 422, False)
    err = await failure(adapter, job("x" * 3001, creds))
    assert (err.code, err.status) == (ErrorCode.CONTENT_TOO_LARGE, 422)
    assert "MAX_LENGTH_EXCEEDED" in (err.platform_error or "")
    await publish(adapter, "(" * 3000, creds, "k2")  # escaped: 6,000 characters sent, 3,000 shown
    assert [len(p["text"]) for p in sim.posts("linkedin")] == [3000]


async def test_someone_elses_author_is_denied(adapter: LinkedInAdapter, simulator_url: str) -> None:
    other = member_creds(simulator_url, author_urn="urn:li:person:Someone999")
    err = await failure(adapter, job("x", other))
    assert (err.code, err.status, err.retryable) == (ErrorCode.UNKNOWN_ERROR, 403, False)
    assert (err.platform_error or "").startswith("ACCESS_DENIED Not enough permissions")


async def test_transient_failures(adapter: LinkedInAdapter, creds: Credentials, sim: Sim) -> None:
    before = datetime.now(UTC)
    err = await failure(adapter, job("busy #sandbox:rate-limit-once", creds))
    assert (err.code, err.status, err.retryable) == (ErrorCode.RATE_LIMITED, 429, True)
    assert err.retry_at is not None and before < err.retry_at < before + timedelta(seconds=5)
    err = await failure(adapter, job("flaky #sandbox:server-error-once", creds))
    assert (err.code, err.status, err.maybe_published) == (ErrorCode.PLATFORM_SERVER_ERROR, 503, True)
    assert sim.posts("linkedin") == []


async def test_daily_quota_waits_until_midnight_utc(adapter: LinkedInAdapter, own: Sim) -> None:
    creds = member_creds(own.url)
    await publish(adapter, "one", creds, "k1")
    await publish(adapter, "two", creds, "k2")
    err = await failure(adapter, job("three", creds))
    assert (err.code, err.status) == (ErrorCode.RATE_LIMITED, 429)
    assert err.retry_at == next_midnight(datetime.now(UTC))
    assert next_midnight(datetime(2026, 3, 4, 23, 59, tzinfo=UTC)) == datetime(2026, 3, 5, tzinfo=UTC)


async def test_a_sunset_version_is_refused_with_426(adapter: LinkedInAdapter) -> None:
    app = create_simulator_app(clock=lambda: time.time() + 2 * 365 * 86400)
    with ServerThread(app) as url:
        err = await failure(adapter, job("from the future", member_creds(url)))
    assert (err.code, err.status, err.retryable) == (ErrorCode.UNKNOWN_ERROR, 426, False)
    assert f"Requested version {API_VERSION} is not active" in (err.platform_error or "")


# ----- reconciliation ---------------------------------------------------------------------


async def test_timeout_after_commit_reconciles_through_the_duplicate_answer(
    http: aiohttp.ClientSession, creds: Credentials, sim: Sim
) -> None:
    quick = LinkedInAdapter(http, timeout=HASTY, app=APP)
    since = datetime.now(UTC)
    text = "lost answer #sandbox:timeout-after-commit"
    err = await failure(quick, job(text, creds, since=since))
    assert (err.code, err.maybe_published) == (ErrorCode.TIMEOUT_ERROR, True)
    [stored] = sim.posts("linkedin")
    again = await LinkedInAdapter(http, timeout=5).publish(job(text, creds, unsure=True, since=since))
    assert isinstance(again, Published) and again.remote_id == stored["id"]
    assert len(sim.posts("linkedin")) == 1


async def test_a_duplicate_is_ours_only_when_an_earlier_attempt_may_have_made_it(
    adapter: LinkedInAdapter, creds: Credentials, sim: Sim
) -> None:
    first = await publish(adapter, "Happy Friday", creds, "week-1")
    err = await failure(adapter, job("Happy Friday", creds, key="week-2"))
    assert (err.code, err.status) == (ErrorCode.INVALID_CONTENT, 422)
    assert f"Content is a duplicate of {first.remote_id}" in (err.platform_error or "")
    later = datetime.now(UTC) + timedelta(hours=1)  # first attempt long after that post was made
    err = await failure(adapter, job("Happy Friday", creds, key="week-2", unsure=True, since=later))
    assert err.code is ErrorCode.INVALID_CONTENT
    found = await adapter.publish(job("Happy Friday", creds, unsure=True, since=datetime.now(UTC)))
    assert isinstance(found, Published) and found.remote_id == first.remote_id
    assert len(sim.posts("linkedin")) == 1


# ----- tokens and the connection check ----------------------------------------------------


async def oauth_creds(http: aiohttp.ClientSession, url: str, member: str = MEMBER) -> Credentials:
    """Connect through the fake's OAuth endpoints, as the connect flow will."""
    params = {
        "response_type": "code",
        "client_id": APP["client_id"],
        "redirect_uri": "https://postpost.test/cb",
        "state": "st",
        "scope": "openid profile w_member_social",
        "member": member,
    }
    async with http.get(
        f"{url}/linkedin/oauth/v2/authorization", params=params, allow_redirects=False
    ) as resp:
        code = parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": params["redirect_uri"], **APP}
    async with http.post(f"{url}/linkedin/oauth/v2/accessToken", data=form) as resp:
        tokens = await resp.json()
    secrets = {"access_token": tokens["access_token"], "refresh_token": tokens["refresh_token"]}
    expires = datetime.now(UTC) + timedelta(seconds=tokens["expires_in"])
    return Credentials(member, {"api": f"{url}/linkedin"}, Secrets(secrets), expires_at=expires)


async def test_refresh_renews_an_expiring_token(
    adapter: LinkedInAdapter, http: aiohttp.ClientSession, simulator_url: str
) -> None:
    connected = await oauth_creds(http, simulator_url)
    assert await ready(adapter, connected) is connected  # 60 days left
    expiring = Credentials(
        connected.account_id,
        connected.endpoints,
        connected.secrets,
        expires_at=datetime.now(UTC) + timedelta(minutes=5),
    )
    fresh = await ready(adapter, expiring)
    assert fresh.secrets["access_token"] != connected.secrets["access_token"]
    assert fresh.secrets["refresh_token"] == connected.secrets["refresh_token"]
    assert fresh.expires_at is not None and fresh.expires_at - datetime.now(UTC) > timedelta(days=59)
    await publish(adapter, "after refresh", fresh, "k1")


async def test_refresh_refusals(
    adapter: LinkedInAdapter, http: aiohttp.ClientSession, simulator_url: str
) -> None:
    sandbox = member_creds(simulator_url)
    assert not adapter.needs_refresh(
        sandbox, datetime.now(UTC) + timedelta(days=90)
    )  # nothing to refresh with
    with pytest.raises(PlatformError) as info:
        await adapter.refresh(sandbox)
    assert info.value.code is ErrorCode.PLATFORM_AUTH_EXPIRED and "reconnect" in info.value.message
    with pytest.raises(PlatformError) as info:
        await LinkedInAdapter(http).refresh(member_creds(simulator_url, refresh_token="r"))
    assert "POSTPOST_LINKEDIN_CLIENT_ID" in info.value.message
    with pytest.raises(PlatformError) as info:
        await adapter.refresh(member_creds(simulator_url, refresh_token="unknown"))
    err = info.value
    assert (err.code, err.status) == (ErrorCode.PLATFORM_AUTH_EXPIRED, 400)
    assert (
        err.platform_error
        == "The provided authorization grant or refresh token is invalid, expired or revoked"
    )


async def test_check_connection(adapter: LinkedInAdapter, creds: Credentials, simulator_url: str) -> None:
    check = await adapter.check_connection(creds)
    assert (check.ok, check.message, check.username) == (
        True,
        f"Connected as Sandbox Member {MEMBER}",
        f"Sandbox Member {MEMBER}",
    )
    assert list(check.permissions) == ["openid", "profile", "w_member_social", "r_basicprofile"]
    scoped = Credentials(
        MEMBER, creds.endpoints, creds.secrets, scopes=("w_member_social", "r_member_postAnalytics")
    )
    assert list((await adapter.check_connection(scoped)).permissions) == [
        "w_member_social",
        "r_member_postAnalytics",
    ]
    org = member_creds(simulator_url, author_urn="urn:li:organization:9")
    org = Credentials("9", org.endpoints, org.secrets, "Acme Inc")
    check = await adapter.check_connection(org)
    assert (check.ok, check.username) == (True, "Acme Inc")
    assert check.message == f"Connected as Sandbox Member {MEMBER}, posting as urn:li:organization:9"
    forged = creds_of(MEMBER, creds.base_url, {"access_token": "forged"})
    check = await adapter.check_connection(forged)
    assert (check.ok, check.message) == (False, "INVALID_ACCESS_TOKEN Invalid access token")
    with pytest.raises(PlatformError) as info:
        await adapter.check_connection(
            creds_of(MEMBER, creds.base_url, {"access_token": "forged", "refresh_token": "r"})
        )
    assert info.value.refreshable


# ----- media --------------------------------------------------------------------------------


def stored_content(url: str, urn: str) -> Any:
    """The ``content`` of a post as the fake stored it (``GET /rest/posts/{urn}``)."""
    req = urllib.request.Request(
        f"{url}/linkedin/rest/posts/{quote(urn, safe='')}",
        headers={
            "Authorization": f"Bearer sandbox.{MEMBER}.t0k3n",
            "LinkedIn-Version": API_VERSION,
            "X-Restli-Protocol-Version": "2.0.0",
        },
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read()).get("content")


async def test_single_image_with_alt_text(adapter: LinkedInAdapter, creds: Credentials, sim: Sim) -> None:
    png = media_file(image_bytes("PNG"), "image/png", alt_text="a red square")
    result = await adapter.publish(job("with a picture", creds, png))
    assert isinstance(result, Published) and result.remote_id.startswith("urn:li:ugcPost:")
    [post] = sim.posts("linkedin")
    assert post["media"] == [
        {"type": "image", "mimeType": "image/png", "size": png.size, "width": 64, "height": 48}
    ]
    content = stored_content(sim.url, result.remote_id)
    assert content["media"]["altText"] == "a red square" and content["media"]["id"].startswith(
        "urn:li:image:"
    )


async def test_multi_image_grid(adapter: LinkedInAdapter, creds: Credentials, sim: Sim) -> None:
    files = [
        media_file(image_bytes("JPEG"), "image/jpeg", alt_text="one", media_id="a"),
        media_file(image_bytes("PNG", size=(20, 10)), "image/png", media_id="b"),
        media_file(animated_gif(), "image/gif", alt_text="three", media_id="c"),
    ]
    result = await adapter.publish(job("three pictures", creds, *files))
    assert isinstance(result, Published)
    [post] = sim.posts("linkedin")
    assert [m["mimeType"] for m in post["media"]] == ["image/jpeg", "image/png", "image/gif"]
    images = (stored_content(sim.url, result.remote_id))["multiImage"]["images"]
    assert [i.get("altText") for i in images] == ["one", None, "three"]


async def test_an_image_linkedin_cannot_process_is_invalid_content(
    adapter: LinkedInAdapter, creds: Credentials, sim: Sim
) -> None:
    webp = media_file(image_bytes("WEBP"), "image/webp")  # the media pipeline converts these first
    err = await failure(adapter, job("webp", creds, webp))
    assert (err.code, err.platform_error) == (ErrorCode.INVALID_CONTENT, "Unsupported image format WEBP")
    assert sim.posts("linkedin") == []


async def test_video_publishes_in_steps(http: aiohttp.ClientSession, creds: Credentials, sim: Sim) -> None:
    data = short_video()
    published, steps = await run_steps(
        http, job("a video", creds, media_file(data, "video/mp4", duration=3.0))
    )
    assert published.remote_id.startswith("urn:li:ugcPost:")
    # uploaded and finalised, then one status read said PROCESSING
    assert [s.state.get("pending") is not None for s in steps] == [True, True]
    assert steps[0].check_after == timedelta(seconds=1)
    [post] = sim.posts("linkedin")
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


async def test_large_video_uploads_in_parts_across_steps(http: aiohttp.ClientSession, own: Sim) -> None:
    data = noisy_video()
    parts = -(-len(data) // (128 * 1024))
    assert parts >= 6
    video = media_file(data, "video/mp4", duration=3.0)
    published, steps = await run_steps(
        http, job("big video", member_creds(own.url), video), step_bytes=300 * 1024
    )
    uploading = [s for s in steps if s.state["step"] == "upload"]
    assert len(uploading) == -(-parts // 3) - 1  # three 128 KB parts per 300 KB step
    assert all(s.check_after == timedelta(0) for s in uploading)
    assert [len(s.state["parts"]) for s in uploading] == list(range(parts - 3, 0, -3))
    assert len(requests(own.url, "PUT", "/dms-uploads/")) == parts
    [post] = own.posts("linkedin")
    assert post["id"] == published.remote_id and post["media"][0]["size"] == len(data)


async def test_an_interrupted_upload_resumes_from_the_last_step(
    http: aiohttp.ClientSession, own: Sim
) -> None:
    own.fault("linkedin", MEMBER, "upload-interrupted")
    data = noisy_video()
    parts = -(-len(data) // (128 * 1024))
    base = job("resumed video", member_creds(own.url), media_file(data, "video/mp4"))
    adapter = LinkedInAdapter(http, timeout=5, upload_step_bytes=128 * 1024)
    state = None
    for _ in range(parts):
        try:
            result = await adapter.publish(PublishJob(base.part, base.creds, "k1", state=state))
        except PlatformError as err:
            assert (err.code, err.status, err.retryable) == (ErrorCode.PLATFORM_SERVER_ERROR, 500, True)
            break
        assert isinstance(result, InProgress)
        state = result.state
    else:
        raise AssertionError("no part was interrupted")
    published, _ = await run_steps(http, PublishJob(base.part, base.creds, "k1", state=state))
    puts = requests(own.url, "PUT", "/dms-uploads/")
    assert len(puts) == parts + 1 and len(set(puts)) == parts  # only the interrupted part went twice
    assert [p["id"] for p in own.posts("linkedin")] == [published.remote_id]


async def test_media_slow_goes_back_to_waiting(
    http: aiohttp.ClientSession, creds: Credentials, sim: Sim
) -> None:
    video = media_file(short_video(), "video/mp4")
    published, steps = await run_steps(http, job("slow #sandbox:media-slow", creds, video))
    # upload, one PROCESSING read, the refused create, then three more PROCESSING reads
    assert len(steps) == 5
    assert [s.check_after.total_seconds() for s in steps[2:]] == [1.5, 2.25, 3.375]
    assert [p["id"] for p in sim.posts("linkedin")] == [published.remote_id]


async def test_media_processing_failure_is_invalid_content(
    http: aiohttp.ClientSession, creds: Credentials, sim: Sim
) -> None:
    video = media_file(short_video(), "video/mp4")
    with pytest.raises(PlatformError) as info:
        await run_steps(http, job("broken #sandbox:media-processing-failed", creds, video))
    err = info.value
    assert (err.code, err.platform_error) == (ErrorCode.INVALID_CONTENT, "MEDIA_ASSET_PROCESSING_FAILED")
    assert err.message == "LinkedIn could not process the video: MEDIA_ASSET_PROCESSING_FAILED"
    sim.fault("linkedin", MEMBER, "media-processing-failed")  # now while polling, before any post
    with pytest.raises(PlatformError) as info:
        await run_steps(http, job("queued", creds, media_file(short_video(), "video/mp4")))
    assert info.value.code is ErrorCode.INVALID_CONTENT
    too_short = media_file(video_bytes(seconds=1.0, size=(32, 32), fps=10), "video/mp4")
    with pytest.raises(PlatformError) as info:
        await run_steps(http, job("short", creds, too_short))
    assert info.value.platform_error == "Video duration 1.0 s is outside 3 s to 30 min"
    assert sim.posts("linkedin") == []


async def test_images_and_a_video_cannot_be_mixed(adapter: LinkedInAdapter, creds: Credentials) -> None:
    mixed = job(
        "mixed", creds, media_file(image_bytes("PNG"), "image/png"), media_file(short_video(), "video/mp4")
    )
    err = await failure(adapter, mixed)
    assert err.code is ErrorCode.INVALID_CONTENT
