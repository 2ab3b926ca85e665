"""Tests of the fake Telegram Bot API on its own (over ASGI)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest

from postpost.simulator import create_simulator_app
from tests.media.files import image_bytes, video_bytes
from tests.simulator.conftest import FakeClock

BOT = "5550001"
TOKEN = f"{BOT}:sandboxSecretToken"
API = f"/telegram/bot{TOKEN}"
CHANNEL = "-1001234567890"
GROUP = "-4242"


async def call(client: httpx.AsyncClient, method: str, **kw: Any) -> httpx.Response:
    return await client.post(f"{API}/{method}", **kw)


async def result(client: httpx.AsyncClient, method: str, **kw: Any) -> Any:
    r = await call(client, method, **kw)
    body = r.json()
    assert r.status_code == 200 and body["ok"] is True, body
    return body["result"]


async def refused(client: httpx.AsyncClient, method: str, status: int, **kw: Any) -> str:
    """Call and expect a Bot API error; its description."""
    r = await call(client, method, **kw)
    body = r.json()
    assert r.status_code == status and body["ok"] is False and body["error_code"] == status, body
    return str(body["description"])


async def listing(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    r = await client.get("/_control/posts", params={"platform": "telegram", **params})
    posts: list[dict[str, Any]] = r.json()["posts"]
    for post in posts:
        post.pop("at")
    return posts


def photo_upload(caption: str | None = None, **fields: str) -> dict[str, Any]:
    data = {"chat_id": CHANNEL, **({"caption": caption} if caption is not None else {}), **fields}
    return {"data": data, "files": {"photo": ("p.png", image_bytes(), "image/png")}}


# ----- auth and routing ---------------------------------------------------------------------------


async def test_get_me(client: httpx.AsyncClient) -> None:
    me = await result(client, "getMe")
    assert me["id"] == int(BOT) and me["is_bot"] is True and me["username"] == f"sandbox_{BOT}_bot"
    assert (await client.get(f"{API}/GETME")).json()["ok"] is True  # method names ignore case


@pytest.mark.parametrize(
    ("token", "description"),
    [
        ("nocolon", "Unauthorized: invalid token specified"),
        ("0123:sandboxX", "Unauthorized: invalid token specified"),
        ("123:realLookingTokenNotIssuedHere", "Unauthorized"),
    ],
)
async def test_bad_tokens(client: httpx.AsyncClient, token: str, description: str) -> None:
    r = await client.post(f"/telegram/bot{token}/sendMessage", json={"chat_id": CHANNEL, "text": "hi"})
    assert r.status_code == 401
    assert r.json() == {"ok": False, "error_code": 401, "description": description}
    assert await listing(client) == []


async def test_unknown_method(client: httpx.AsyncClient) -> None:
    assert await refused(client, "deleteEverything", 404) == "Not Found"


# ----- sendMessage --------------------------------------------------------------------------------


async def test_send_message_in_every_encoding(client: httpx.AsyncClient) -> None:
    by_json = await result(client, "sendMessage", json={"chat_id": int(CHANNEL), "text": "json"})
    by_form = await result(client, "sendMessage", data={"chat_id": CHANNEL, "text": "form"})
    by_query = await result(client, "sendMessage", params={"chat_id": CHANNEL, "text": "query"})
    by_multipart = await result(
        client, "sendMessage", files={"chat_id": (None, CHANNEL), "text": (None, "multi")}
    )
    assert [m["message_id"] for m in (by_json, by_form, by_query, by_multipart)] == [1, 2, 3, 4]
    assert by_json["chat"] == {"id": int(CHANNEL), "title": f"Sandbox channel {CHANNEL}", "type": "channel"}
    assert by_json["sender_chat"] == by_json["chat"] and "from" not in by_json
    assert [p["text"] for p in await listing(client, account=CHANNEL)] == ["json", "form", "query", "multi"]
    group = await result(client, "sendMessage", json={"chat_id": GROUP, "text": "to a group"})
    assert group["chat"]["type"] == "group" and group["from"]["id"] == int(BOT)
    assert group["message_id"] == 1  # ids count per chat


async def test_text_rules(client: httpx.AsyncClient) -> None:
    assert await refused(client, "sendMessage", 400, json={"chat_id": CHANNEL, "text": ""}) == (
        "Bad Request: message text is empty"
    )
    assert await refused(client, "sendMessage", 400, json={"chat_id": CHANNEL, "text": "x" * 4097}) == (
        "Bad Request: message is too long"
    )
    # the limit applies after parsing: markup does not count
    await result(
        client, "sendMessage", json={"chat_id": CHANNEL, "text": f"<b>{'x' * 4096}</b>", "parse_mode": "HTML"}
    )
    assert (
        await refused(client, "sendMessage", 400, json={"chat_id": "", "text": "x"})
        == "Bad Request: chat_id is empty"
    )
    assert await refused(client, "sendMessage", 400, json={"chat_id": "@nobody", "text": "x"}) == (
        "Bad Request: chat not found"
    )
    assert await refused(
        client, "sendMessage", 400, json={"chat_id": CHANNEL, "text": "x", "parse_mode": "BBCode"}
    ) == ("Bad Request: unsupported parse_mode")


@pytest.mark.parametrize(
    ("mode", "text", "visible", "entities"),
    [
        (
            "HTML",
            "😀 <b>bold</b> <a href='https://e.com/?a=1&amp;b=2'>link</a> &lt;3",
            "😀 bold link <3",
            [
                {"type": "bold", "offset": 3, "length": 4},
                {"type": "text_link", "offset": 8, "length": 4, "url": "https://e.com/?a=1&b=2"},
            ],
        ),
        (
            "html",
            '<pre><code class="language-python">x = 1</code></pre><blockquote expandable>q</blockquote>',
            "x = 1q",
            [
                {"type": "pre", "offset": 0, "length": 5, "language": "python"},
                {"type": "expandable_blockquote", "offset": 5, "length": 1},
            ],
        ),
        (
            "MarkdownV2",
            "*b* _i_ __u__ ~s~ ||sp|| `c` [l](https://e\\.com) 1\\+1\\=2",
            "b i u s sp c l 1+1=2",
            [
                {"type": "bold", "offset": 0, "length": 1},
                {"type": "italic", "offset": 2, "length": 1},
                {"type": "underline", "offset": 4, "length": 1},
                {"type": "strikethrough", "offset": 6, "length": 1},
                {"type": "spoiler", "offset": 8, "length": 2},
                {"type": "code", "offset": 11, "length": 1},
                {"type": "text_link", "offset": 13, "length": 1, "url": "https://e.com"},
            ],
        ),
        (
            "MarkdownV2",
            ">quoted\n>lines\nafter",
            "quoted\nlines\nafter",
            [{"type": "blockquote", "offset": 0, "length": 12}],
        ),
    ],
)
async def test_parse_modes(
    client: httpx.AsyncClient, mode: str, text: str, visible: str, entities: Any
) -> None:
    message = await result(client, "sendMessage", json={"chat_id": CHANNEL, "text": text, "parse_mode": mode})
    assert message["text"] == visible
    assert message["entities"] == entities
    assert [p["text"] for p in await listing(client)] == [visible]


@pytest.mark.parametrize(
    ("mode", "text", "reason"),
    [
        ("HTML", "<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("HTML", "<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("HTML", "é <script>", 'Unsupported start tag "script" at byte offset 3'),
        ("HTML", "<a>x</a>", 'Tag "a" must have attribute "href" at byte offset 0'),
        ("HTML", "<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("HTML", "x <b", "Unclosed start tag at byte offset 2"),
        ("MarkdownV2", "1+1", "Character '+' is reserved and must be escaped with the preceding '\\'"),
        ("MarkdownV2", "a *b", "Can't find end of Bold entity at byte offset 2"),
        ("MarkdownV2", "*a _b* c_", "Can't find end of Italic entity at byte offset 3"),
        ("MarkdownV2", "`code", "Can't find end of Code entity at byte offset 0"),
        ("MarkdownV2", "[x](https://e", "Can't find end of a URL at byte offset 4"),
    ],
)
async def test_malformed_markup(client: httpx.AsyncClient, mode: str, text: str, reason: str) -> None:
    body = {"chat_id": CHANNEL, "text": text, "parse_mode": mode}
    assert (
        await refused(client, "sendMessage", 400, json=body) == f"Bad Request: can't parse entities: {reason}"
    )
    assert await listing(client) == []


async def test_options_show_in_the_message_or_the_control_route(client: httpx.AsyncClient) -> None:
    body = {
        "chat_id": CHANNEL,
        "text": "see https://example.com",
        "disable_notification": True,
        "protect_content": "true",
        "link_preview_options": json.dumps({"is_disabled": True}),
    }
    message = await result(client, "sendMessage", data=body)
    assert message["has_protected_content"] is True
    assert message["link_preview_options"] == {"is_disabled": True}
    legacy = await result(
        client, "sendMessage", json={"chat_id": CHANNEL, "text": "x", "disable_web_page_preview": True}
    )
    assert legacy["link_preview_options"] == {"is_disabled": True}
    stored = (await client.get(f"/telegram/_control/chats/{CHANNEL}/messages")).json()["messages"]
    assert [s["options"] for s in stored] == [{"disable_notification": True, "protect_content": True}, {}]
    assert stored[0]["message"] == message


async def test_replies(client: httpx.AsyncClient) -> None:
    first = await result(client, "sendMessage", json={"chat_id": CHANNEL, "text": "first"})
    reply = await result(
        client, "sendMessage", json={"chat_id": CHANNEL, "text": "r", "reply_parameters": {"message_id": 1}}
    )
    assert reply["reply_to_message"] == first
    legacy = await result(
        client, "sendMessage", data={"chat_id": CHANNEL, "text": "l", "reply_to_message_id": "2"}
    )
    assert (
        legacy["reply_to_message"]["message_id"] == 2 and "reply_to_message" not in legacy["reply_to_message"]
    )
    missing = {"chat_id": CHANNEL, "text": "m", "reply_parameters": {"message_id": 99}}
    assert (
        await refused(client, "sendMessage", 400, json=missing)
        == "Bad Request: message to be replied not found"
    )
    lenient = {
        "chat_id": CHANNEL,
        "text": "m",
        "reply_parameters": {"message_id": 99, "allow_sending_without_reply": True},
    }
    assert "reply_to_message" not in await result(client, "sendMessage", json=lenient)
    assert [p["replyTo"] for p in await listing(client)] == [None, "1", "2", None]


# ----- media --------------------------------------------------------------------------------------


async def test_send_photo_measures_and_reuses_file_ids(client: httpx.AsyncClient) -> None:
    message = await result(client, "sendPhoto", **photo_upload("a caption"))
    sizes = message["photo"]
    assert [(s["width"], s["height"]) for s in sizes] == [(64, 48)]
    assert message["caption"] == "a caption"
    again = await result(client, "sendPhoto", json={"chat_id": CHANNEL, "photo": sizes[-1]["file_id"]})
    assert again["photo"] == sizes
    media = {"type": "image", "mimeType": "image/png", "size": len(image_bytes()), "width": 64, "height": 48}
    assert [(p["text"], p["media"]) for p in await listing(client)] == [("a caption", [media]), ("", [media])]
    assert await refused(client, "sendPhoto", 400, json={"chat_id": CHANNEL, "photo": "AgACnope"}) == (
        "Bad Request: wrong file identifier/HTTP URL specified"
    )
    assert await refused(client, "sendPhoto", 400, data={"chat_id": CHANNEL}) == (
        "Bad Request: there is no photo in the request"
    )


async def test_large_photos_get_smaller_sizes(client: httpx.AsyncClient) -> None:
    upload = {
        "data": {"chat_id": CHANNEL},
        "files": {"photo": ("p.jpg", image_bytes("JPEG", (3000, 1000)), "image/jpeg")},
    }
    sizes = (await result(client, "sendPhoto", **upload))["photo"]
    assert [(s["width"], s["height"]) for s in sizes] == [
        (90, 30),
        (320, 107),
        (800, 267),
        (1280, 427),
        (2560, 853),
    ]
    assert (await listing(client))[0]["media"][0]["width"] == 3000


async def test_photo_checks(client: httpx.AsyncClient) -> None:
    assert await refused(client, "sendPhoto", 400, **photo_upload("x" * 1025)) == (
        "Bad Request: message caption is too long"
    )
    await result(client, "sendPhoto", **photo_upload("<b>" + "x" * 1024 + "</b>", parse_mode="HTML"))
    not_an_image = {"data": {"chat_id": CHANNEL}, "files": {"photo": ("p.png", b"not an image", "image/png")}}
    assert await refused(client, "sendPhoto", 400, **not_an_image) == "Bad Request: IMAGE_PROCESS_FAILED"
    tiff = {"data": {"chat_id": CHANNEL}, "files": {"photo": ("p.tif", image_bytes("TIFF"), "image/tiff")}}
    assert await refused(client, "sendPhoto", 400, **tiff) == "Bad Request: IMAGE_PROCESS_FAILED"
    wide = {
        "data": {"chat_id": CHANNEL},
        "files": {"photo": ("p.png", image_bytes("PNG", (9000, 1100)), "image/png")},
    }
    assert await refused(client, "sendPhoto", 400, **wide) == "Bad Request: PHOTO_INVALID_DIMENSIONS"
    big = {
        "data": {"chat_id": CHANNEL},
        "files": {"photo": ("p.jpg", bytes(10 * 1024 * 1024 + 1), "image/jpeg")},
    }
    assert await refused(client, "sendPhoto", 400, **big) == "Bad Request: file is too big"
    empty = {"data": {"chat_id": CHANNEL}, "files": {"photo": ("p.jpg", b"", "image/jpeg")}}
    assert await refused(client, "sendPhoto", 400, **empty) == "Bad Request: file must be non-empty"
    assert len(await listing(client)) == 1


@pytest.mark.parametrize(
    ("fmt", "codec", "mime"),
    [
        ("mp4", "libx264", "video/mp4"),
        ("mov", "libx264", "video/quicktime"),
        ("matroska", "libx264", "video/x-matroska"),
        ("webm", "libvpx", "video/webm"),
        ("avi", "mpeg4", "video/x-msvideo"),
    ],
)
async def test_send_video_measures_every_container(
    client: httpx.AsyncClient, fmt: str, codec: str, mime: str
) -> None:
    data = video_bytes(1.0, size=(80, 48), fmt=fmt, codec=codec)
    upload = {"data": {"chat_id": CHANNEL, "caption": "v"}, "files": {"video": (f"v.{fmt}", data, mime)}}
    message = await result(client, "sendVideo", **upload)
    assert (message["video"]["width"], message["video"]["height"], message["video"]["mime_type"]) == (
        80,
        48,
        mime,
    )
    [post] = await listing(client)
    assert post["media"][0] | {"duration": None} == {
        "type": "video",
        "mimeType": mime,
        "size": len(data),
        "width": 80,
        "height": 48,
        "duration": None,
    }
    assert post["media"][0]["duration"] == pytest.approx(1.0, abs=0.1)


async def test_video_checks(client: httpx.AsyncClient) -> None:
    not_a_video = {"data": {"chat_id": CHANNEL}, "files": {"video": ("v.mp4", b"\0" * 100, "video/mp4")}}
    assert await refused(client, "sendVideo", 400, **not_a_video) == "Bad Request: VIDEO_FILE_INVALID"
    huge = b"\0" * (51 * 1024 * 1024 + 1)
    r = await call(
        client, "sendVideo", content=huge, headers={"content-type": "multipart/form-data; boundary=x"}
    )
    assert (r.status_code, r.json()["description"]) == (413, "Request Entity Too Large")


def album(*kinds: str, caption: str = "album", **item: Any) -> dict[str, Any]:
    media = [{"type": kind, "media": f"attach://f{i}"} for i, kind in enumerate(kinds)]
    if media:
        media[0] |= {"caption": caption, **item}
    files: dict[str, Any] = {}
    for i, kind in enumerate(kinds):
        data = image_bytes() if kind == "photo" else video_bytes(0.3)
        files[f"f{i}"] = (f"f{i}", data, "image/png" if kind == "photo" else "video/mp4")
    return {"data": {"chat_id": CHANNEL, "media": json.dumps(media)}, "files": files}


async def test_send_media_group(client: httpx.AsyncClient) -> None:
    messages = await result(client, "sendMediaGroup", **album("photo", "photo", "video"))
    assert [m["message_id"] for m in messages] == [1, 2, 3]
    assert len({m["media_group_id"] for m in messages}) == 1
    assert [m.get("caption") for m in messages] == ["album", None, None]
    assert ["photo" in messages[0], "photo" in messages[1], "video" in messages[2]] == [True, True, True]
    [post] = await listing(client)
    assert (post["id"], post["text"]) == ("1", "album")
    assert [m["type"] for m in post["media"]] == ["image", "image", "video"]


async def test_media_group_checks(client: httpx.AsyncClient) -> None:
    assert await refused(client, "sendMediaGroup", 400, **album("photo")) == (
        "Bad Request: media group must include 2-10 items"
    )
    assert await refused(client, "sendMediaGroup", 400, **album(*["photo"] * 11)) == (
        "Bad Request: media group must include 2-10 items"
    )
    assert await refused(client, "sendMediaGroup", 400, data={"chat_id": CHANNEL}) == (
        'Bad Request: parameter "media" is required'
    )
    assert await refused(client, "sendMediaGroup", 400, data={"chat_id": CHANNEL, "media": "{}"}) == (
        "Bad Request: Expected an Array of InputMedia"
    )
    assert await refused(client, "sendMediaGroup", 400, data={"chat_id": CHANNEL, "media": "[{"}) == (
        "Bad Request: can't parse media JSON object"
    )
    missing = album("photo", "photo")
    del missing["files"]["f1"]
    assert await refused(client, "sendMediaGroup", 400, **missing) == (
        "Bad Request: can't parse InputMedia: media not found"
    )
    animation = album("photo", "photo")
    animation["data"]["media"] = animation["data"]["media"].replace('"photo"', '"animation"', 1)
    assert await refused(client, "sendMediaGroup", 400, **animation) == (
        'Bad Request: can\'t parse InputMedia: type "animation" is unsupported'
    )
    long_caption = album("photo", "photo", caption="x" * 1025)
    assert (
        await refused(client, "sendMediaGroup", 400, **long_caption) == "Bad Request: MEDIA_CAPTION_TOO_LONG"
    )
    assert await listing(client) == []


# ----- chats and membership -----------------------------------------------------------------------


async def membership(client: httpx.AsyncClient, chat: str, status: str, can_post: bool = True) -> None:
    r = await client.post(
        f"/telegram/_control/chats/{chat}", json={"status": status, "canPostMessages": can_post}
    )
    assert r.status_code == 200


async def test_get_chat_member(client: httpx.AsyncClient) -> None:
    member = await result(client, "getChatMember", json={"chat_id": CHANNEL, "user_id": int(BOT)})
    assert member["status"] == "administrator" and member["can_post_messages"] is True
    assert member["user"]["username"] == f"sandbox_{BOT}_bot"
    in_group = await result(client, "getChatMember", data={"chat_id": GROUP, "user_id": BOT})
    assert in_group["status"] == "administrator" and "can_post_messages" not in in_group
    private = await result(client, "getChatMember", json={"chat_id": 777, "user_id": int(BOT)})
    assert private["status"] == "member"
    assert await refused(client, "getChatMember", 400, json={"chat_id": CHANNEL, "user_id": 1}) == (
        "Bad Request: user not found"
    )


async def test_membership_decides_who_may_post(client: httpx.AsyncClient) -> None:
    send = {"json": {"chat_id": CHANNEL, "text": "hi"}}
    await membership(client, CHANNEL, "administrator", can_post=False)
    member = await result(client, "getChatMember", json={"chat_id": CHANNEL, "user_id": int(BOT)})
    assert member["can_post_messages"] is False
    assert (
        await refused(client, "sendMessage", 400, **send)
        == "Bad Request: need administrator rights in the channel chat"
    )
    await membership(client, CHANNEL, "member")
    assert (
        await refused(client, "sendMessage", 400, **send)
        == "Bad Request: need administrator rights in the channel chat"
    )
    await membership(client, CHANNEL, "kicked")
    assert (
        await refused(client, "sendMessage", 403, **send) == "Forbidden: bot was kicked from the channel chat"
    )
    assert await refused(client, "getChatMember", 403, json={"chat_id": CHANNEL, "user_id": int(BOT)}) == (
        "Forbidden: bot was kicked from the channel chat"
    )
    await membership(client, GROUP, "left")
    assert await refused(client, "sendMessage", 403, json={"chat_id": GROUP, "text": "hi"}) == (
        "Forbidden: bot is not a member of the group chat"
    )
    assert (await result(client, "getChatMember", json={"chat_id": GROUP, "user_id": int(BOT)}))[
        "status"
    ] == "left"
    await membership(client, GROUP, "member")
    await result(client, "sendMessage", json={"chat_id": GROUP, "text": "members post in groups"})
    bad = await client.post(f"/telegram/_control/chats/{CHANNEL}", json={"status": "boss"})
    assert bad.status_code == 400
    # resetting the account forgets its membership and messages, but ids go on
    await client.post("/_control/reset", json={"platform": "telegram", "account": GROUP})
    assert (await result(client, "getChatMember", json={"chat_id": GROUP, "user_id": int(BOT)}))[
        "status"
    ] == "administrator"
    assert (await client.get(f"/telegram/_control/chats/{GROUP}/messages")).json() == {"messages": []}
    assert (await result(client, "sendMessage", json={"chat_id": GROUP, "text": "again"}))["message_id"] == 2


# ----- faults -------------------------------------------------------------------------------------


async def test_fault_wire_formats(client: httpx.AsyncClient) -> None:
    def text(t: str) -> dict[str, Any]:
        return {"json": {"chat_id": CHANNEL, "text": t}}

    assert await refused(client, "sendMessage", 401, **text("#sandbox:auth-expired")) == "Unauthorized"
    assert (await refused(client, "sendMessage", 400, **text("#sandbox:invalid-content"))).startswith(
        "Bad Request: can't parse entities"
    )
    r = await call(client, "sendMessage", **text("#sandbox:rate-limit-once"))
    assert r.status_code == 429
    assert r.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    assert (
        await refused(client, "sendMessage", 500, **text("#sandbox:server-error-once"))
        == "Internal Server Error"
    )
    assert await listing(client) == []
    await result(client, "sendMessage", **text("#sandbox:rate-limit-once"))  # the second attempt passes
    await result(client, "sendMessage", **text("#sandbox:auth-expired@bluesky"))  # another platform's marker
    assert len(await listing(client)) == 2


async def test_faults_after_commit(client: httpx.AsyncClient) -> None:
    await client.post(
        "/_control/faults",
        json={"platform": "telegram", "account": CHANNEL, "fault": "server-error-after-commit"},
    )
    r = await call(client, "sendMessage", json={"chat_id": CHANNEL, "text": "stored anyway"})
    assert (
        r.status_code == 502 and r.headers["content-type"].startswith("text/html") and "Bad Gateway" in r.text
    )
    with anyio.move_on_after(0.05) as stalled:  # stored, then the answer stalls
        await call(
            client, "sendMessage", json={"chat_id": CHANNEL, "text": "x #sandbox:timeout-after-commit"}
        )
    assert stalled.cancelled_caught
    assert [p["text"] for p in await listing(client)] == ["stored anyway", "x #sandbox:timeout-after-commit"]


@pytest.fixture
async def quick(clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    """A simulator whose slow faults take 0.2 s."""
    app = create_simulator_app(stall_seconds=0.2, slow_seconds=0.2, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as c:
        yield c


async def test_media_faults(quick: httpx.AsyncClient) -> None:
    failed = await refused(quick, "sendPhoto", 400, **photo_upload("#sandbox:media-processing-failed"))
    assert failed == "Bad Request: IMAGE_PROCESS_FAILED"
    r = await call(quick, "sendPhoto", **photo_upload("#sandbox:upload-interrupted"))
    assert r.status_code == 408 and "Request Time-out" in r.text
    assert await listing(quick) == []
    # only the first upload is cut
    await result(quick, "sendPhoto", **photo_upload("#sandbox:upload-interrupted"))
    with anyio.move_on_after(0.05) as processing:  # processed before the answer: nothing stored yet
        await call(quick, "sendPhoto", **photo_upload("#sandbox:media-slow"))
    assert processing.cancelled_caught and len(await listing(quick)) == 1
    await result(quick, "sendPhoto", **photo_upload("#sandbox:media-slow"))
    await result(quick, "sendMessage", json={"chat_id": CHANNEL, "text": "#sandbox:media-slow"})
    with anyio.move_on_after(0.05) as slow:  # stored, answered late
        await result(quick, "sendMessage", json={"chat_id": CHANNEL, "text": "#sandbox:slow"})
    assert slow.cancelled_caught
    assert len(await listing(quick)) == 4
