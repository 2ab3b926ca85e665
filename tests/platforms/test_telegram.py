"""Telegram adapter against the simulator's Bot API over real HTTP."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

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
from postpost.platforms.descriptor import CredentialKind, Reconciliation
from postpost.platforms.registry import adapter_classes
from postpost.platforms.telegram import DESCRIPTOR, TelegramAdapter, message_url, split_caption
from tests.conftest import ServerThread
from tests.media.files import animated_gif, image_bytes, photo_bytes, video_bytes
from tests.platforms.conftest import HASTY, Sim, creds_of, media_file


@pytest.fixture
def adapter(http: aiohttp.ClientSession) -> TelegramAdapter:
    return TelegramAdapter(http, timeout=5)


@pytest.fixture
def creds(simulator_url: str) -> Credentials:
    account = DESCRIPTOR.sandbox_account()  # type: ignore[misc]
    return creds_of(account.account_id, f"{simulator_url}/telegram", account.secrets, account.username)


def job(creds: Credentials, text: str, *media: MediaFile, **kw: Any) -> PublishJob:
    return PublishJob(PostPart(text, tuple(media)), creds, "key", **kw)


async def fails(adapter: TelegramAdapter, j: PublishJob) -> PlatformError:
    with pytest.raises(PlatformError) as info:
        await adapter.publish(j)
    return info.value


async def done(adapter: TelegramAdapter, j: PublishJob) -> Published:
    result = await adapter.publish(j)
    assert isinstance(result, Published), result
    return result


async def messages(http: aiohttp.ClientSession, creds: Credentials) -> list[dict[str, Any]]:
    """What the fake stored in the chat, with each message's send options."""
    async with http.get(f"{creds.base_url}/_control/chats/{creds.account_id}/messages") as resp:
        return list((await resp.json())["messages"])


async def set_member(
    http: aiohttp.ClientSession, creds: Credentials, status: str, can_post: bool = True
) -> None:
    body = {"status": status, "canPostMessages": can_post}
    async with http.post(f"{creds.base_url}/_control/chats/{creds.account_id}", json=body) as resp:
        assert resp.status == 200


async def requested(http: aiohttp.ClientSession, simulator_url: str) -> list[str]:
    async with http.get(f"{simulator_url}/_control/requests", params={"platform": "telegram"}) as resp:
        return [r["path"].rsplit("/", 1)[-1] for r in (await resp.json())["requests"]]


def padded_mp4(size: int) -> bytes:
    """A real MP4 grown to `size` bytes with a trailing `free` box (players and probes skip it)."""
    video = video_bytes(0.4)
    pad = size - len(video)
    return video + struct.pack(">I4s", pad, b"free") + bytes(pad - 8)


# ----- descriptor ---------------------------------------------------------------------------------


def test_descriptor() -> None:
    assert adapter_classes()["telegram"] is TelegramAdapter
    d = DESCRIPTOR
    assert (d.reconciliation, d.credential) == (Reconciliation.NONE, CredentialKind.BOT_TOKEN)
    assert (d.text.limit, d.text.caption_limit, d.text.threads) == (4096, 1024, False)
    assert d.text.counter("héllo 😀") == 7
    assert (d.media.max_images, d.media.max_videos, d.media.mix_images_and_videos) == (10, 1, False)
    assert (d.media.image_max_bytes, d.media.video_max_bytes) == (10 * 1024 * 1024, 50 * 1024 * 1024)
    assert d.media.convert == {"image/webp": "image/jpeg"}
    assert d.default_settings == {
        "parseMode": "",
        "disableWebPagePreview": False,
        "disableNotification": False,
        "protectContent": False,
        "showCaptionAboveMedia": False,
    }
    assert d.settings["parseMode"].allowed == ("", "HTML", "MarkdownV2")
    [per_chat], [per_bot] = d.pacing.per_account, d.pacing.per_app
    assert (per_chat.count, per_chat.seconds, per_bot.count, per_bot.seconds) == (20, 60, 30, 1)


def test_sandbox_accounts_are_channels_with_a_bot_token() -> None:
    first, second = DESCRIPTOR.sandbox_account(), DESCRIPTOR.sandbox_account()  # type: ignore[misc]
    assert first.account_id.startswith("-100") and first.account_id[1:].isdigit()
    assert f"telegram-{first.account_id}".startswith("telegram--100")
    bot, _, secret = first.secrets["bot_token"].partition(":")
    assert bot.isdigit() and secret.startswith("sandbox")
    assert first.account_id != second.account_id and first.secrets != second.secrets
    assert first.expires_at is None


def test_message_urls() -> None:
    assert message_url({"id": -1001234567890}, 7) == "https://t.me/c/1234567890/7"
    assert message_url({"id": -1001234567890, "username": "news"}, 7) == "https://t.me/news/7"
    assert message_url({"id": -4242}, 7) is None


def test_caption_split_prefers_paragraphs_then_sentences_then_words() -> None:
    paragraphs = "a" * 600 + "\n\n" + "b" * 600
    assert split_caption(paragraphs, {}) == ("a" * 600, 600)
    sentences = "Short one. " * 120
    caption, rest_from = split_caption(sentences, {})
    assert caption.endswith("one.") and len(caption) <= 1024 and len(caption) > 1000
    assert sentences[rest_from:].startswith(" Short")
    words = "word " * 300
    caption, rest_from = split_caption(words, {})
    assert caption.endswith("word") and len(caption) <= 1024 and words[rest_from] == " "
    solid = "x" * 2000
    assert split_caption(solid, {}) == ("x" * 1024, 1024)
    emoji = "👍🏽" * 600  # two code points each, never split
    caption, rest_from = split_caption(emoji, {})
    assert caption == "👍🏽" * 512 and rest_from == 1024
    assert split_caption("<b>" + "x" * 1100 + "</b>", {"parseMode": "HTML"}) == ("", 0)
    assert split_caption("fits", {"parseMode": "HTML"}) == ("fits", 4)


# ----- text ---------------------------------------------------------------------------------------


async def test_text_message_is_listed_with_a_link(
    adapter: TelegramAdapter, creds: Credentials, sim: Sim
) -> None:
    published = await done(adapter, job(creds, "Hello channel"))
    assert published.remote_id == "1"
    assert published.url == f"https://t.me/c/{creds.account_id[4:]}/1"
    assert published.ref == {"chatId": creds.account_id, "messageIds": [1]}
    assert sim.posts("telegram") == [
        {
            "platform": "telegram",
            "account": creds.account_id,
            "id": "1",
            "text": "Hello channel",
            "replyTo": None,
            "media": [],
        }
    ]


async def test_settings_are_honoured(
    adapter: TelegramAdapter, creds: Credentials, http: aiohttp.ClientSession
) -> None:
    settings = {
        "parseMode": "HTML",
        "disableWebPagePreview": True,
        "disableNotification": True,
        "protectContent": True,
        "showCaptionAboveMedia": True,
    }
    await done(adapter, job(creds, "<b>Big</b> news https://example.com", settings=settings))
    await done(adapter, job(creds, "<i>photo</i>", media_file(image_bytes(), "image/png"), settings=settings))
    text, photo = await messages(http, creds)
    assert text["message"]["text"] == "Big news https://example.com"
    assert text["message"]["entities"] == [{"type": "bold", "offset": 0, "length": 3}]
    assert text["message"]["link_preview_options"] == {"is_disabled": True}
    assert text["message"]["has_protected_content"] is True
    assert text["options"] == {"disable_notification": True, "protect_content": True, "parse_mode": "HTML"}
    assert photo["message"]["caption"] == "photo"
    assert photo["message"]["caption_entities"] == [{"type": "italic", "offset": 0, "length": 5}]
    assert photo["message"]["show_caption_above_media"] is True
    assert photo["options"] == {"disable_notification": True, "protect_content": True, "parse_mode": "HTML"}


async def test_defaults_send_plain_text(
    adapter: TelegramAdapter, creds: Credentials, http: aiohttp.ClientSession
) -> None:
    await done(adapter, job(creds, "<b>not bold</b> *nor this*.", settings=DESCRIPTOR.default_settings))
    [stored] = await messages(http, creds)
    assert stored["message"]["text"] == "<b>not bold</b> *nor this*."
    assert "entities" not in stored["message"] and "has_protected_content" not in stored["message"]
    assert stored["options"] == {}


async def test_markdown_v2(adapter: TelegramAdapter, creds: Credentials, http: aiohttp.ClientSession) -> None:
    settings = {"parseMode": "MarkdownV2"}
    await done(adapter, job(creds, "*bold* and [a link](https://example.com) ok\\.", settings=settings))
    [stored] = await messages(http, creds)
    assert stored["message"]["text"] == "bold and a link ok."
    err = await fails(adapter, job(creds, "unescaped dot.", settings=settings))
    assert (err.code, err.status, err.retryable) == (ErrorCode.INVALID_CONTENT, 400, False)
    assert err.platform_error == (
        "Bad Request: can't parse entities: "
        "Character '.' is reserved and must be escaped with the preceding '\\'"
    )


async def test_malformed_html_is_invalid_content(
    adapter: TelegramAdapter, creds: Credentials, sim: Sim
) -> None:
    err = await fails(adapter, job(creds, "<b>open", settings={"parseMode": "HTML"}))
    assert err.code is ErrorCode.INVALID_CONTENT
    assert (
        err.platform_error
        == "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\""
    )
    assert sim.posts() == []


async def test_reply_to(adapter: TelegramAdapter, creds: Credentials, sim: Sim) -> None:
    first = await done(adapter, job(creds, "first"))
    second = await done(adapter, job(creds, "second", reply_to=ReplyTo(first, first)))
    assert [p["replyTo"] for p in sim.posts()] == [None, first.remote_id]
    missing = Published("999", None)
    err = await fails(adapter, job(creds, "third", reply_to=ReplyTo(first, missing)))
    assert (err.code, err.platform_error) == (
        ErrorCode.INVALID_CONTENT,
        "Bad Request: message to be replied not found",
    )
    assert second.remote_id == "2"


async def test_too_long_text(adapter: TelegramAdapter, creds: Credentials) -> None:
    err = await fails(adapter, job(creds, "x" * 4097))
    assert (err.code, err.status, err.platform_error) == (
        ErrorCode.CONTENT_TOO_LARGE,
        400,
        "Bad Request: message is too long",
    )
    assert not err.retryable


# ----- errors -------------------------------------------------------------------------------------


async def test_rejected_token(adapter: TelegramAdapter, creds: Credentials, simulator_url: str) -> None:
    revoked = creds_of(creds.account_id, creds.base_url, {"bot_token": "123456:revokedRevokedRevoked"})
    err = await fails(adapter, job(revoked, "hi"))
    assert (err.code, err.status, err.refreshable, err.retryable) == (
        ErrorCode.PLATFORM_AUTH_EXPIRED,
        401,
        False,
        False,
    )
    assert err.platform_error == "Unauthorized"
    with pytest.raises(PlatformError) as info:
        await adapter.refresh(revoked)
    assert info.value.code is ErrorCode.PLATFORM_AUTH_EXPIRED
    err = await fails(adapter, job(creds, "hi #sandbox:auth-expired"))
    assert (err.code, err.status) == (ErrorCode.PLATFORM_AUTH_EXPIRED, 401)
    missing = creds_of(creds.account_id, creds.base_url, {})
    assert (await fails(adapter, job(missing, "hi"))).code is ErrorCode.PLATFORM_AUTH_EXPIRED
    # `postpost connections add --access-token` stores the bot token under that name
    added = creds_of(creds.account_id, creds.base_url, {"access_token": creds.secrets["bot_token"]})
    assert (await done(adapter, job(added, "hi"))).remote_id == "1"


async def test_rate_limited_then_sent(adapter: TelegramAdapter, creds: Credentials, sim: Sim) -> None:
    before = datetime.now(UTC)
    err = await fails(adapter, job(creds, "hold on #sandbox:rate-limit-once"))
    assert (err.code, err.status, err.retryable, err.maybe_published) == (
        ErrorCode.RATE_LIMITED,
        429,
        True,
        False,
    )
    assert err.platform_error == "Too Many Requests: retry after 1"
    assert err.retry_at is not None
    assert before + timedelta(seconds=0.9) <= err.retry_at <= datetime.now(UTC) + timedelta(seconds=1.1)
    assert sim.posts() == []
    published = await done(adapter, job(creds, "hold on #sandbox:rate-limit-once"))
    assert [p["id"] for p in sim.posts()] == [published.remote_id]


async def test_server_errors(adapter: TelegramAdapter, creds: Credentials, sim: Sim) -> None:
    sim.fault("telegram", creds.account_id, "server-error")
    err = await fails(adapter, job(creds, "a"))
    assert (err.code, err.status, err.retryable) == (ErrorCode.PLATFORM_SERVER_ERROR, 500, True)
    assert not err.maybe_published  # the Bot API itself answered: nothing was sent
    assert sim.posts() == []
    sim.fault("telegram", creds.account_id, "server-error-after-commit")
    err = await fails(adapter, job(creds, "b"))
    assert (err.code, err.status) == (ErrorCode.PLATFORM_SERVER_ERROR, 502)
    assert err.maybe_published  # a gateway page: the message may be out
    assert "502 Bad Gateway" in (err.platform_error or "")
    assert [p["text"] for p in sim.posts()] == ["b"]


async def test_timeout_after_commit_may_have_published(
    http: aiohttp.ClientSession, creds: Credentials, sim: Sim
) -> None:
    adapter = TelegramAdapter(http, timeout=HASTY)
    err = await fails(adapter, job(creds, "lost answer #sandbox:timeout-after-commit"))
    assert (err.code, err.maybe_published) == (ErrorCode.TIMEOUT_ERROR, True)
    assert len(sim.posts()) == 1


async def test_chat_problems_are_not_content_errors(
    adapter: TelegramAdapter, creds: Credentials, http: aiohttp.ClientSession, sim: Sim
) -> None:
    await set_member(http, creds, "kicked")
    err = await fails(adapter, job(creds, "hi"))
    assert (err.code, err.status, err.retryable) == (ErrorCode.UNKNOWN_ERROR, 403, False)
    assert err.platform_error == "Forbidden: bot was kicked from the channel chat"
    await set_member(http, creds, "administrator", can_post=False)
    err = await fails(adapter, job(creds, "hi"))
    assert (err.code, err.status) == (ErrorCode.UNKNOWN_ERROR, 400)
    assert err.platform_error == "Bad Request: need administrator rights in the channel chat"
    nowhere = creds_of("not-a-chat", creds.base_url, dict(creds.secrets))
    err = await fails(adapter, job(nowhere, "hi"))
    assert (err.code, err.platform_error) == (ErrorCode.UNKNOWN_ERROR, "Bad Request: chat not found")
    assert sim.posts() == []


async def test_the_token_never_shows_in_errors(adapter: TelegramAdapter, creds: Credentials) -> None:
    token = creds.secrets["bot_token"]
    for origin in ("http://127.0.0.1:1", "http://exa mple.invalid"):
        broken = creds_of(creds.account_id, origin, dict(creds.secrets))
        err = await fails(adapter, job(broken, "hi"))
        assert err.code in (ErrorCode.NETWORK_ERROR, ErrorCode.UNKNOWN_ERROR)
        assert token not in err.message and token not in (err.platform_error or "")
    refused = creds_of(creds.account_id, "http://127.0.0.1:1", dict(creds.secrets))
    err = await fails(adapter, job(refused, "hi"))
    assert (err.code, err.maybe_published) == (ErrorCode.NETWORK_ERROR, False)


# ----- answers the simulator never gives -------------------------------------------------------------

ANSWERS: dict[str, Response] = {}


@pytest.fixture(scope="module")
def scripted() -> Iterator[str]:
    """A stand-in for api.telegram.org answering each method as the test scripted it."""

    async def answer(request: Request) -> Response:
        return ANSWERS[request.path_params["method"]]

    with ServerThread(Starlette(routes=[Route("/bot{token}/{method}", answer, methods=["POST"])])) as url:
        yield url


@pytest.mark.parametrize(
    ("response", "code", "maybe_published", "says"),
    [
        (Response("<html>hello</html>", 200), ErrorCode.UNKNOWN_ERROR, True, "without the message"),
        (
            JSONResponse({"ok": True, "result": {"chat": {}}}),
            ErrorCode.UNKNOWN_ERROR,
            True,
            "without the message",
        ),
        (
            JSONResponse(
                {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: group chat was upgraded to a supergroup chat",
                    "parameters": {"migrate_to_chat_id": -1009876543210},
                },
                400,
            ),
            ErrorCode.UNKNOWN_ERROR,
            False,
            "supergroup with the id -1009876543210",
        ),
        (
            JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, 404),
            ErrorCode.UNKNOWN_ERROR,
            False,
            "HTTP 404",
        ),
        (Response("Service Unavailable", 503), ErrorCode.PLATFORM_SERVER_ERROR, True, "HTTP 503"),
    ],
)
async def test_odd_answers(
    adapter: TelegramAdapter,
    scripted: str,
    response: Response,
    code: ErrorCode,
    maybe_published: bool,
    says: str,
) -> None:
    ANSWERS["sendMessage"] = response
    creds = creds_of("-1001", scripted, {"bot_token": "1:x"})
    err = await fails(adapter, job(creds, "hi"))
    assert (err.code, err.maybe_published) == (code, maybe_published)
    assert says in err.message


async def test_retry_after_header_when_the_body_has_none(adapter: TelegramAdapter, scripted: str) -> None:
    ANSWERS["sendMessage"] = JSONResponse(
        {"ok": False, "error_code": 429}, 429, headers={"Retry-After": "30"}
    )
    err = await fails(adapter, job(creds_of("-1001", scripted, {"bot_token": "1:x"}), "hi"))
    assert err.code is ErrorCode.RATE_LIMITED and err.retry_at is not None
    assert err.retry_at > datetime.now(UTC) + timedelta(seconds=25)


# ----- media --------------------------------------------------------------------------------------


async def test_one_photo(adapter: TelegramAdapter, creds: Credentials, sim: Sim) -> None:
    data = photo_bytes((320, 200))
    published = await done(
        adapter, job(creds, "a photo", media_file(data, "image/jpeg", width=320, height=200))
    )
    [post] = sim.posts()
    assert post["id"] == published.remote_id and post["text"] == "a photo"
    assert post["media"] == [
        {"type": "image", "mimeType": "image/jpeg", "size": len(data), "width": 320, "height": 200}
    ]


async def test_album_of_photos(
    adapter: TelegramAdapter, creds: Credentials, sim: Sim, http: aiohttp.ClientSession
) -> None:
    files = [
        media_file(image_bytes("PNG"), "image/png", media_id="a"),
        media_file(image_bytes("JPEG", (30, 90)), "image/jpeg", media_id="b"),
        media_file(animated_gif(), "image/gif", media_id="c"),
        media_file(image_bytes("BMP"), "image/bmp", media_id="d"),
    ]
    published = await done(adapter, job(creds, "four at once", *files, settings={"protectContent": True}))
    assert published.ref["messageIds"] == [1, 2, 3, 4]
    [post] = sim.posts()
    assert (post["id"], post["text"]) == ("1", "four at once")
    assert [(m["mimeType"], m["width"], m["height"]) for m in post["media"]] == [
        ("image/png", 64, 48),
        ("image/jpeg", 30, 90),
        ("image/gif", 40, 30),
        ("image/bmp", 64, 48),
    ]
    stored = await messages(http, creds)
    assert len({s["message"]["media_group_id"] for s in stored}) == 1
    assert [s["message"].get("caption") for s in stored] == ["four at once", None, None, None]
    assert all(s["message"]["has_protected_content"] for s in stored)


async def test_one_video(
    adapter: TelegramAdapter, creds: Credentials, sim: Sim, http: aiohttp.ClientSession
) -> None:
    data = video_bytes(1.0, size=(96, 64))
    item = media_file(data, "video/mp4", width=96, height=64, duration=1.0)
    await done(adapter, job(creds, "watch", item))
    [post] = sim.posts()
    assert post["media"] == [
        {
            "type": "video",
            "mimeType": "video/mp4",
            "size": len(data),
            "width": 96,
            "height": 64,
            "duration": 1.0,
        }
    ]
    [stored] = await messages(http, creds)
    assert stored["message"]["video"]["duration"] == 1


async def test_a_large_video_is_streamed_whole(
    adapter: TelegramAdapter, creds: Credentials, sim: Sim
) -> None:
    data = padded_mp4(13 * 1024 * 1024 + 7)  # four chunks of the media source
    await done(adapter, job(creds, "big", media_file(data, "video/mp4")))
    [post] = sim.posts()
    assert post["media"][0]["size"] == len(data) and post["media"][0]["mimeType"] == "video/mp4"


async def test_media_limits(adapter: TelegramAdapter, creds: Credentials, sim: Sim) -> None:
    too_big_photo = media_file(bytes(10 * 1024 * 1024 + 1), "image/jpeg")
    err = await fails(adapter, job(creds, "x", too_big_photo))
    assert (err.code, err.platform_error) == (ErrorCode.CONTENT_TOO_LARGE, "Bad Request: file is too big")
    too_big_video = media_file(bytes(50 * 1024 * 1024 + 1), "video/mp4")
    err = await fails(adapter, job(creds, "x", too_big_video))
    assert (err.code, err.status) == (ErrorCode.CONTENT_TOO_LARGE, 413)
    strip = media_file(image_bytes("PNG", (420, 20)), "image/png")
    err = await fails(adapter, job(creds, "x", strip))
    assert (err.code, err.platform_error) == (
        ErrorCode.INVALID_CONTENT,
        "Bad Request: PHOTO_INVALID_DIMENSIONS",
    )
    videos = [media_file(video_bytes(0.2), "video/mp4", media_id=str(i)) for i in range(2)]
    err = await fails(adapter, job(creds, "x", *videos))
    assert err.code is ErrorCode.INVALID_CONTENT and err.status is None  # refused before any call
    assert sim.posts() == []


async def test_media_markers(adapter: TelegramAdapter, creds: Credentials, sim: Sim) -> None:
    photo = media_file(image_bytes(), "image/png")
    err = await fails(adapter, job(creds, "#sandbox:media-processing-failed", photo))
    assert (err.code, err.platform_error, err.retryable) == (
        ErrorCode.INVALID_CONTENT,
        "Bad Request: IMAGE_PROCESS_FAILED",
        False,
    )
    err = await fails(adapter, job(creds, "cut #sandbox:upload-interrupted", photo))
    assert (err.code, err.status, err.retryable, err.maybe_published) == (
        ErrorCode.NETWORK_ERROR,
        408,
        True,
        False,
    )
    assert sim.posts() == []
    published = await done(
        adapter, job(creds, "cut #sandbox:upload-interrupted", photo)
    )  # the retry goes through
    assert [p["id"] for p in sim.posts()] == [published.remote_id]


# ----- caption overflow: two steps ----------------------------------------------------------------


def long_text(marker: str = "") -> str:
    return " ".join(f"Sentence number {i} is here." for i in range(60)) + marker  # about 1,700 characters


def resumed(j: PublishJob, state: InProgress, **kw: Any) -> PublishJob:
    """The job a later claim makes: the state as stored in the database (JSON), nothing else."""
    return PublishJob(
        j.part, j.creds, j.idempotency_key, j.settings, state=json.loads(json.dumps(state.state)), **kw
    )


async def test_long_text_with_media_follows_as_a_reply(
    http: aiohttp.ClientSession, creds: Credentials, sim: Sim
) -> None:
    text = long_text()
    first_job = job(
        creds, text, media_file(image_bytes(), "image/png"), settings={"disableNotification": True}
    )
    step = await TelegramAdapter(http).publish(first_job)
    assert isinstance(step, InProgress) and step.check_after == timedelta(0)
    [media_post] = sim.posts()
    assert len(media_post["text"]) <= 1024 and media_post["text"].endswith(".")
    published = await done(TelegramAdapter(http), resumed(first_job, step))  # any worker may resume
    media_post, follow_up = sim.posts()
    assert published.remote_id == media_post["id"] and published.url and published.url.endswith("/1")
    assert published.ref["messageIds"] == [1, 2]
    assert follow_up["replyTo"] == media_post["id"] and follow_up["media"] == []
    assert f"{media_post['text']} {follow_up['text']}" == text
    assert [m["options"] for m in await messages(http, creds)] == [{"disable_notification": True}] * 2


async def test_formatted_long_text_leaves_the_media_without_caption(
    adapter: TelegramAdapter, creds: Credentials, sim: Sim, http: aiohttp.ClientSession
) -> None:
    text = "<b>Headline</b>\n" + long_text()
    first_job = job(creds, text, media_file(image_bytes(), "image/png"), settings={"parseMode": "HTML"})
    step = await adapter.publish(first_job)
    assert isinstance(step, InProgress)
    await done(adapter, resumed(first_job, step))
    media_post, follow_up = sim.posts()
    assert media_post["text"] == "" and follow_up["text"].startswith("Headline\nSentence number 0")
    assert (await messages(http, creds))[1]["message"]["entities"][0] == {
        "type": "bold",
        "offset": 0,
        "length": 8,
    }


async def test_a_lost_follow_up_is_never_sent_again_nor_the_media(
    http: aiohttp.ClientSession, creds: Credentials, sim: Sim, simulator_url: str
) -> None:
    first_job = job(
        creds, long_text(" #sandbox:timeout-after-commit"), media_file(image_bytes(), "image/png")
    )
    step = await TelegramAdapter(http, timeout=HASTY).publish(first_job)
    assert isinstance(step, InProgress)
    err = await fails(TelegramAdapter(http, timeout=HASTY), resumed(first_job, step))
    assert (err.code, err.maybe_published) == (ErrorCode.TIMEOUT_ERROR, True)
    # a later claim that is unsure (its holder died mid-send) must not send anything
    err = await fails(TelegramAdapter(http), resumed(first_job, step, unsure=True))
    assert (err.code, err.maybe_published) == (ErrorCode.TIMEOUT_ERROR, True)
    assert [p["replyTo"] for p in sim.posts()] == [None, "1"]  # the media once, the text once
    assert await requested(http, simulator_url) == ["sendPhoto", "sendMessage"]


async def test_unreadable_state_fails_for_good(adapter: TelegramAdapter, creds: Credentials) -> None:
    err = await fails(adapter, job(creds, "x", state={"step": "?"}))
    assert (err.code, err.retryable) == (ErrorCode.UNKNOWN_ERROR, False)


# ----- connection check ---------------------------------------------------------------------------


async def test_check_connection(
    adapter: TelegramAdapter, creds: Credentials, http: aiohttp.ClientSession
) -> None:
    bot = creds.secrets["bot_token"].split(":")[0]
    check = await adapter.check_connection(creds)
    assert check.ok and check.message == f"Connected as @sandbox_{bot}_bot"
    assert "can_post_messages" in check.permissions
    await set_member(http, creds, "administrator", can_post=False)
    check = await adapter.check_connection(creds)
    assert (
        not check.ok
        and check.message == f"@sandbox_{bot}_bot is an administrator of this chat but may not post messages"
    )
    await set_member(http, creds, "member")
    check = await adapter.check_connection(creds)
    assert not check.ok and "is not an administrator of this chat" in check.message
    await set_member(http, creds, "left")
    check = await adapter.check_connection(creds)
    assert not check.ok and "Forbidden: bot is not a member of the channel chat" in check.message
    await set_member(http, creds, "creator")
    assert (await adapter.check_connection(creds)).ok
    revoked = creds_of(creds.account_id, creds.base_url, {"bot_token": f"{bot}:revokedRevokedRevoked"})
    check = await adapter.check_connection(revoked)
    assert not check.ok and check.message.startswith("Telegram rejected the bot token")
