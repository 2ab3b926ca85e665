"""X adapter against the simulator over real HTTP: tweets, threads, media steps, tokens, errors."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import av
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from PIL import Image

from postpost.platforms.base import (
    Credentials,
    ErrorCode,
    InProgress,
    MediaFile,
    PlatformError,
    PostPart,
    Published,
    PublishJob,
    ReplyTo,
)
from postpost.platforms.descriptor import MB, CredentialKind, Reconciliation
from postpost.platforms.registry import Adapters, adapter_classes
from postpost.platforms.twitter import DESCRIPTOR, SCOPES, TwitterAdapter
from postpost.simulator import create_simulator_app
from tests.conftest import ServerThread
from tests.media.files import animated_gif, image_bytes, video_bytes
from tests.platforms.conftest import HASTY, Sim, control, creds_of, media_file, publish, ready
from tests.simulator.conftest import FakeClock

DUPLICATE = "You are not allowed to create a Tweet with duplicate content."


def sandbox_creds(simulator_url: str) -> Credentials:
    """A sandbox account as `postpost connections add-sandbox` makes it."""
    account = DESCRIPTOR.sandbox_account
    assert account is not None
    made = account()
    return creds_of(made.account_id, f"{simulator_url}/twitter", made.secrets, made.username)


@pytest.fixture
def adapter(http: aiohttp.ClientSession) -> TwitterAdapter:
    return TwitterAdapter(http, timeout=5)


@pytest.fixture
def creds(simulator_url: str) -> Credentials:
    return sandbox_creds(simulator_url)


async def publish_error(adapter: TwitterAdapter, job: PublishJob) -> PlatformError:
    with pytest.raises(PlatformError) as info:
        await adapter.publish(job)
    return info.value


def job_of(creds: Credentials, text: str, *media: MediaFile, **extra: Any) -> PublishJob:
    return PublishJob(PostPart(text, tuple(media)), creds, "key", **extra)


async def run_steps(
    http: aiohttp.ClientSession, job: PublishJob, configure: Any = None
) -> tuple[Published, list[InProgress]]:
    """Publish through every step, each from a fresh adapter and JSON-stored state (as the engine does)."""
    steps: list[InProgress] = []
    for _ in range(200):
        adapter = TwitterAdapter(http, timeout=5)
        if configure is not None:
            configure(adapter)
        result = await adapter.publish(job)
        if isinstance(result, Published):
            return result, steps
        steps.append(result)
        job = dataclasses.replace(job, state=json.loads(json.dumps(result.state)))
        await asyncio.sleep(result.check_after.total_seconds())
    raise AssertionError("publishing never finished")


def requests_to(simulator_url: str, path: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = control(simulator_url, "GET", f"/requests?platform=twitter&path={path}")[
        "requests"
    ]
    return found


# ----- descriptor ---------------------------------------------------------------


async def test_registry_and_descriptor() -> None:
    assert adapter_classes()["twitter"] is TwitterAdapter
    adapters = Adapters(timeout=2, app_credentials=lambda name: {"client_id": f"{name}-id"})
    got = adapters.get("twitter")
    assert isinstance(got, TwitterAdapter) and got.app == {"client_id": "twitter-id"}
    await adapters.close()
    d = DESCRIPTOR
    assert (d.name, d.title, d.credential) == ("twitter", "X (Twitter)", CredentialKind.OAUTH2)
    assert (d.text.limit, d.text.threads) == (280, True)
    assert d.text.counter("héllo 漢字 👩‍👩‍👧 https://example.com/" + "x" * 50) == 6 + 5 + 2 + 1 + 23
    assert d.reconciliation is Reconciliation.LOOKUP and d.rotating_refresh
    assert d.scopes == (
        "tweet.read",
        "tweet.write",
        "users.read",
        "media.write",
        "offline.access",
        "bookmark.read",
    )
    assert [(w.count, w.seconds) for w in d.pacing.per_account] == [(100, 900)]
    assert [(w.count, w.seconds) for w in d.pacing.per_app] == [(10_000, 86_400)]
    m = d.media
    assert (m.max_images, m.max_videos, m.mix_images_and_videos, m.alt_text_max) == (4, 1, False, 1000)
    assert m.max_bytes("image/png") == 5 * MB and m.max_bytes("image/gif") == 15 * MB
    assert m.max_bytes("video/mp4") == 512 * MB and m.video_max_seconds == 140
    assert m.convert == {}  # X keeps the formats: no PNG conversion, GIFs stay animated
    assert m.image_types == {"image/jpeg", "image/png", "image/gif", "image/webp"}
    assert m.video_types == {"video/mp4", "video/quicktime"}
    assert set(d.endpoints) == {"api", "auth"}


def test_sandbox_account() -> None:
    assert DESCRIPTOR.sandbox_account is not None
    made = DESCRIPTOR.sandbox_account()
    assert made.account_id.isdigit() and len(made.account_id) == 18
    assert made.username == f"sandbox{made.account_id[-8:]}" and len(made.username) <= 15
    assert made.expires_at is None  # the connection does not expire: its access token is refreshed
    access_expires = int(made.secrets["access_expires_at"])
    assert 119 * 60 < access_expires - datetime.now(UTC).timestamp() <= 2 * 3600
    prefix, user, expiry, _ = made.secrets["access_token"].split(".")
    assert (prefix, user, int(expiry)) == ("sandbox", made.account_id, access_expires)
    assert made.secrets["refresh_token"].startswith(f"refresh.{made.account_id}.")
    assert made.secrets["scope"].split() == list(SCOPES)
    assert made.secrets["client_id"]


# ----- text and threads -----------------------------------------------------------


async def test_publish_and_thread(adapter: TwitterAdapter, creds: Credentials, sim: Sim) -> None:
    first = await publish(adapter, "first part (1/2)", creds, "k")
    assert first.remote_id.isdigit()
    assert first.url == f"https://x.com/{creds.username}/status/{first.remote_id}"
    second = await publish(adapter, "second part (2/2)", creds, "k-1", ReplyTo(first, first))
    assert [(p["id"], p["text"], p["replyTo"]) for p in sim.posts("twitter")] == [
        (first.remote_id, "first part (1/2)", None),
        (second.remote_id, "second part (2/2)", first.remote_id),
    ]


async def test_content_errors(adapter: TwitterAdapter, creds: Credentials, sim: Sim) -> None:
    await publish(adapter, "said once", creds, "k")
    duplicate = await publish_error(adapter, job_of(creds, "said once"))
    assert (duplicate.code, duplicate.status, duplicate.retryable) == (ErrorCode.INVALID_CONTENT, 403, False)
    assert duplicate.platform_error == DUPLICATE
    assert "duplicate" in duplicate.message and "same text" in duplicate.message
    too_long = await publish_error(adapter, job_of(creds, "a" * 281))
    assert (too_long.code, too_long.status) == (ErrorCode.CONTENT_TOO_LARGE, 400)
    assert too_long.platform_error is not None and "too long" in too_long.platform_error
    invalid = await publish_error(adapter, job_of(creds, "nope #sandbox:invalid-content"))
    assert (invalid.code, invalid.status, invalid.retryable) == (ErrorCode.INVALID_CONTENT, 400, False)
    assert invalid.platform_error == (
        "One or more parameters to your request was invalid. "
        "The Tweet text contains content that is not allowed."
    )
    assert len(sim.posts("twitter")) == 1


async def test_transient_errors(adapter: TwitterAdapter, creds: Credentials, sim: Sim) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    limited = await publish_error(adapter, job_of(creds, "a #sandbox:rate-limit-once"))
    assert (limited.code, limited.status, limited.retryable) == (ErrorCode.RATE_LIMITED, 429, True)
    assert limited.retry_at is not None and before < limited.retry_at <= before + timedelta(seconds=3)
    failing = await publish_error(adapter, job_of(creds, "b #sandbox:server-error-once"))
    assert (failing.code, failing.status) == (ErrorCode.PLATFORM_SERVER_ERROR, 503)
    assert failing.retryable and failing.maybe_published  # a failed create may still have posted
    sim.fault("twitter", creds.account_id, "server-error-after-commit")
    committed = await publish_error(adapter, job_of(creds, "c"))
    assert (committed.code, committed.status, committed.maybe_published) == (
        ErrorCode.PLATFORM_SERVER_ERROR,
        500,
        True,
    )
    found = await adapter.find_published(job_of(creds, "c", since=datetime.now(UTC)))
    assert found is not None and [p["id"] for p in sim.posts("twitter")] == [found.remote_id]


async def test_timeout_after_commit_then_lookup(
    http: aiohttp.ClientSession, creds: Credentials, sim: Sim
) -> None:
    adapter = TwitterAdapter(http, timeout=HASTY)
    started = datetime.now(UTC)
    text = "Ben & Jerry &amp; <3 https://example.com/a?b=1 #sandbox:timeout-after-commit"
    head = job_of(creds, text, since=started)
    assert await adapter.find_published(head) is None
    lost = await publish_error(adapter, head)
    assert lost.code is ErrorCode.TIMEOUT_ERROR and lost.maybe_published
    found = await adapter.find_published(head)
    [listed] = sim.posts("twitter")
    assert found is not None and found.remote_id == listed["id"]
    assert found.url == f"https://x.com/{creds.username}/status/{listed['id']}"
    # a later part: matched by its text and the tweet it replies to
    reply = job_of(
        creds, "part two #sandbox:timeout-after-commit", since=started, reply_to=ReplyTo(found, found)
    )
    assert (await publish_error(adapter, reply)).code is ErrorCode.TIMEOUT_ERROR
    assert (await adapter.find_published(reply)) == Published(
        sim.posts("twitter")[1]["id"],
        f"https://x.com/{creds.username}/status/{sim.posts('twitter')[1]['id']}",
    )
    elsewhere = ReplyTo(found, Published("1"))
    assert await adapter.find_published(dataclasses.replace(reply, reply_to=elsewhere)) is None
    assert await adapter.find_published(dataclasses.replace(reply, reply_to=None)) is None
    assert await adapter.find_published(job_of(creds, "never posted", since=started)) is None
    later = started + timedelta(minutes=10)
    assert await adapter.find_published(dataclasses.replace(head, since=later)) is None  # outside the window


@pytest.fixture
def clocked() -> Iterator[tuple[str, FakeClock]]:
    """A simulator of its own whose clock the test moves (to pass X's 15-minute window)."""
    clock = FakeClock(datetime.now(UTC).timestamp())
    with ServerThread(create_simulator_app(clock=clock)) as url:
        yield url, clock


async def test_lookup_reads_further_pages(
    http: aiohttp.ClientSession, clocked: tuple[str, FakeClock]
) -> None:
    url, clock = clocked
    adapter = TwitterAdapter(http, timeout=5)
    started = datetime.now(UTC)
    token = f"sandbox.4242.{int(clock.now) + 10**6}.t"  # valid by the fake's clock
    creds = creds_of("4242", f"{url}/twitter", {"access_token": token}, "sandbox4242")
    for i in range(130):
        if i == 100:
            clock.now += 901  # the user's 15-minute window is used up
        await publish(adapter, f"post number {i}", creds, f"k{i}")
    found = await adapter.find_published(job_of(creds, "post number 3", since=started))
    assert found is not None
    pages = requests_to(url, f"/2/users/{creds.account_id}/tweets")
    assert len(pages) == 2


# ----- tokens ---------------------------------------------------------------------------


async def test_needs_refresh(adapter: TwitterAdapter, creds: Credentials) -> None:
    now = datetime.now(UTC)
    assert not adapter.needs_refresh(creds, now)
    assert adapter.needs_refresh(creds, now + timedelta(minutes=116))  # five minutes before expiry
    unknown = dataclasses.replace(creds, secrets=creds.secrets.merged(access_expires_at=None))
    assert not adapter.needs_refresh(unknown, now)
    no_token = dataclasses.replace(creds, secrets=creds.secrets.merged(access_token=None))
    assert adapter.needs_refresh(no_token, now)


async def test_refresh_rotates_and_a_spent_token_is_refused(
    adapter: TwitterAdapter, creds: Credentials, sim: Sim
) -> None:
    fresh = await adapter.refresh(creds)
    assert fresh.secrets["refresh_token"] != creds.secrets["refresh_token"]
    assert fresh.secrets["access_token"] != creds.secrets["access_token"]
    assert fresh.secrets["client_id"] == creds.secrets["client_id"]
    assert fresh.expires_at is None
    left = int(fresh.secrets["access_expires_at"]) - datetime.now(UTC).timestamp()
    assert 119 * 60 < left <= 2 * 3600
    assert set(fresh.scopes) == set(SCOPES)
    await publish(adapter, "with the new token", fresh, "k")
    with pytest.raises(PlatformError) as info:
        await adapter.refresh(creds)  # the old refresh token was spent
    err = info.value
    assert (err.code, err.status, err.refreshable, err.retryable) == (
        ErrorCode.PLATFORM_AUTH_EXPIRED,
        400,
        False,
        False,
    )
    assert "invalid_request" in (err.platform_error or "") and "reconnect" in err.message
    again = await adapter.refresh(fresh)
    assert again.secrets["refresh_token"] not in (
        fresh.secrets["refresh_token"],
        creds.secrets["refresh_token"],
    )


async def test_refresh_with_the_apps_client(http: aiohttp.ClientSession, creds: Credentials) -> None:
    without_client = dataclasses.replace(creds, secrets=creds.secrets.merged(client_id=None))
    confidential = TwitterAdapter(http, timeout=5, app={"client_id": "app", "client_secret": "secret"})
    refreshed = await confidential.refresh(without_client)
    public = TwitterAdapter(http, timeout=5, app={"client_id": "app"})
    assert (await public.refresh(refreshed)).secrets["access_token"]
    nobody = TwitterAdapter(http, timeout=5)
    with pytest.raises(PlatformError) as info:
        await nobody.refresh(refreshed)
    assert (info.value.code, info.value.status) == (ErrorCode.PLATFORM_AUTH_EXPIRED, 401)
    assert "Missing valid authorization header" in (info.value.platform_error or "")


async def test_refresh_without_refresh_token(adapter: TwitterAdapter, creds: Credentials) -> None:
    spent = dataclasses.replace(creds, secrets=creds.secrets.merged(refresh_token=None))
    with pytest.raises(PlatformError) as info:
        await adapter.refresh(spent)
    assert info.value.code is ErrorCode.PLATFORM_AUTH_EXPIRED and "reconnect" in info.value.message


async def test_rejected_token_is_refreshable(adapter: TwitterAdapter, creds: Credentials, sim: Sim) -> None:
    expired = dataclasses.replace(
        creds, secrets=creds.secrets.merged(access_token=f"sandbox.{creds.account_id}.1000.x")
    )
    err = await publish_error(adapter, job_of(expired, "hello"))
    assert (err.code, err.status, err.refreshable) == (ErrorCode.PLATFORM_AUTH_EXPIRED, 401, True)
    marked = await publish_error(adapter, job_of(creds, "hello #sandbox:auth-expired"))
    assert (marked.code, marked.status, marked.refreshable) == (ErrorCode.PLATFORM_AUTH_EXPIRED, 401, True)
    await publish(adapter, "hello", await ready(adapter, await adapter.refresh(expired)), "k")
    assert [p["text"] for p in sim.posts("twitter")] == ["hello"]


async def test_token_without_write_scope_is_an_unknown_error(
    adapter: TwitterAdapter, http: aiohttp.ClientSession, simulator_url: str
) -> None:
    """Tokens from the authorization-code flow carry the scopes granted; a 403 for a missing one."""
    base = f"{simulator_url}/twitter"
    verifier = "verifier-" + "v" * 43
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    params = {
        "response_type": "code",
        "client_id": "app",
        "redirect_uri": "http://localhost/cb",
        "scope": "tweet.read users.read offline.access",
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    async with http.get(f"{base}/i/oauth2/authorize", params=params, allow_redirects=False) as resp:
        assert resp.status == 302
        code = parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "http://localhost/cb",
        "code_verifier": verifier,
        "client_id": "app",
    }
    async with http.post(f"{base}/2/oauth2/token", data=form) as resp:
        tokens = await resp.json()
    user = (await TwitterAdapter(http).check_connection(creds_of("0", base, tokens))).username
    assert user is not None and user.startswith("sandbox")
    limited = creds_of("0", base, {**tokens, "client_id": "app"})
    err = await publish_error(adapter, job_of(limited, "not allowed"))
    assert (err.code, err.status, err.retryable) == (ErrorCode.UNKNOWN_ERROR, 403, False)
    assert err.platform_error == "You are not permitted to perform this action."
    refreshed = await adapter.refresh(limited)
    assert refreshed.secrets["scope"] == "offline.access tweet.read users.read"


# ----- connection check -----------------------------------------------------------------


async def test_check_connection(adapter: TwitterAdapter, creds: Credentials) -> None:
    check = await adapter.check_connection(creds)
    assert check.ok and check.username == creds.username
    assert check.message == f"Connected as {creds.username}"
    assert list(check.permissions) == list(SCOPES)
    expired = dataclasses.replace(
        creds, secrets=creds.secrets.merged(access_token=f"sandbox.{creds.account_id}.1000.x")
    )
    with pytest.raises(PlatformError) as info:
        await adapter.check_connection(expired)
    assert info.value.refreshable and info.value.status == 401


async def test_check_connection_when_x_is_unreachable(
    http: aiohttp.ClientSession, creds: Credentials
) -> None:
    gone = creds_of(creds.account_id, "http://127.0.0.1:9", dict(creds.secrets))
    check = await TwitterAdapter(http, timeout=2).check_connection(gone)
    assert not check.ok and check.message


# ----- media ------------------------------------------------------------------------------


def noisy_video(seconds: float, size: tuple[int, int] = (320, 240), fps: int = 25) -> bytes:
    """An H.264 MP4 of random noise: it hardly compresses, so a few seconds weigh megabytes."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "0"})
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for _ in range(int(seconds * fps)):
            frame = av.VideoFrame.from_image(Image.effect_noise(size, 90).convert("RGB"))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


async def test_images_with_alt_text(adapter: TwitterAdapter, creds: Credentials, sim: Sim) -> None:
    png = image_bytes("PNG", (64, 48))
    jpeg = image_bytes("JPEG", (30, 20))
    job = job_of(
        creds,
        "two pictures",
        media_file(png, "image/png", alt_text="a red square", media_id="a"),
        media_file(jpeg, "image/jpeg", media_id="b"),
    )
    result = await adapter.publish(job)
    assert isinstance(result, Published)
    [post] = sim.posts("twitter")
    assert post["id"] == result.remote_id and post["text"] == "two pictures"
    assert post["media"] == [
        {
            "type": "image",
            "mimeType": "image/png",
            "size": len(png),
            "width": 64,
            "height": 48,
            "altText": "a red square",
        },
        {"type": "image", "mimeType": "image/jpeg", "size": len(jpeg), "width": 30, "height": 20},
    ]


async def test_gif_is_kept_and_processed(http: aiohttp.ClientSession, creds: Credentials, sim: Sim) -> None:
    gif = animated_gif()
    published, steps = await run_steps(http, job_of(creds, "animated", media_file(gif, "image/gif")))
    assert steps and all(s.check_after >= timedelta(seconds=1) for s in steps)
    [post] = sim.posts("twitter")
    assert post["id"] == published.remote_id
    assert post["media"] == [
        {"type": "image", "mimeType": "image/gif", "size": len(gif), "width": 40, "height": 30}
    ]


async def test_video_in_resumable_steps(
    http: aiohttp.ClientSession, creds: Credentials, sim: Sim, simulator_url: str
) -> None:
    data = noisy_video(2.0)
    assert len(data) > 2 * MB
    clip = media_file(data, "video/mp4", width=320, height=240, duration=2.0, alt_text="noise")

    def small_steps(adapter: TwitterAdapter) -> None:
        adapter.uploads.segment_bytes = 256 * 1024
        adapter.uploads.step_bytes = 1 * MB

    published, steps = await run_steps(http, job_of(creds, "a clip", clip), small_steps)
    uploads = [s for s in steps if "upload" in s.state and s.state["upload"]["offset"] < len(data)]
    offsets = [s.state["upload"]["offset"] for s in uploads]
    assert offsets == list(range(MB, len(data), MB))  # each step recorded its progress
    assert all(s.check_after == timedelta(0) for s in uploads)
    processing = [s for s in steps if s not in uploads]
    assert processing and all(s.state["upload"]["finalized"] for s in processing)
    assert all(s.check_after >= timedelta(seconds=1) for s in processing)
    media_id = steps[0].state["upload"]["id"]
    appends = requests_to(simulator_url, f"/2/media/upload/{media_id}/append")
    assert len(appends) == -(-len(data) // (256 * 1024))
    [post] = sim.posts("twitter")
    assert post["id"] == published.remote_id
    [entry] = post["media"]
    assert (entry["type"], entry["mimeType"], entry["size"]) == ("video", "video/mp4", len(data))
    assert (entry["width"], entry["height"], entry["altText"]) == (320, 240, "noise")
    assert entry["duration"] == pytest.approx(2.0, abs=0.1)


async def test_interrupted_upload_resumes_from_the_recorded_step(
    http: aiohttp.ClientSession, creds: Credentials, sim: Sim, simulator_url: str
) -> None:
    data = video_bytes(2.0, size=(160, 120))
    segment = max(len(data) // 8, 1024)

    def small_steps(adapter: TwitterAdapter) -> None:
        adapter.uploads.segment_bytes = segment
        adapter.uploads.step_bytes = 2 * segment

    sim.fault("twitter", creds.account_id, "upload-interrupted")
    job = job_of(creds, "resumed", media_file(data, "video/mp4"))
    adapter = TwitterAdapter(http, timeout=5)
    small_steps(adapter)
    state: dict[str, Any] | None = None
    while True:
        try:
            step = await adapter.publish(dataclasses.replace(job, state=state))
        except PlatformError as error:
            cut = error  # the segment crossing half of the file is refused
            break
        assert isinstance(step, InProgress) and step.check_after == timedelta(0)
        state = dict(step.state)
    assert state is not None and 0 < state["upload"]["offset"] <= len(data) // 2
    assert (cut.code, cut.status, cut.retryable, cut.maybe_published) == (
        ErrorCode.PLATFORM_SERVER_ERROR,
        503,
        True,
        False,
    )
    job = dataclasses.replace(job, state=state)
    published, _steps = await run_steps(http, job, small_steps)  # again from the recorded state
    media_id = state["upload"]["id"]
    assert len(requests_to(simulator_url, "/2/media/upload/initialize")) == 1
    segments = -(-len(data) // segment)
    resent = len(requests_to(simulator_url, f"/2/media/upload/{media_id}/append")) - segments
    assert 1 <= resent <= 2  # only the segments after the last recorded step
    assert [p["id"] for p in sim.posts("twitter")] == [published.remote_id]
    assert sim.posts("twitter")[0]["media"][0]["size"] == len(data)


async def test_processing_failure(http: aiohttp.ClientSession, creds: Credentials, sim: Sim) -> None:
    sim.fault("twitter", creds.account_id, "media-processing-failed")
    with pytest.raises(PlatformError) as info:
        await run_steps(http, job_of(creds, "broken", media_file(video_bytes(1.0), "video/mp4")))
    err = info.value
    assert (err.code, err.retryable) == (ErrorCode.INVALID_CONTENT, False)
    assert err.platform_error == "Invalid or Unsupported media, Reason: UnsupportedMedia."
    long_clip = video_bytes(141.0, size=(16, 16), fps=1)
    with pytest.raises(PlatformError) as info:
        await run_steps(http, job_of(creds, "too long", media_file(long_clip, "video/mp4")))
    assert "Duration too long" in (info.value.platform_error or "")
    assert sim.posts("twitter") == []


async def test_slow_processing_is_polled_as_asked(
    adapter: TwitterAdapter, creds: Credentials, sim: Sim
) -> None:
    sim.fault("twitter", creds.account_id, "media-slow")
    result = await adapter.publish(job_of(creds, "slow", media_file(video_bytes(1.0), "video/mp4")))
    assert isinstance(result, InProgress) and result.check_after == timedelta(seconds=10)
    again = await adapter.publish(
        job_of(creds, "slow", media_file(video_bytes(1.0), "video/mp4"), state=result.state)
    )
    assert isinstance(again, InProgress) and again.state["upload"]["id"] == result.state["upload"]["id"]


async def test_media_that_cannot_go_together_is_refused_before_uploading(
    adapter: TwitterAdapter, creds: Credentials, simulator_url: str
) -> None:
    png = media_file(image_bytes("PNG"), "image/png")
    cases = [
        (png, media_file(video_bytes(1.0), "video/mp4", media_id="v")),
        (png, media_file(animated_gif(), "image/gif", media_id="g")),
        tuple(dataclasses.replace(png, id=str(i)) for i in range(5)),
    ]
    for media in cases:
        err = await publish_error(adapter, job_of(creds, "too much", *media))
        assert (err.code, err.retryable) == (ErrorCode.INVALID_CONTENT, False)
    assert control(simulator_url, "GET", "/requests?platform=twitter")["requests"] == []


async def test_expired_uploads_are_made_again(adapter: TwitterAdapter, creds: Credentials, sim: Sim) -> None:
    png = media_file(image_bytes("PNG"), "image/png")
    stale = {"media": [{"id": "12345", "expires": 0}], "upload": None}
    result = await adapter.publish(job_of(creds, "again", png, state=stale))
    assert isinstance(result, Published)
    assert sim.posts("twitter")[0]["media"][0]["mimeType"] == "image/png"


async def test_unsure_create_after_media_is_looked_up(
    http: aiohttp.ClientSession, creds: Credentials, sim: Sim
) -> None:
    """The create that follows the upload steps timed out: the retry finds the post, never posts twice."""
    job = job_of(creds, "clip #sandbox:timeout-after-commit", media_file(video_bytes(1.0), "video/mp4"))
    job = dataclasses.replace(job, since=datetime.now(UTC))
    adapter = TwitterAdapter(http, timeout=HASTY)
    state: dict[str, Any] | None = None
    for _ in range(20):
        try:
            result = await adapter.publish(dataclasses.replace(job, state=state))
        except PlatformError as lost:
            assert lost.code is ErrorCode.TIMEOUT_ERROR and lost.maybe_published
            break
        assert isinstance(result, InProgress)
        state = dict(result.state)
        await asyncio.sleep(result.check_after.total_seconds())
    again = await adapter.publish(dataclasses.replace(job, state=state, unsure=True))
    [post] = sim.posts("twitter")
    assert isinstance(again, Published) and again.remote_id == post["id"]


# ----- transport failures -------------------------------------------------------------------


async def test_unreachable_x_is_a_network_error(http: aiohttp.ClientSession, creds: Credentials) -> None:
    gone = creds_of(creds.account_id, "http://127.0.0.1:9", dict(creds.secrets))
    err = await publish_error(TwitterAdapter(http, timeout=2), job_of(gone, "nobody there"))
    assert (err.code, err.retryable, err.maybe_published) == (ErrorCode.NETWORK_ERROR, True, False)


async def test_created_without_an_id_may_have_published(http: aiohttp.ClientSession) -> None:
    """A 201 whose body is not X's: the post may exist, so it is reconciled rather than resent."""

    async def garbled(_request: web.Request) -> web.Response:
        return web.Response(status=201, text="<html>ok</html>", headers={"x-rate-limit-remaining": "5"})

    app = web.Application()
    app.router.add_post("/2/tweets", garbled)
    async with TestServer(app) as server:
        odd = creds_of("1", str(server.make_url("")).rstrip("/"), {"access_token": "t"})
        err = await publish_error(TwitterAdapter(http, timeout=2), job_of(odd, "hello"))
    assert (err.code, err.maybe_published, err.retryable) == (ErrorCode.UNKNOWN_ERROR, True, True)
