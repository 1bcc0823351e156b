"""Splitting and truncating text to a service's limit (pure functions)."""

from __future__ import annotations

import pytest

from integrations.channels.sizing import (
    TRUNCATED,
    json_utf8_bytes,
    open_fence,
    split_text,
    truncate_text,
    utf8_bytes,
    utf16_units,
)


def test_it_leaves_short_text_alone():
    assert split_text("short", 10) == ["short"]
    assert truncate_text("short", 10) == "short"


def test_it_prefers_paragraph_breaks():
    text = "a" * 30 + "\n\n" + "b" * 30 + "\nline\n" + "c" * 10
    assert split_text(text, 60) == ["a" * 30, "b" * 30 + "\nline\n" + "c" * 10]


def test_it_falls_back_to_line_then_word_then_hard_cuts():
    assert split_text("aaaa bbbb\ncccc dddd", 12) == ["aaaa bbbb", "cccc dddd"]
    assert split_text("aaaa bbbb cccc", 10) == ["aaaa bbbb", "cccc"]
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_it_closes_and_reopens_code_fences():
    code = "intro\n\n```python\n" + "\n".join(f"line_{i}()" for i in range(30)) + "\n```\nafter"
    parts = split_text(code, 120)
    assert len(parts) > 2
    for part in parts:
        assert len(part) <= 120
        assert open_fence(part) == ""
    assert all(p.startswith("```python\n") for p in parts[2:-1])
    body_lines = [line for p in parts for line in p.split("\n") if line.startswith("line_")]
    assert body_lines == [f"line_{i}()" for i in range(30)]


@pytest.mark.parametrize("measure", [len, utf8_bytes, utf16_units, json_utf8_bytes])
def test_every_part_fits_whatever_the_unit(measure):
    text = ('混合 text with "quotes" and 😀 emoji\n' * 200) + "```\n" + "代码\n" * 300 + "```"
    parts = split_text(text, 700, measure)
    assert all(measure(p) <= 700 for p in parts)
    assert all(open_fence(p) == "" for p in parts)


def test_it_counts_javascript_units_and_json_escapes():
    assert utf16_units("a😀") == 3
    assert utf8_bytes("雨") == 3
    assert json_utf8_bytes('a"\n雨') == 1 + 2 + 2 + 3


def test_it_truncates_with_a_visible_marker():
    text = " ".join(["word"] * 100)
    result = truncate_text(text, 60)
    assert len(result) <= 60
    assert result.endswith(" " + TRUNCATED)
    assert result.startswith("word word")
    assert "wor " not in result + " "  # cut between words


def test_it_truncates_on_a_line_end_when_one_is_near():
    text = "\n".join(f"line {i}" for i in range(50))
    result = truncate_text(text, 80)
    assert result.endswith("\n" + TRUNCATED)
    assert all(line.startswith("line ") for line in result.split("\n")[:-1])


def test_it_closes_a_code_block_it_truncates():
    text = "```sql\n" + "SELECT 1;\n" * 100 + "```"
    result = truncate_text(text, 100)
    assert len(result) <= 100
    assert result.endswith("```\n" + TRUNCATED)
    assert open_fence(result) == ""


def test_it_truncates_bytes_without_breaking_characters():
    result = truncate_text("雨" * 2000, 4096, utf8_bytes)
    assert utf8_bytes(result) <= 4096
    assert result.rstrip(" " + TRUNCATED).strip("雨") == ""


def test_open_fence_tracks_nested_markers():
    assert open_fence("```\ncode\n```") == ""
    assert open_fence("text\n````md\n```\nstill inside") == "````md"
    assert open_fence("~~~\nx") == "~~~"
