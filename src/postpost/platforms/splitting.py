"""Splitting long content into thread parts (X and Threads).

Rules, in order of precedence:

1. A line holding only ``---`` is a manual separator: parts are trimmed, empty parts dropped,
   nothing is numbered.
2. ``[n/m]`` markers are explicit part ends: the text is cut right after each marker and the
   markers stay as written.
3. Text longer than the limit is packed greedily into parts of at most ``limit - 10`` (room for the
   numbering), cutting at the last paragraph break that fits, else the last sentence end, else the
   last whitespace, else anywhere; every part then gets `` (i/N)`` appended.
4. Anything else is a single part.

Parts of rules 1 and 2 may still exceed the limit; they are returned untouched and the caller
rejects them. The module is pure: no I/O, no platform knowledge beyond the `length` callable.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import regex

NUMBERING_RESERVE = 10

_SEPARATOR = re.compile(r"^[ \t]*---[ \t\r]*$", re.MULTILINE)
_MARKER = re.compile(r"\[\d+/\d+\]")
_SENTENCE_ENDS = (". ", "! ", "? ")
_GRAPHEME = regex.compile(r"\X")


def split_into_parts(text: str, limit: int, length: Callable[[str], int]) -> list[str]:
    """Split `text` into thread parts for a platform counting with `length` up to `limit`."""
    if _SEPARATOR.search(text):
        parts = [p.strip() for p in _SEPARATOR.split(text)]
        parts = [p for p in parts if p]
        if parts:
            return parts
    if _MARKER.search(text):
        parts = _split_after_markers(text)
        if parts:
            return parts
    if length(text) > limit:
        chunks = _pack(text.strip(), max(1, limit - NUMBERING_RESERVE), length)
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


def _pack(text: str, budget: int, length: Callable[[str], int]) -> list[str]:
    """Greedily cut `text` into chunks whose `length` is at most `budget`."""
    chunks: list[str] = []
    rest = text
    while rest and length(rest) > budget:
        fit = _longest_fitting_prefix(rest, budget, length)
        cut = _break_point(rest, fit)
        chunk = rest[:cut].rstrip()
        if not chunk:  # only whitespace fitted: hard cut instead
            cut = max(fit, 1)
            chunk = rest[:cut]
        chunks.append(chunk)
        rest = rest[cut:].lstrip()
    if rest:
        chunks.append(rest)
    return chunks


def _longest_fitting_prefix(text: str, budget: int, length: Callable[[str], int]) -> int:
    """Largest index `k` with ``length(text[:k]) <= budget`` (binary search; at least 1)."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if length(text[:mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return max(lo, 1)


def _break_point(text: str, fit: int) -> int:
    """Where to cut a chunk whose first `fit` characters fit the budget."""
    paragraph = text.rfind("\n\n", 1, fit + 2)
    if paragraph > 0:
        return paragraph
    sentence = max(text.rfind(end, 0, fit + 1) for end in _SENTENCE_ENDS)
    if sentence >= 0:
        return sentence + 1  # keep the punctuation, drop the space
    for i in range(min(fit, len(text) - 1), 0, -1):
        if text[i].isspace():
            return i
    return _grapheme_boundary(text, fit)


def _grapheme_boundary(text: str, fit: int) -> int:
    """The last grapheme-cluster boundary at or before `fit` (so emoji are not torn apart)."""
    boundary = 0
    for match in _GRAPHEME.finditer(text, 0, min(len(text), fit + 8)):
        if match.end() > fit:
            break
        boundary = match.end()
    return boundary or fit
