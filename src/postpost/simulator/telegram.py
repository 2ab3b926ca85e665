"""Fake of the Telegram Bot API: what a bot posting to channels and groups calls.

``/bot<token>/<method>`` with parameters in the query, a JSON, form or multipart body. Bots are
stateless: a token ``<bot id>:sandbox<anything>`` authenticates bot ``<bot id>``. Chats are integer
ids: ``-100…`` a channel, other negative ids a group, positive ids a private chat; the bot is an
administrator (allowed to post) of every chat unless told otherwise with
``POST /_control/chats/<chat id>`` ``{"status": "member" | "left" | "kicked" | …,
"canPostMessages": bool}`` under this fake's mount. ``GET /_control/chats/<chat id>/messages``
lists the messages stored in a chat with the options they were sent with (what a channel's
readers would see; bots cannot read it on the real platform).

Uploads are measured (Pillow, PyAV) and held to the Bot API's limits: photos ≤ 10 MB with
width + height ≤ 10,000 and a side ratio ≤ 20, files ≤ 50 MB, text ≤ 4,096 and captions ≤ 1,024
characters after `parse_mode` is applied. The control listing shows an album as one post.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import parse_qsl

import anyio
import av
from PIL import Image
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from postpost.simulator._telegram_markup import MarkupError, parse
from postpost.simulator.fake import Fake
from postpost.simulator.faults import MEDIA, media_fault
from postpost.simulator.world import World

MB = 1024 * 1024
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
PHOTO_MAX_BYTES = 10 * MB
FILE_MAX_BYTES = 50 * MB
PHOTO_SIDES_MAX = 10_000
PHOTO_RATIO_MAX = 20
PHOTO_SIZES = (90, 320, 800, 1280, 2560)  # the longest side of each size Telegram keeps
ALBUM_SIZE = (2, 10)
MEMBER_STATUSES = frozenset({"creator", "administrator", "member", "restricted", "left", "kicked"})
IMAGE_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "BMP": "image/bmp",
    "WEBP": "image/webp",
}

_TOKEN = re.compile(r"^([1-9]\d{0,15}):([A-Za-z0-9_-]+)$")
_NGINX = (
    "<html>\r\n<head><title>{0}</title></head>\r\n<body>\r\n<center><h1>{0}</h1></center>\r\n"
    "<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n"
)

Params = dict[str, Any]


class BotApiError(Exception):
    """An answer of the Bot API other than ``ok``: status and description."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def error(status: int, description: str, parameters: dict[str, Any] | None = None) -> JSONResponse:
    """``{"ok": false, "error_code", "description"[, "parameters"]}``."""
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status)


def ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def gateway_page(status: int, title: str) -> Response:
    """What Telegram's front proxy answers when the Bot API behind it did not."""
    return Response(_NGINX.format(f"{status} {title}"), status, media_type="text/html")


@dataclass
class Chat:
    """A chat as the Bot API describes it."""

    id: int

    @property
    def kind(self) -> str:
        if self.id > 0:
            return "private"
        return "channel" if self.id <= -1_000_000_000_000 else "group"  # -100 and ten digits or more

    @property
    def key(self) -> str:
        return str(self.id)

    def as_json(self) -> dict[str, Any]:
        if self.kind == "private":
            return {"id": self.id, "first_name": "Sandbox user", "type": "private"}
        return {"id": self.id, "title": f"Sandbox {self.kind} {self.id}", "type": self.kind}


@dataclass
class Upload:
    """A measured media file: its Bot API object and its entry in the control listing."""

    kind: str  # photo | video
    listing: dict[str, Any]
    api: Any  # list of PhotoSize, or a Video object


@dataclass
class Membership:
    """The bot's status in one chat, as set through the control route."""

    status: str = "administrator"
    can_post_messages: bool = True


@dataclass
class Stored:
    """A message in a chat, with the send options that do not show in the message itself."""

    message: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)


def bot_user(bot_id: int) -> dict[str, Any]:
    return {"id": bot_id, "is_bot": True, "first_name": "Sandbox bot", "username": f"sandbox_{bot_id}_bot"}


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "1"))


def _json_arg(value: Any, what: str) -> Any:
    if value is None or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise BotApiError(400, f"Bad Request: can't parse {what} JSON object") from None


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


class TelegramFake(Fake):
    """The Bot API: getMe, getChat, getChatMember, sendMessage, sendPhoto, sendVideo, sendMediaGroup."""

    name = "telegram"

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.chats: dict[str, dict[int, Stored]] = {}
        self.members: dict[str, Membership] = {}
        self.files: dict[str, Upload] = {}
        self.next_ids: dict[str, int] = {}  # never reset: message ids stay unique per chat
        self.interrupted: set[tuple[str, str]] = set()
        self._methods = {
            "getme": self.get_me,
            "getchat": self.get_chat,
            "getchatmember": self.get_chat_member,
            "sendmessage": self.send_message,
            "sendphoto": self.send_photo,
            "sendvideo": self.send_video,
            "sendmediagroup": self.send_media_group,
        }

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/bot{token}/{method}", self.dispatch, methods=["GET", "POST"]),
            Route("/_control/chats/{chat_id}", self.set_membership, methods=["POST"]),
            Route("/_control/chats/{chat_id}/messages", self.list_messages, methods=["GET"]),
        ]

    def forget(self, account: str | None = None) -> None:
        if account is None:
            self.chats.clear()
            self.members.clear()
            self.files.clear()
            self.interrupted.clear()
            return
        self.chats.pop(account, None)
        self.members.pop(account, None)
        self.interrupted = {k for k in self.interrupted if k[0] != account}

    def fault_response(self, fault: str) -> Response:
        if fault == "auth-expired":
            return error(401, "Unauthorized")
        if fault == "invalid-content":
            return error(
                400, 'Bad Request: can\'t parse entities: Unsupported start tag "sandbox" at byte offset 0'
            )
        if fault == "rate-limited":
            seconds = max(1, math.ceil(self.world.hold_seconds))
            return error(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})
        if fault == "server-error":
            return error(500, "Internal Server Error")
        if fault == "media-processing-failed":
            return error(400, "Bad Request: IMAGE_PROCESS_FAILED")
        if fault == "upload-interrupted":
            return gateway_page(408, "Request Time-out")
        return gateway_page(502, "Bad Gateway")  # server-error-after-commit

    # ----- dispatch ----------------------------------------------------------------------

    async def dispatch(self, request: Request) -> Response:
        """``/bot<token>/<method>``: authenticate, read the parameters, call the method."""
        token = _TOKEN.match(request.path_params["token"])
        if token is None:
            return error(401, "Unauthorized: invalid token specified")
        if not token.group(2).startswith("sandbox"):
            return error(401, "Unauthorized")
        handler = self._methods.get(request.path_params["method"].lower())
        if handler is None:
            return error(404, "Not Found")
        if (_int(request.headers.get("content-length") or 0) or 0) > FILE_MAX_BYTES + MB:
            async for _chunk in request.stream():  # read it all, as a front end does before refusing
                pass
            return error(413, "Request Entity Too Large")
        try:
            async with _read_params(request) as (params, files):
                return await handler(int(token.group(1)), params, files)
        except BotApiError as exc:
            return error(exc.status, exc.description)

    # ----- control -----------------------------------------------------------------------

    async def set_membership(self, request: Request) -> Response:
        """``POST /_control/chats/<id>``: the bot's status in that chat (default: an administrator)."""
        chat = _int(request.path_params["chat_id"])
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        if chat is None or not isinstance(body, dict) or body.get("status") not in MEMBER_STATUSES:
            return JSONResponse(
                {"error": f"body must be {{'status': one of {sorted(MEMBER_STATUSES)}}}"}, 400
            )
        can_post = body.get("canPostMessages", True)
        self.members[str(chat)] = Membership(body["status"], bool(can_post))
        return JSONResponse({"chat": str(chat), "status": body["status"], "canPostMessages": bool(can_post)})

    async def list_messages(self, request: Request) -> Response:
        """``GET /_control/chats/<id>/messages``: the chat's messages, oldest first, with their options."""
        stored = self.chats.get(request.path_params["chat_id"], {})
        return JSONResponse(
            {"messages": [{"message": s.message, "options": s.options} for s in stored.values()]}
        )

    # ----- reading -----------------------------------------------------------------------

    async def get_me(self, bot: int, params: Params, files: dict[str, UploadFile]) -> Response:
        return ok(
            {
                **bot_user(bot),
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            }
        )

    async def get_chat(self, bot: int, params: Params, files: dict[str, UploadFile]) -> Response:
        """A chat by id, or a public channel by ``@username`` (its id derived from the name)."""
        name = str(params.get("chat_id") or "").strip()
        if name.startswith("@") and re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{3,31}", name):
            digest = int.from_bytes(hashlib.sha256(name[1:].lower().encode()).digest()[:8], "big")
            chat = Chat(-(10**12 + 10**9 + digest % (9 * 10**9)))  # -100 and ten digits
            self._forbidden(chat, self.members.get(chat.key, Membership()))
            return ok({**chat.as_json(), "username": name[1:]})
        chat = self._chat(params)
        if chat.kind == "channel":
            self._forbidden(chat, self.members.get(chat.key, Membership()))
        return ok(chat.as_json())

    async def get_chat_member(self, bot: int, params: Params, files: dict[str, UploadFile]) -> Response:
        chat = self._chat(params)
        user = _int(params.get("user_id"))
        if user is None:
            raise BotApiError(400, "Bad Request: invalid user_id specified")
        membership = self.members.get(chat.key, Membership())
        if chat.kind == "channel":
            self._forbidden(chat, membership)
        if user != bot:
            raise BotApiError(400, "Bad Request: user not found")
        status = "member" if chat.kind == "private" else membership.status
        member: dict[str, Any] = {"user": bot_user(bot), "status": status}
        if status == "administrator":
            member |= {
                "can_be_edited": False,
                "can_manage_chat": True,
                "can_change_info": False,
                "can_delete_messages": True,
                "can_invite_users": True,
                "can_restrict_members": False,
                "can_promote_members": False,
                "can_manage_video_chats": False,
                "is_anonymous": False,
            }
            if chat.kind == "channel":
                member |= {"can_post_messages": membership.can_post_messages, "can_edit_messages": True}
        if status == "kicked":
            member["until_date"] = 0
        return ok(member)

    # ----- sending -----------------------------------------------------------------------

    async def send_message(self, bot: int, params: Params, files: dict[str, UploadFile]) -> Response:
        chat = self._chat(params)
        raw = "" if params.get("text") is None else str(params["text"])
        fault = self.world.fault_for("telegram", chat.key, raw, "text:" + raw)
        if self.rejects(fault) and fault is not None:
            return self.fault_response(fault)
        self._may_post(chat)
        if not raw:
            raise BotApiError(400, "Bad Request: message text is empty")
        text, entities = _formatted(raw, params.get("parse_mode"))
        if not text:
            raise BotApiError(400, "Bad Request: message text is empty")
        if len(text) > TEXT_LIMIT:
            raise BotApiError(400, "Bad Request: message is too long")
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        preview = _json_arg(params.get("link_preview_options"), "link preview options")
        if isinstance(preview, dict):
            content["link_preview_options"] = preview
        elif _flag(params.get("disable_web_page_preview")):
            content["link_preview_options"] = {"is_disabled": True}
        [message] = self._store(chat, bot, params, [content])
        self.world.accept("telegram", chat.key, str(message["message_id"]), text, _reply_id(message))
        return await self.finish(fault, ok(message))

    async def send_photo(self, bot: int, params: Params, files: dict[str, UploadFile]) -> Response:
        return await self._send_single(bot, params, files, "photo")

    async def send_video(self, bot: int, params: Params, files: dict[str, UploadFile]) -> Response:
        return await self._send_single(bot, params, files, "video")

    async def _send_single(
        self, bot: int, params: Params, files: dict[str, UploadFile], kind: str
    ) -> Response:
        chat = self._chat(params)
        raw = "" if params.get("caption") is None else str(params["caption"])
        fault = self.world.fault_for("telegram", chat.key, raw, "text:" + raw)
        if self.rejects(fault) and fault is not None:
            return self.fault_response(fault)
        self._may_post(chat)
        source = params.get(kind)
        caption = _caption(raw, params.get("parse_mode"), "Bad Request: message caption is too long")
        media_problem = await self._media_fault(chat, raw, fault, files)
        if media_problem is not None:
            return media_problem
        upload = self._upload(kind, str(source or f"attach://{kind}"), files, kind)
        content = {**caption, kind: upload.api}
        if _flag(params.get("show_caption_above_media")) and caption:
            content["show_caption_above_media"] = True
        [message] = self._store(chat, bot, params, [content])
        text = caption.get("caption", "")
        self.world.accept(
            "telegram", chat.key, str(message["message_id"]), text, _reply_id(message), [upload.listing]
        )
        return await self.finish(fault, ok(message))

    async def send_media_group(self, bot: int, params: Params, files: dict[str, UploadFile]) -> Response:
        chat = self._chat(params)
        items = _json_arg(params.get("media"), "media")
        if items is None:
            raise BotApiError(400, 'Bad Request: parameter "media" is required')
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise BotApiError(400, "Bad Request: Expected an Array of InputMedia")
        raw = "\n".join(str(i.get("caption") or "") for i in items).strip()
        fault = self.world.fault_for("telegram", chat.key, raw, "text:" + raw)
        if self.rejects(fault) and fault is not None:
            return self.fault_response(fault)
        self._may_post(chat)
        if not ALBUM_SIZE[0] <= len(items) <= ALBUM_SIZE[1]:
            raise BotApiError(400, "Bad Request: media group must include 2-10 items")
        contents, listing = [], []
        for item in items:
            kind = item.get("type")
            if kind not in ("photo", "video"):
                raise BotApiError(400, f'Bad Request: can\'t parse InputMedia: type "{kind}" is unsupported')
            caption = _caption(
                str(item.get("caption") or ""), item.get("parse_mode"), "Bad Request: MEDIA_CAPTION_TOO_LONG"
            )
            upload = self._upload(str(kind), str(item.get("media") or ""), files, None)
            content = {**caption, str(kind): upload.api}
            if _flag(item.get("show_caption_above_media")) and caption:
                content["show_caption_above_media"] = True
            contents.append(content)
            listing.append(upload.listing)
        media_problem = await self._media_fault(chat, raw, fault, files)
        if media_problem is not None:
            return media_problem
        group = str(secrets.randbelow(9 * 10**17) + 10**17)
        messages = self._store(chat, bot, params, [{**c, "media_group_id": group} for c in contents])
        text = next((m["caption"] for m in messages if m.get("caption")), "")
        self.world.accept(
            "telegram", chat.key, str(messages[0]["message_id"]), text, _reply_id(messages[0]), listing
        )
        return await self.finish(fault, ok(messages))

    # ----- helpers -----------------------------------------------------------------------

    def _chat(self, params: Params) -> Chat:
        raw = params.get("chat_id")
        if raw is None or str(raw).strip() == "":
            raise BotApiError(400, "Bad Request: chat_id is empty")
        chat_id = _int(raw)
        if chat_id is None or chat_id == 0:
            raise BotApiError(400, "Bad Request: chat not found")
        return Chat(chat_id)

    def _forbidden(self, chat: Chat, membership: Membership) -> None:
        if membership.status == "left":
            raise BotApiError(403, f"Forbidden: bot is not a member of the {chat.kind} chat")
        if membership.status == "kicked":
            raise BotApiError(403, f"Forbidden: bot was kicked from the {chat.kind} chat")

    def _may_post(self, chat: Chat) -> None:
        """Refuse as Telegram does when the bot may not post in `chat`."""
        if chat.kind == "private":
            return
        membership = self.members.get(chat.key, Membership())
        self._forbidden(chat, membership)
        if chat.kind == "channel" and (
            membership.status in ("member", "restricted")
            or (membership.status == "administrator" and not membership.can_post_messages)
        ):
            raise BotApiError(400, "Bad Request: need administrator rights in the channel chat")

    async def _media_fault(
        self, chat: Chat, text: str, fault: str | None, files: dict[str, UploadFile]
    ) -> Response | None:
        """Play a media fault (marker or queued) on this upload; None when there is none."""
        kind = fault if fault in MEDIA else media_fault(text, "telegram")
        if kind == "media-slow":
            await anyio.sleep(self.world.slow_seconds)  # Telegram processes the upload before answering
        elif kind == "media-processing-failed":
            return self.fault_response(kind)
        elif kind == "upload-interrupted" and files:
            once = (chat.key, text)
            if fault == kind or once not in self.interrupted:
                self.interrupted.add(once)
                return self.fault_response(kind)
        return None

    def _upload(self, kind: str, source: str, files: dict[str, UploadFile], field_name: str | None) -> Upload:
        """The media `source` names: an attached file (measured and kept) or an earlier file_id."""
        name = source.removeprefix("attach://") if source.startswith("attach://") else None
        upload = files.get(name) if name else None
        if upload is None:
            known = self.files.get(source)
            if known is not None and known.kind == kind:
                return known
            if name is None:
                raise BotApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            if field_name is None:
                raise BotApiError(400, "Bad Request: can't parse InputMedia: media not found")
            raise BotApiError(400, f"Bad Request: there is no {kind} in the request")
        size = upload.size or 0
        if size > FILE_MAX_BYTES:
            raise BotApiError(413, "Request Entity Too Large")
        if size == 0:
            raise BotApiError(400, "Bad Request: file must be non-empty")
        upload.file.seek(0)
        measured = (
            _photo(upload.file, size) if kind == "photo" else _video(upload.file, size, upload.filename)
        )
        self.files[_file_id(measured)] = measured
        return measured

    def _store(
        self, chat: Chat, bot: int, params: Params, contents: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Store one message per content (an album: several), replying where asked."""
        messages = self.chats.setdefault(chat.key, {})
        parent = self._reply_target(chat, params)
        options = {
            name: params[name]
            for name in ("disable_notification", "protect_content", "parse_mode")
            if params.get(name) not in (None, "")
        }
        stored = []
        for content in contents:
            message_id = self.next_ids.get(chat.key, 0) + 1
            self.next_ids[chat.key] = message_id
            message: dict[str, Any] = {"message_id": message_id, "date": int(self.world.clock())}
            sender = {"sender_chat": chat.as_json()} if chat.kind == "channel" else {"from": bot_user(bot)}
            message |= sender | {"chat": chat.as_json()}
            if parent is not None:
                message["reply_to_message"] = {k: v for k, v in parent.items() if k != "reply_to_message"}
            if _flag(params.get("protect_content")):
                message["has_protected_content"] = True
            message |= content
            messages[message_id] = Stored(
                message, {k: _flag(v) if k != "parse_mode" else v for k, v in options.items()}
            )
            stored.append(message)
        return stored

    def _reply_target(self, chat: Chat, params: Params) -> dict[str, Any] | None:
        reply = _json_arg(params.get("reply_parameters"), "reply parameters")
        if isinstance(reply, dict):
            wanted, lenient = _int(reply.get("message_id")), _flag(reply.get("allow_sending_without_reply"))
        elif params.get("reply_to_message_id") not in (None, ""):
            wanted = _int(params["reply_to_message_id"])
            lenient = _flag(params.get("allow_sending_without_reply"))
        else:
            return None
        found = self.chats.get(chat.key, {}).get(wanted or 0)
        if found is None and not lenient:
            raise BotApiError(400, "Bad Request: message to be replied not found")
        return found.message if found is not None else None


def _reply_id(message: dict[str, Any]) -> str | None:
    parent = message.get("reply_to_message")
    return str(parent["message_id"]) if parent else None


def _formatted(raw: str, parse_mode: Any) -> tuple[str, list[dict[str, Any]]]:
    """The visible text and entities of `raw` under `parse_mode` (none: the text, trimmed)."""
    mode = str(parse_mode or "").strip().lower()
    if mode in ("", "none"):
        return raw.strip(), []
    if mode not in ("html", "markdownv2"):
        raise BotApiError(400, "Bad Request: unsupported parse_mode")
    try:
        return parse(mode, raw)
    except MarkupError as exc:
        raise BotApiError(400, f"Bad Request: can't parse entities: {exc}") from None


def _caption(raw: str, parse_mode: Any, too_long: str) -> dict[str, Any]:
    """The caption fields of a media message (empty when there is no caption)."""
    if not raw:
        return {}
    text, entities = _formatted(raw, parse_mode)
    if len(text) > CAPTION_LIMIT:
        raise BotApiError(400, too_long)
    out: dict[str, Any] = {"caption": text} if text else {}
    if entities:
        out["caption_entities"] = entities
    return out


def _file_id(upload: Upload) -> str:
    api = upload.api
    return str(api[-1]["file_id"] if isinstance(api, list) else api["file_id"])


def _new_file_ids() -> dict[str, str]:
    return {
        "file_id": "AgAC" + secrets.token_urlsafe(48),
        "file_unique_id": "AQAD" + secrets.token_urlsafe(12),
    }


def _photo(file: BinaryIO, size: int) -> Upload:
    """Measure an uploaded photo; refuse what Telegram refuses."""
    if size > PHOTO_MAX_BYTES:
        raise BotApiError(400, "Bad Request: file is too big")
    try:
        with Image.open(file) as image:
            fmt, (width, height) = image.format or "", image.size
            if fmt not in IMAGE_TYPES:
                raise BotApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
            if width + height > PHOTO_SIDES_MAX or max(width, height) > PHOTO_RATIO_MAX * min(width, height):
                raise BotApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
            image.load()  # a picture that cannot be decoded is refused too
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise BotApiError(400, "Bad Request: IMAGE_PROCESS_FAILED") from None
    longest = max(width, height)
    sizes = []
    file_id = _new_file_ids()
    largest = min(longest, PHOTO_SIZES[-1])
    for bound in (*[b for b in PHOTO_SIZES if b < largest], largest):
        scale = bound / longest
        sizes.append(
            {
                **_new_file_ids(),
                "width": max(1, round(width * scale)),
                "height": max(1, round(height * scale)),
                "file_size": max(1, round(size * scale * scale)),
            }
        )
    sizes[-1] |= file_id
    listing = {"type": "image", "mimeType": IMAGE_TYPES[fmt], "size": size, "width": width, "height": height}
    return Upload("photo", listing, sizes)


def _video(file: BinaryIO, size: int, filename: str | None) -> Upload:
    """Measure an uploaded video with PyAV; refuse what is not a video."""
    try:
        with av.open(file, mode="r") as container:
            stream = next((s for s in container.streams.video), None)
            if stream is None:
                raise BotApiError(400, "Bad Request: VIDEO_FILE_INVALID")
            width, height = stream.codec_context.width, stream.codec_context.height
            if container.duration is not None:
                duration = container.duration / 1_000_000
            elif stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            else:
                duration = 0.0
            mime = _video_type(container.format.name, file)
    except av.FFmpegError:
        raise BotApiError(400, "Bad Request: VIDEO_FILE_INVALID") from None
    if mime is None:
        raise BotApiError(400, "Bad Request: VIDEO_FILE_INVALID")
    api = {
        **_new_file_ids(),
        "width": width,
        "height": height,
        "duration": round(duration),
        "mime_type": mime,
        "file_size": size,
    }
    if filename:
        api["file_name"] = filename
    listing = {
        "type": "video",
        "mimeType": mime,
        "size": size,
        "width": width,
        "height": height,
        "duration": round(duration, 3),
    }
    return Upload("video", listing, api)


def _video_type(container: str, file: BinaryIO) -> str | None:
    file.seek(0)
    head = file.read(64)
    if "mp4" in container.split(","):
        return "video/quicktime" if head[8:12] == b"qt  " else "video/mp4"
    if "matroska" in container.split(","):
        return "video/webm" if b"webm" in head else "video/x-matroska"
    if container == "avi":
        return "video/x-msvideo"
    return None


@contextlib.asynccontextmanager
async def _read_params(request: Request) -> AsyncIterator[tuple[Params, dict[str, UploadFile]]]:
    """Parameters from the query string and a JSON, form or multipart body; uploaded files apart
    (closed when the block ends)."""
    params: Params = dict(request.query_params)
    files: dict[str, UploadFile] = {}
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype == "multipart/form-data":
        try:
            form = await request.form(max_files=50)
        except Exception:  # python-multipart's parse errors share no base class
            raise BotApiError(400, "Bad Request: can't parse multipart/form-data") from None
        try:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    files[key] = value
                else:
                    params[key] = value
            yield params, files
        finally:
            await form.close()
        return
    body = await request.body()
    if body.strip() and ctype == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise BotApiError(400, "Bad Request: can't parse JSON request")
        params.update(data)
    elif body.strip():
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    yield params, files


FAKE = TelegramFake
