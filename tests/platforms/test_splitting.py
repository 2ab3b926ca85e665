"""Thread splitting rules (manual separator, explicit markers, automatic packing)."""

from __future__ import annotations

import re

import regex

from postpost.platforms.splitting import split_into_parts

NUMBER = re.compile(r" \((\d+)/(\d+)\)$")


def graphemes(text: str) -> int:
    return len(regex.findall(r"\X", text))


def test_short_text_is_one_part_untouched() -> None:
    assert split_into_parts("  hello world  ", 280, len) == ["  hello world  "]


def test_text_exactly_at_limit_is_not_split() -> None:
    text = "a" * 280
    assert split_into_parts(text, 280, len) == [text]


def test_manual_separator_splits_trims_and_drops_empty_parts() -> None:
    text = "First part.\n\n---\n\nSecond part.\n---\n\n  ---  \nThird\n\n---\n"
    assert split_into_parts(text, 280, len) == ["First part.", "Second part.", "Third"]


def test_manual_separator_wins_over_length_and_adds_no_numbering() -> None:
    long_part = "word " * 100
    parts = split_into_parts(f"{long_part}\n---\nshort", 280, len)
    assert parts == [long_part.strip(), "short"]  # over-long part returned as is
    assert not any(NUMBER.search(p) for p in parts)


def test_manual_separator_with_crlf_line_endings() -> None:
    assert split_into_parts("one\r\n---\r\ntwo", 280, len) == ["one", "two"]


def test_dashes_inside_a_line_are_not_a_separator() -> None:
    assert split_into_parts("a --- b", 280, len) == ["a --- b"]
    assert split_into_parts("a\n----\nb", 280, len) == ["a\n----\nb"]


def test_explicit_markers_split_after_each_marker_verbatim() -> None:
    text = "Intro to the topic [1/3] Middle bit [2/3]\nThe end [3/3]"
    assert split_into_parts(text, 280, len) == [
        "Intro to the topic [1/3]",
        "Middle bit [2/3]",
        "The end [3/3]",
    ]


def test_explicit_markers_keep_trailing_text_and_long_parts() -> None:
    long = "x" * 300
    assert split_into_parts(f"{long} [1/2] tail", 280, len) == [f"{long} [1/2]", "tail"]


def test_parentheses_are_not_explicit_markers() -> None:
    assert split_into_parts("one (1/2) two (2/2)", 280, len) == ["one (1/2) two (2/2)"]


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
    bodies = check_auto(split_into_parts(text, 200, len), 200)
    assert bodies == [para1.strip(), para2.strip()]


def test_auto_falls_back_to_sentence_end() -> None:
    text = "Alpha beta gamma. Delta epsilon! Zeta eta theta? " * 6
    bodies = check_auto(split_into_parts(text, 100, len), 100)
    assert all(b[-1] in ".!?" for b in bodies)
    assert " ".join(bodies) == text.strip()


def test_auto_falls_back_to_whitespace_then_hard_cut() -> None:
    words = "lorem ipsum dolor sit amet " * 12
    bodies = check_auto(split_into_parts(words, 50, len), 50)
    assert " ".join(bodies) == words.strip()
    assert all(not b.endswith(" ") for b in bodies)

    blob = "z" * 250
    bodies = check_auto(split_into_parts(blob, 100, len), 100)
    assert [len(b) for b in bodies] == [90, 90, 70]
    assert "".join(bodies) == blob


def test_auto_uses_the_platform_length_function() -> None:
    def weighted(s: str) -> int:  # emoji count double, like X
        return sum(2 if ord(c) > 0xFFFF else 1 for c in s)

    text = "😀" * 200  # 400 weighted
    parts = split_into_parts(text, 280, weighted)
    bodies = check_auto(parts, 280, weighted)
    assert "".join(bodies) == text
    assert weighted(bodies[0]) == 270


def test_hard_cut_does_not_split_a_grapheme_cluster() -> None:
    family = "👨\u200d👩\u200d👧"  # one grapheme, 5 code points
    text = family * 40
    bodies = check_auto(split_into_parts(text, 50, len), 50)
    assert all(graphemes(b) * 5 == len(b) for b in bodies)
    assert "".join(bodies) == text
