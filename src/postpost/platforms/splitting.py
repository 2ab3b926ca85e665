"""Splitting long content into the parts of a reply chain (platforms whose descriptor threads).

Rules, in order of precedence:

1. A line holding only ``---`` is a manual separator: parts are trimmed, empty parts dropped,
   nothing is numbered.
2. ``[n/m]`` markers are explicit part ends: the text is cut right after each marker and the
   markers stay as written.
3. Text longer than the limit is packed greedily into parts of at most ``limit - 10`` (room for the
   numbering), cutting at the last paragraph break that fits, else the last sentence end, else the
   last whitespace, else between two units of the counter; every part then gets `` (i/N)``.
4. Anything else is a single part.

Parts of rules 1 and 2 may still exceed the limit; they are returned untouched and the caller
rejects them. Packing is linear in the text's length: the counter's units are read once into
cumulative weights, and each part is found by bisection. The module is pure.
"""

from __future__ import annotations

import bisect
import re

from postpost.platforms.text import TextCounter

NUMBERING_RESERVE = 10

_SEPARATOR = re.compile(r"^[ \t]*---[ \t\r]*$", re.MULTILINE)
_MARKER = re.compile(r"\[\d+/\d+\]")
_SENTENCE_ENDS = (". ", "! ", "? ")


def split_into_parts(text: str, limit: int, counter: TextCounter) -> list[str]:
    """Split `text` into thread parts for a platform counting with `counter` up to `limit`."""
    if _SEPARATOR.search(text):
        parts = [p.strip() for p in _SEPARATOR.split(text)]
        parts = [p for p in parts if p]
        if parts:
            return parts
    if _MARKER.search(text):
        parts = _split_after_markers(text)
        if parts:
            return parts
    if counter.count(text, stop_above=limit) > limit:
        chunks = _pack(text.strip(), max(1, limit - NUMBERING_RESERVE), counter)
        total = len(chunks)
        return [f"{chunk} ({i}/{total})" for i, chunk in enumerate(chunks, start=1)]
    return [text]


def _split_after_markers(text: str) -> list[str]:
    """Cut right after every ``[n/m]`` marker; trim parts and drop empty ones."""
    parts: list[str] = []
    start = 0
    for match in _MARKER.finditer(text):
        parts.append(text[start : match.end()])
        start = match.end()
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _pack(text: str, budget: int, counter: TextCounter) -> list[str]:
    """Greedily cut `text` into chunks weighing at most `budget` (one that cannot fit is cut hard)."""
    offsets = [0]
    weights = [0]
    for end, weight in counter.units(text):
        offsets.append(end)
        weights.append(weights[-1] + weight)
    last = len(offsets) - 1
    chunks: list[str] = []
    first, start = 0, 0  # the unit the chunk starts in, and the chunk's first character
    while weights[last] - weights[first] > budget:
        fits = max(bisect.bisect_right(weights, weights[first] + budget, first) - 1, first + 1)
        end = offsets[fits]
        cut = _break_point(text, start, end)
        chunk = text[start:cut].rstrip()
        if not chunk:  # only whitespace fitted: cut hard
            cut, chunk = end, text[start:end]
        chunks.append(chunk)
        start = cut
        while start < len(text) and text[start].isspace():
            start += 1
        first = bisect.bisect_right(offsets, start, first) - 1
    rest = text[start:].strip()
    if rest:
        chunks.append(rest)
    return chunks


def _break_point(text: str, start: int, end: int) -> int:
    """Where to end a chunk that may run from `start` to `end`: the best break before `end`."""
    if end >= len(text):
        return end
    paragraph = text.rfind("\n\n", start + 1, end + 1)
    if paragraph > start:
        return paragraph
    sentence = max(text.rfind(mark, start, end + 1) for mark in _SENTENCE_ENDS)
    if sentence > start:
        return sentence + 1  # keep the punctuation, drop the space
    if text[end].isspace():
        return end
    for i in range(end - 1, start, -1):
        if text[i].isspace():
            return i
    return end
