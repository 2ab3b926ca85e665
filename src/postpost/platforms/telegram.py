"""Telegram adapter: the Bot API (``POST /bot<token>/<method>``) posting to one channel or group.

Credentials: `account_id` is the chat id (``-100…`` for channels and supergroups),
``secrets["bot_token"]`` the token from @BotFather (``access_token`` is read too). It never
expires and cannot be refreshed: a revoked token is a 401 and the account must be connected again.

Publishing: text → ``sendMessage``; one photo → ``sendPhoto``; 2–10 photos → ``sendMediaGroup``
(multipart, files named by ``attach://``); one video → ``sendVideo``. A caption holds 1,024
characters: longer text goes with the media as far as it fits and the rest follows in a message
replying to the media. Those are two side effects, so the media step returns `InProgress` with
the media's message ids and the next step sends only the rest: a crash never repeats the media.

Reconciliation: none. A bot cannot read a chat's history, so an attempt that may have reached
Telegram is never sent again (the engine fails it, saying it may have been published).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from postpost.platforms._telegram_wire import Form, call, message, multipart, no_result
from postpost.platforms.base import (
    ConnectionCheck,
    Credentials,
    ErrorCode,
    InProgress,
    MediaFile,
    PlatformAdapter,
    PlatformError,
    Profile,
    Published,
    PublishJob,
)
from postpost.platforms.descriptor import (
    MB,
    CredentialKind,
    MediaRules,
    Pacing,
    PlatformDescriptor,
    RateWindow,
    Reconciliation,
    SandboxAccount,
    SettingField,
    TextRules,
)
from postpost.platforms.text import CodePoints

PARSE_MODES = ("", "HTML", "MarkdownV2")
_SENTENCE_ENDS = (". ", "! ", "? ", ".\n", "!\n", "?\n")


def _sandbox_account() -> SandboxAccount:
    channel = str(secrets.randbelow(9 * 10**9) + 10**9)
    bot = secrets.randbelow(9 * 10**9) + 10**9
    return SandboxAccount(
        account_id=f"-100{channel}",
        username=f"@sandbox_channel_{channel}",
        display_name="Sandbox channel",
        secrets={"bot_token": f"{bot}:sandbox{secrets.token_urlsafe(24)}"},
    )


DESCRIPTOR = PlatformDescriptor(
    name="telegram",
    title="Telegram",
    text=TextRules(limit=4096, counter=CodePoints(), threads=False, caption_limit=1024),
    media=MediaRules(
        max_images=10,
        max_videos=1,
        image_types=frozenset({"image/jpeg", "image/png", "image/gif", "image/bmp", "image/webp"}),
        video_types=frozenset(
            {"video/mp4", "video/quicktime", "video/x-msvideo", "video/x-matroska", "video/webm"}
        ),
        image_max_bytes=10 * MB,
        video_max_bytes=50 * MB,
        image_max_pixels=(5000, 5000),  # Telegram wants width + height ≤ 10,000
        convert={"image/webp": "image/jpeg"},
    ),
    credential=CredentialKind.BOT_TOKEN,
    endpoints={"api": "https://api.telegram.org"},
    reconciliation=Reconciliation.NONE,
    # about 20 messages a minute in one chat, 30 a second for one bot
    pacing=Pacing(per_account=(RateWindow(20, 60),), per_app=(RateWindow(30, 1),)),
    settings={
        "parseMode": SettingField("", PARSE_MODES),
        "disableWebPagePreview": SettingField(False, kind=bool),
        "disableNotification": SettingField(False, kind=bool),
        "protectContent": SettingField(False, kind=bool),
        "showCaptionAboveMedia": SettingField(False, kind=bool),
    },
    sandbox_account=_sandbox_account,
)


class TelegramAdapter(PlatformAdapter):
    """Sends messages, photos, albums and videos to a chat as a bot."""

    descriptor = DESCRIPTOR

    async def publish(self, job: PublishJob) -> Published | InProgress:
        """Send the part; with media and text too long for a caption, first the media, then the rest."""
        if job.state is not None:
            return await self._follow_up(job)
        media = job.part.media
        reply_to = int(job.reply_to.parent.remote_id) if job.reply_to is not None else None
        if not media:
            message = await self._send_text(job, job.part.text, reply_to)
            return _published(job.creds, [message])
        caption, rest_from = split_caption(job.part.text, job.settings)
        messages = await self._send_media(job, caption, reply_to)
        published = _published(job.creds, messages)
        if not job.part.text[rest_from:].strip():
            return published
        ids = [m["message_id"] for m in messages]
        state = {"messageIds": ids, "url": published.url, "restFrom": rest_from}
        return InProgress(state, check_after=timedelta(0))

    async def _follow_up(self, job: PublishJob) -> Published:
        """The second step: the text that did not fit the caption, replying to the media."""
        state = job.state or {}
        try:
            ids = [int(i) for i in state["messageIds"]]
            rest = job.part.text[int(state["restFrom"]) :].strip()
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise PlatformError(
                ErrorCode.UNKNOWN_ERROR, f"Unreadable Telegram publish state: {state!r}", retryable=False
            ) from exc
        if job.unsure:
            raise PlatformError(
                ErrorCode.TIMEOUT_ERROR,
                "an earlier attempt to send the text that follows the media may have reached Telegram",
                maybe_published=True,
            )
        message = await self._send_text(job, rest, ids[0])
        ref = {"chatId": job.creds.account_id, "messageIds": [*ids, message["message_id"]]}
        return Published(str(ids[0]), state.get("url"), ref)

    async def _send_text(self, job: PublishJob, text: str, reply_to: int | None) -> dict[str, Any]:
        settings = job.settings
        body: dict[str, Any] = {"chat_id": job.creds.account_id, "text": text, **_options(settings)}
        if settings.get("parseMode"):
            body["parse_mode"] = settings["parseMode"]
        if settings.get("disableWebPagePreview"):
            body["link_preview_options"] = {"is_disabled": True}
        if reply_to is not None:
            body["reply_parameters"] = {"message_id": reply_to}
        result = await self._call(job.creds, "sendMessage", json_data=body, creating=True)
        return message(result)

    async def _send_media(self, job: PublishJob, caption: str, reply_to: int | None) -> list[dict[str, Any]]:
        """sendPhoto / sendVideo for one item, sendMediaGroup for an album; the messages sent."""
        media, settings = job.part.media, job.settings
        if len(media) > 10 or (len(media) > 1 and any(m.kind == "video" for m in media)):
            raise PlatformError(
                ErrorCode.INVALID_CONTENT,
                "A Telegram bot sends one video alone, or up to 10 photos",
                retryable=False,
            )
        fields: dict[str, str] = {"chat_id": job.creds.account_id}
        fields |= {name: "true" for name in _options(settings)}
        if reply_to is not None:
            fields["reply_parameters"] = json.dumps({"message_id": reply_to})
        described = _caption_fields(caption, settings)
        if len(media) == 1:
            item = media[0]
            field = "video" if item.kind == "video" else "photo"
            fields |= {k: v if isinstance(v, str) else json.dumps(v) for k, v in described.items()}
            if item.kind == "video":
                fields |= _video_fields(item)
            form = multipart(fields, [(field, item)])
            method = "sendVideo" if item.kind == "video" else "sendPhoto"
            return [message(await self._call(job.creds, method, form=form, creating=True))]
        album = [{"type": "photo", "media": f"attach://file{i}"} for i in range(len(media))]
        album[0] |= described
        fields["media"] = json.dumps(album)
        form = multipart(fields, [(f"file{i}", item) for i, item in enumerate(media)])
        result = await self._call(job.creds, "sendMediaGroup", form=form, creating=True)
        if not isinstance(result, list) or not result:
            raise no_result(result)
        return [message(m) for m in result]

    async def check_connection(self, creds: Credentials) -> ConnectionCheck:
        """``getMe``, then ``getChatMember`` for the bot: it must be an administrator that can post."""
        try:
            me = await self._call(creds, "getMe")
            bot_id, username = me.get("id"), me.get("username")
            member = await self._call(
                creds, "getChatMember", json_data={"chat_id": creds.account_id, "user_id": bot_id}
            )
        except PlatformError as exc:
            return ConnectionCheck(False, exc.message)
        status = member.get("status")
        if status == "creator":
            return ConnectionCheck(True, f"Connected as @{username}", permissions=["creator"])
        if status != "administrator":
            return ConnectionCheck(
                False, f"@{username} is not an administrator of this chat (status: {status})"
            )
        if member.get("can_post_messages") is False:
            return ConnectionCheck(
                False, f"@{username} is an administrator of this chat but may not post messages"
            )
        rights = sorted(k for k, v in member.items() if k.startswith("can_") and v is True)
        return ConnectionCheck(True, f"Connected as @{username}", permissions=rights)

    async def read_profile(self, creds: Credentials) -> Profile:
        """The chat `account_id` names (a numeric id or ``@username``), by ``getChat``."""
        chat = await self._call(creds, "getChat", json_data={"chat_id": creds.account_id})
        if not isinstance(chat, dict) or not chat.get("id"):
            raise PlatformError(ErrorCode.UNKNOWN_ERROR, "Telegram answered getChat without a chat id")
        username = chat.get("username")
        title = chat.get("title") or username or str(chat["id"])
        return Profile(
            account_id=str(chat["id"]),
            username=f"@{username}" if username else str(title),
            display_name=str(title),
            profile_url=f"https://t.me/{username}" if username else None,
        )

    async def _call(
        self,
        creds: Credentials,
        method: str,
        *,
        json_data: Mapping[str, Any] | None = None,
        form: Form | None = None,
        creating: bool = False,
    ) -> Any:
        return await call(
            self.http, self.timeout, creds, method, json_data=json_data, form=form, creating=creating
        )


ADAPTER = TelegramAdapter


def split_caption(text: str, settings: Mapping[str, Any]) -> tuple[str, int]:
    """The caption for `text` and where the text that follows the media starts.

    Plain text is cut at the best break that fits (paragraph, sentence, word, else between two
    characters); formatted text is never cut inside its markup, so when it does not fit whole
    the media goes without a caption and all of the text follows.
    """
    limit = DESCRIPTOR.text.caption_limit or DESCRIPTOR.text.limit
    if DESCRIPTOR.text.counter.count(text, stop_above=limit) <= limit:
        return text, len(text)
    if settings.get("parseMode"):
        return "", 0
    end = 0
    for unit_end, _weight in DESCRIPTOR.text.counter.units(text):
        if unit_end > limit:
            break
        end = unit_end
    cut = _break(text, end)
    return text[:cut].rstrip(), cut


def _break(text: str, end: int) -> int:
    paragraph = text.rfind("\n\n", 0, end + 1)
    if paragraph > 0:
        return paragraph
    sentence = max(text.rfind(mark, 0, end + 1) for mark in _SENTENCE_ENDS)
    if sentence > 0:
        return sentence + 1
    space = max(text.rfind(" ", 0, end + 1), text.rfind("\n", 0, end + 1))
    return space if space > 0 else end


def _options(settings: Mapping[str, Any]) -> dict[str, bool]:
    """The send options every call carries."""
    chosen = {"disable_notification": "disableNotification", "protect_content": "protectContent"}
    return {param: True for param, setting in chosen.items() if settings.get(setting)}


def _caption_fields(caption: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    if not caption:
        return {}
    fields: dict[str, Any] = {"caption": caption}
    if settings.get("parseMode"):
        fields["parse_mode"] = settings["parseMode"]
    if settings.get("showCaptionAboveMedia"):
        fields["show_caption_above_media"] = True
    return fields


def _video_fields(item: MediaFile) -> dict[str, str]:
    fields = {"supports_streaming": "true"}
    if item.width and item.height:
        fields |= {"width": str(item.width), "height": str(item.height)}
    if item.duration:
        fields["duration"] = str(round(item.duration))
    return fields


def _published(creds: Credentials, messages: list[dict[str, Any]]) -> Published:
    first = messages[0]
    chat = first.get("chat") or {}
    ids = [m["message_id"] for m in messages]
    return Published(
        str(first["message_id"]),
        message_url(chat, first["message_id"]),
        {"chatId": creds.account_id, "messageIds": ids},
    )


def message_url(chat: Mapping[str, Any], message_id: int) -> str | None:
    """The t.me link of a message: public chats by username, private channels by ``/c/<id>``."""
    if chat.get("username"):
        return f"https://t.me/{chat['username']}/{message_id}"
    chat_id = str(chat.get("id", ""))
    if chat_id.startswith("-100"):
        return f"https://t.me/c/{chat_id[4:]}/{message_id}"
    return None
