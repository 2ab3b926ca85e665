"""How each platform counts the length of a post.

A counter cuts text into units (a code point, a grapheme cluster, a whole URL) with a weight
each. Counting is one pass over the text and can stop early once past a bound, so a 1 MB
request costs only as much as the bound; the splitter cuts only between units.
"""

from __future__ import annotations

import abc
import re
import unicodedata
from collections.abc import Iterator

import regex

_GRAPHEME = regex.compile(r"\X")
_URL = re.compile(r"https?://[^\s<>\"]*[^\s<>\".,;:!?'()\[\]]", re.IGNORECASE)
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}]")
_REMOTE_MENTION = re.compile(r"(?<![\w@/])(@[A-Za-z0-9_]+)(@[A-Za-z0-9.-]+\.[A-Za-z]{2,})", re.ASCII)

Unit = tuple[int, int]  # (end offset in the text, weight)


class TextCounter(abc.ABC):
    """Counts text as one platform does."""

    @abc.abstractmethod
    def units(self, text: str) -> Iterator[Unit]:
        """The text's units in order, as (end offset, weight); never splits a unit."""

    def count(self, text: str, stop_above: int | None = None) -> int:
        """The length of `text`; once it passes `stop_above`, returns a value above it early."""
        total = 0
        for _end, weight in self.units(text):
            total += weight
            if stop_above is not None and total > stop_above:
                return total
        return total

    def __call__(self, text: str) -> int:
        return self.count(text)


class CodePoints(TextCounter):
    """Unicode code points (LinkedIn, Instagram, Facebook, Telegram)."""

    def units(self, text: str) -> Iterator[Unit]:
        for match in _GRAPHEME.finditer(text):
            yield match.end(), match.end() - match.start()

    def count(self, text: str, stop_above: int | None = None) -> int:
        return len(text)


class Graphemes(TextCounter):
    """Extended grapheme clusters, what Bluesky counts."""

    def units(self, text: str) -> Iterator[Unit]:
        for match in _GRAPHEME.finditer(text):
            yield match.end(), 1

    def count(self, text: str, stop_above: int | None = None) -> int:
        if text.isascii():
            return len(text)
        return super().count(text, stop_above)


class Utf16(TextCounter):
    """UTF-16 code units, what TikTok counts (a character outside the BMP is 2)."""

    def units(self, text: str) -> Iterator[Unit]:
        for match in _GRAPHEME.finditer(text):
            yield match.end(), sum(2 if ord(c) > 0xFFFF else 1 for c in match.group())

    def count(self, text: str, stop_above: int | None = None) -> int:
        return len(text.encode("utf-16-le")) // 2


class Utf8Bytes(TextCounter):
    """UTF-8 bytes (YouTube descriptions)."""

    def units(self, text: str) -> Iterator[Unit]:
        for match in _GRAPHEME.finditer(text):
            yield match.end(), len(match.group().encode())

    def count(self, text: str, stop_above: int | None = None) -> int:
        return len(text.encode())


class _Linked(TextCounter):
    """Counters in which every URL is one unit of a fixed weight."""

    url_weight = 23

    def units(self, text: str) -> Iterator[Unit]:
        position = 0
        silent = self.silent_spans(text)
        for url in _URL.finditer(text):
            yield from self._plain(text, position, url.start(), silent)
            yield url.end(), self.url_weight
            position = url.end()
        yield from self._plain(text, position, len(text), silent)

    def _plain(self, text: str, start: int, end: int, silent: list[tuple[int, int]]) -> Iterator[Unit]:
        for match in _GRAPHEME.finditer(text, start, end):
            muted = any(a <= match.start() < b for a, b in silent) if silent else False
            yield match.end(), 0 if muted else self.weight(match.group())

    def silent_spans(self, text: str) -> list[tuple[int, int]]:
        """Spans of text that weigh nothing."""
        return []

    def weight(self, cluster: str) -> int:
        return len(cluster)


class XWeighted(_Linked):
    """X's weighted length: URLs 23, emoji 2, CJK and most other scripts 2, Latin and punctuation 1.

    As X's counting library defines it: text is NFC-normalised; code points in 0–4351,
    8192–8205, 8208–8223 and 8242–8247 weigh 1, all others 2; an emoji sequence counts 2.
    """

    def count(self, text: str, stop_above: int | None = None) -> int:
        return super().count(unicodedata.normalize("NFC", text), stop_above)

    def weight(self, cluster: str) -> int:
        if _EMOJI.search(cluster):
            return 2
        return sum(1 if _light(ord(c)) else 2 for c in cluster)


def _light(point: int) -> bool:
    return point <= 4351 or 8192 <= point <= 8205 or 8208 <= point <= 8223 or 8242 <= point <= 8247


class MastodonLength(_Linked):
    """Mastodon: code points, every URL 23, a remote mention only its `@user` part."""

    def silent_spans(self, text: str) -> list[tuple[int, int]]:
        if "@" not in text:
            return []
        return [m.span(2) for m in _REMOTE_MENTION.finditer(text)]


class ThreadsLength(TextCounter):
    """Threads: code points, except that an emoji counts as its UTF-8 byte length."""

    def units(self, text: str) -> Iterator[Unit]:
        for match in _GRAPHEME.finditer(text):
            cluster = match.group()
            yield match.end(), len(cluster.encode()) if _EMOJI.search(cluster) else len(cluster)
