"""Telegram's `parse_mode` parsers, as the fake Bot API needs them: text in, visible text and entities out.

`parse("HTML" | "MarkdownV2", text)` returns the text as Telegram shows it (markup removed,
HTML entities decoded, surrounding whitespace trimmed) with its `MessageEntity` list (offsets in
UTF-16 code units), or raises `MarkupError` with the reason Telegram gives after
"can't parse entities: ". Byte offsets in messages are UTF-8 offsets into the input, as Telegram's.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_ATTRIBUTE = re.compile(r"\s*([a-zA-Z-]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+))?")
_HTML_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);")
_MD_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MD_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
}
_MD_MARKS = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough", "||": "spoiler"}


class MarkupError(ValueError):
    """The text's markup is malformed; the message is Telegram's reason."""


@dataclass
class _Builder:
    """Visible text under construction, with entities whose offsets are in UTF-16 units."""

    parts: list[str] = field(default_factory=list)
    units: int = 0
    entities: list[dict[str, Any]] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.units += _utf16(text)

    def close(self, kind: str, start: int, **extra: Any) -> None:
        if self.units > start:
            self.entities.append({"type": kind, "offset": start, "length": self.units - start, **extra})

    def result(self) -> tuple[str, list[dict[str, Any]]]:
        text = "".join(self.parts)
        stripped = text.strip()
        lead = _utf16(text[: len(text) - len(text.lstrip())])
        end = lead + _utf16(stripped)
        kept = []
        for entity in self.entities:
            start, stop = max(entity["offset"], lead), min(entity["offset"] + entity["length"], end)
            if stop > start:
                kept.append({**entity, "offset": start - lead, "length": stop - start})
        kept.sort(key=lambda e: (e["offset"], -e["length"]))
        return stripped, kept


def parse(mode: str, text: str) -> tuple[str, list[dict[str, Any]]]:
    """Visible text and entities of `text` under `mode` (``html`` or ``markdownv2``, any case)."""
    if mode.lower() == "html":
        return _parse_html(text)
    return _parse_markdown_v2(text)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte(text: str, index: int) -> int:
    return len(text[:index].encode())


# ----- HTML ---------------------------------------------------------------------------


def _parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    out = _Builder()
    stack: list[tuple[str, int, dict[str, Any]]] = []  # (tag, start, extra)
    i = 0
    while i < len(text):
        char = text[i]
        if char == "&":
            match = _HTML_ENTITY.match(text, i)
            out.add(_decode_entity(match.group(1)) if match else "&")
            i = match.end() if match else i + 1
        elif char != "<":
            end = min((p for p in (text.find("<", i), text.find("&", i)) if p != -1), default=len(text))
            out.add(text[i:end])
            i = end
        elif text.startswith("</", i):
            i = _end_tag(text, i, stack, out)
        else:
            i = _start_tag(text, i, stack, out)
    if stack:
        raise MarkupError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.result()


def _decode_entity(name: str) -> str:
    if name.startswith("#"):
        point = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
        return chr(point) if 0 < point <= 0x10FFFF else ""
    return html.unescape(f"&{name};")


def _start_tag(text: str, i: int, stack: list[tuple[str, int, dict[str, Any]]], out: _Builder) -> int:
    close = text.find(">", i)
    if close == -1:
        raise MarkupError(f"Unclosed start tag at byte offset {_byte(text, i)}")
    name_match = re.match(r"[a-zA-Z][a-zA-Z0-9-]*", text[i + 1 : close])
    name = name_match.group().lower() if name_match else ""
    if name not in _HTML_TAGS:
        raise MarkupError(f'Unsupported start tag "{name}" at byte offset {_byte(text, i)}')
    attributes = {
        m.group(1).lower(): (m.group(2) or "").strip("\"'")
        for m in _ATTRIBUTE.finditer(text, i + 1 + len(name), close)
        if m.group(1)
    }
    extra: dict[str, Any] = {}
    if name == "span" and attributes.get("class") != "tg-spoiler":
        raise MarkupError(f'Tag "span" must have class "tg-spoiler" at byte offset {_byte(text, i)}')
    if name == "a":
        if not attributes.get("href"):
            raise MarkupError(f'Tag "a" must have attribute "href" at byte offset {_byte(text, i)}')
        extra["url"] = html.unescape(attributes["href"])
    if (
        name == "code"
        and stack
        and stack[-1][0] == "pre"
        and attributes.get("class", "").startswith("language-")
    ):
        stack[-1][2]["language"] = attributes["class"].removeprefix("language-")
    if name == "blockquote" and "expandable" in attributes:
        extra["expandable"] = True
    stack.append((name, out.units, extra))
    return close + 1


def _end_tag(text: str, i: int, stack: list[tuple[str, int, dict[str, Any]]], out: _Builder) -> int:
    close = text.find(">", i)
    if close == -1:
        raise MarkupError(f"Unclosed end tag at byte offset {_byte(text, i)}")
    name = text[i + 2 : close].strip().lower()
    if not stack:
        raise MarkupError(f'Unexpected end tag "{name}" at byte offset {_byte(text, i)}')
    tag, start, extra = stack.pop()
    if name != tag:
        raise MarkupError(
            f'Unmatched end tag at byte offset {_byte(text, i)}, expected "</{tag}>", found "</{name}>"'
        )
    kind = _HTML_TAGS[tag]
    if kind == "blockquote" and extra.pop("expandable", False):
        kind = "expandable_blockquote"
    inside_pre = kind == "code" and stack and stack[-1][0] == "pre"
    if not inside_pre:  # <pre><code class="language-x"> is one pre entity
        out.close(kind, start, **extra)
    return close + 1


# ----- MarkdownV2 ---------------------------------------------------------------------


def _parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    out = _Builder()
    stack: list[tuple[str, int, int]] = []  # (kind, start in units, byte offset of the mark)
    quote: int | None = None  # start of the open blockquote
    i = 0
    while i < len(text):
        char = text[i]
        at_line_start = i == 0 or text[i - 1] == "\n"
        if char == "\n" and quote is not None and not text.startswith(">", i + 1):
            out.close("blockquote", quote)
            quote = None
        if char == ">" and at_line_start:
            quote = out.units if quote is None else quote
            i += 1
        elif char == "\\" and i + 1 < len(text) and 0 < ord(text[i + 1]) < 127:
            out.add(text[i + 1])
            i += 2
        elif char == "`":
            i = _md_code(text, i, out)
        elif char == "[":
            stack.append(("text_link", out.units, _byte(text, i)))
            i += 1
        elif char == "]" and stack and stack[-1][0] == "text_link":
            i = _md_link_end(text, i, stack, out)
        elif (mark := _md_mark(text, i)) is not None:
            kind = _MD_MARKS[mark]
            if stack and stack[-1][0] == kind:
                out.close(kind, stack.pop()[1])
            elif any(open_kind == kind for open_kind, _, _ in stack):
                top, _start, offset = stack[-1]
                raise MarkupError(
                    f"Can't find end of {_MD_NAMES.get(top, 'TextUrl')} entity at byte offset {offset}"
                )
            else:
                stack.append((kind, out.units, _byte(text, i)))
            i += len(mark)
        elif char in _MD_RESERVED:
            raise MarkupError(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")
        else:
            out.add(char)
            i += 1
    if stack:
        kind, _start, offset = stack[-1]
        raise MarkupError(
            f"Can't find end of {_MD_NAMES.get(kind, 'TextUrl')} entity at byte offset {offset}"
        )
    if quote is not None:
        out.close("blockquote", quote)
    return out.result()


def _md_mark(text: str, i: int) -> str | None:
    return next((mark for mark in ("__", "||", "*", "_", "~") if text.startswith(mark, i)), None)


def _md_code(text: str, i: int, out: _Builder) -> int:
    """Inline code or a ```pre``` block starting at `i`; returns where parsing resumes."""
    fence = "```" if text.startswith("```", i) else "`"
    body_start = i + len(fence)
    language = None
    if fence == "```":
        line_end = text.find("\n", body_start)
        first_line = text[body_start:line_end] if line_end != -1 else ""
        if line_end != -1 and first_line and " " not in first_line and "`" not in first_line:
            language, body_start = first_line, line_end + 1
    j, chunk = body_start, []
    while j < len(text) and not text.startswith(fence, j):
        if text[j] == "\\" and j + 1 < len(text) and text[j + 1] in "`\\":
            j += 1
        chunk.append(text[j])
        j += 1
    if j >= len(text):
        name = "Pre" if fence == "```" else "Code"
        raise MarkupError(f"Can't find end of {name} entity at byte offset {_byte(text, i)}")
    start = out.units
    out.add("".join(chunk))
    if fence == "```":
        out.close("pre", start, **({"language": language} if language else {}))
    else:
        out.close("code", start)
    return j + len(fence)


def _md_link_end(text: str, i: int, stack: list[tuple[str, int, int]], out: _Builder) -> int:
    """`](url)` closing a text link opened by `[`; returns where parsing resumes."""
    _kind, start, _offset = stack.pop()
    if not text.startswith("(", i + 1):
        return i + 1  # [text] without a URL: plain text
    close = i + 2
    url: list[str] = []
    while close < len(text) and text[close] != ")":
        if text[close] == "\\" and close + 1 < len(text):
            close += 1
        url.append(text[close])
        close += 1
    if close >= len(text):
        raise MarkupError(f"Can't find end of a URL at byte offset {_byte(text, i + 2)}")
    out.close("text_link", start, url="".join(url))
    return close + 1
