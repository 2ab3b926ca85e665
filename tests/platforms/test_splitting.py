"""Thread splitting rules (manual separator, explicit markers, automatic packing)."""

from __future__ import annotations

import re

import regex

from postpost.platforms.splitting import split_into_parts
from postpost.platforms.text import CodePoints, Graphemes, TextCounter, Utf16, XWeighted

CODE_POINTS = CodePoints()

NUMBER = re.compile(r" \((\d+)/(\d+)\)$")


def graphemes(text: str) -> int:
    return len(regex.findall(r"\X", text))


def test_short_text_is_one_part_untouched() -> None:
    assert split_into_parts("  hello world  ", 280, CODE_POINTS) == ["  hello world  "]


def test_text_exactly_at_limit_is_not_split() -> None:
    text = "a" * 280
    assert split_into_parts(text, 280, CODE_POINTS) == [text]


def test_manual_separator_splits_trims_and_drops_empty_parts() -> None:
    text = "First part.\n\n---\n\nSecond part.\n---\n\n  ---  \nThird\n\n---\n"
    assert split_into_parts(text, 280, CODE_POINTS) == ["First part.", "Second part.", "Third"]


def test_manual_separator_wins_over_length_and_adds_no_numbering() -> None:
    long_part = "word " * 100
    parts = split_into_parts(f"{long_part}\n---\nshort", 280, CODE_POINTS)
    assert parts == [long_part.strip(), "short"]  # over-long part returned as is
    assert not any(NUMBER.search(p) for p in parts)


def test_manual_separator_with_crlf_line_endings() -> None:
    assert split_into_parts("one\r\n---\r\ntwo", 280, CODE_POINTS) == ["one", "two"]


def test_dashes_inside_a_line_are_not_a_separator() -> None:
    assert split_into_parts("a --- b", 280, CODE_POINTS) == ["a --- b"]
    assert split_into_parts("a\n----\nb", 280, CODE_POINTS) == ["a\n----\nb"]


def test_explicit_markers_split_after_each_marker_verbatim() -> None:
    text = "Intro to the topic [1/3] Middle bit [2/3]\nThe end [3/3]"
    assert split_into_parts(text, 280, CODE_POINTS) == [
        "Intro to the topic [1/3]",
        "Middle bit [2/3]",
        "The end [3/3]",
    ]


def test_explicit_markers_keep_trailing_text_and_long_parts() -> None:
    long = "x" * 300
    assert split_into_parts(f"{long} [1/2] tail", 280, CODE_POINTS) == [f"{long} [1/2]", "tail"]


def test_parentheses_are_not_explicit_markers() -> None:
    assert split_into_parts("one (1/2) two (2/2)", 280, CODE_POINTS) == ["one (1/2) two (2/2)"]


def check_auto(parts: list[str], limit: int, length=len) -> list[str]:  # type: ignore[no-untyped-def]
    """Assert numbering and limits; return the parts without their numbering."""
    assert len(parts) >= 2
    bodies = []
    for i, part in enumerate(parts, start=1):
        m = NUMBER.search(part)
        assert m is not None, part
        assert (int(m.group(1)), int(m.group(2))) == (i, len(parts))
        assert length(part) <= limit
        body = part[: m.start()]
        assert length(body) <= limit - 10
        assert body == body.strip() and body
        bodies.append(body)
    return bodies


def test_auto_prefers_paragraph_breaks() -> None:
    para1 = "First paragraph. " * 8  # 136 chars
    para2 = "Second paragraph here. " * 5
    text = f"{para1.strip()}\n\n{para2.strip()}"
    bodies = check_auto(split_into_parts(text, 200, CODE_POINTS), 200)
    assert bodies == [para1.strip(), para2.strip()]


def test_auto_falls_back_to_sentence_end() -> None:
    text = "Alpha beta gamma. Delta epsilon! Zeta eta theta? " * 6
    bodies = check_auto(split_into_parts(text, 100, CODE_POINTS), 100)
    assert all(b[-1] in ".!?" for b in bodies)
    assert " ".join(bodies) == text.strip()


def test_auto_falls_back_to_whitespace_then_hard_cut() -> None:
    words = "lorem ipsum dolor sit amet " * 12
    bodies = check_auto(split_into_parts(words, 50, CODE_POINTS), 50)
    assert " ".join(bodies) == words.strip()
    assert all(not b.endswith(" ") for b in bodies)

    blob = "z" * 250
    bodies = check_auto(split_into_parts(blob, 100, CODE_POINTS), 100)
    assert [len(b) for b in bodies] == [90, 90, 70]
    assert "".join(bodies) == blob


def test_auto_uses_the_platform_length_function() -> None:
    weighted = Utf16()  # emoji count double
    text = "😀" * 200  # 400 weighted
    parts = split_into_parts(text, 280, weighted)
    bodies = check_auto(parts, 280, weighted)
    assert "".join(bodies) == text
    assert weighted(bodies[0]) == 270


def test_hard_cut_does_not_split_a_grapheme_cluster() -> None:
    family = "👨\u200d👩\u200d👧"  # one grapheme, 5 code points
    text = family * 40
    bodies = check_auto(split_into_parts(text, 50, CODE_POINTS), 50)
    assert all(graphemes(b) * 5 == len(b) for b in bodies)
    assert "".join(bodies) == text


class CountingUnits(TextCounter):
    """Graphemes, counting how many units were read."""

    def __init__(self) -> None:
        self.read = 0
        self.inner = Graphemes()

    def units(self, text: str):  # type: ignore[no-untyped-def]
        for unit in self.inner.units(text):
            self.read += 1
            yield unit


def test_packing_reads_each_unit_once() -> None:
    counter = CountingUnits()
    text = ("Słowo i emoji 😀 w zdaniu. " * 4000).strip()  # ~100,000 graphemes
    parts = split_into_parts(text, 300, counter)
    assert len(parts) > 300
    units = Graphemes().count(text)
    # one pass to see it is over the limit (stops at 301) and one to pack: linear, not quadratic
    assert counter.read <= units + 301
    assert "".join(NUMBER.sub("", p) for p in parts).replace(" ", "") == text.replace(" ", "")


def test_counting_stops_early_past_a_bound() -> None:
    counter = CountingUnits()
    assert counter.count("é" * 1_000_000, stop_above=7500) == 7501
    assert counter.read == 7501


def test_x_weighting() -> None:
    x = XWeighted()
    assert x("hello") == 5
    assert x("日本語") == 6
    assert x("😀") == 2 and x("👨\u200d👩\u200d👧") == 2
    assert x("see https://example.com/" + "a" * 80) == 4 + 23
    assert x("e\u0301") == 1  # NFC: é
