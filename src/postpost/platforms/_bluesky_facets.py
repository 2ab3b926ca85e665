"""Bluesky rich text: link, tag and mention facets of a post's text, with UTF-8 byte offsets.

Links and hashtags are only clickable on Bluesky when the record carries facets for them; a
mention needs the DID of the handle, which the caller resolves (`Resolve`), and is left out when
the handle does not resolve.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import regex

Resolve = Callable[[str], Awaitable[str | None]]  # handle -> DID, or None

_URL = regex.compile(r"https?://[^\s<>\"]+", regex.IGNORECASE)
_URL_TRAIL = regex.compile(r"[.,;:!?'\"]+$")
_TAG = regex.compile(r"(?:^|(?<=\s))[#＃]([^\s#＃]+)")
_TAG_TRAIL = regex.compile(r"\p{P}+$")
_MENTION = regex.compile(r"(?:^|(?<=[\s(]))@([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9-]+)+)")


def _byte_index(text: str, start: int, end: int) -> dict[str, int]:
    before = len(text[:start].encode())
    return {"byteStart": before, "byteEnd": before + len(text[start:end].encode())}


async def build_facets(text: str, resolve: Resolve) -> list[dict[str, Any]]:
    """The facets of `text`, in text order."""
    facets: list[dict[str, Any]] = []
    url_spans: list[tuple[int, int]] = []
    for m in _URL.finditer(text):
        url = _URL_TRAIL.sub("", m.group())
        if url.endswith(")") and "(" not in url:
            url = url[:-1]
        span = (m.start(), m.start() + len(url))
        url_spans.append(span)
        facets.append(
            {
                "index": _byte_index(text, *span),
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}],
            }
        )
    for m in _TAG.finditer(text):
        tag = _TAG_TRAIL.sub("", m.group(1))
        start = m.start(1) - 1
        if not tag or tag.isdigit() or len(tag) > 64 or any(a <= start < b for a, b in url_spans):
            continue
        facets.append(
            {
                "index": _byte_index(text, start, m.start(1) + len(tag)),
                "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}],
            }
        )
    for m in _MENTION.finditer(text):
        if any(a <= m.start() < b for a, b in url_spans):
            continue
        did = await resolve(m.group(1))
        if did:
            facets.append(
                {
                    "index": _byte_index(text, m.start(), m.end()),
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}],
                }
            )
    facets.sort(key=lambda f: f["index"]["byteStart"])
    return facets
