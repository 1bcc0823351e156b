"""Markdown dialect conversion (pure functions)."""

from __future__ import annotations

from integrations.channels.markdown import (
    first_line,
    hard_line_breaks,
    headings_to_bold,
    to_single_star,
    to_slack,
)


def test_it_converts_emphasis_to_single_star():
    assert to_single_star("**b** *i* __u__ _k_ ~~s~~") == "*b* _i_ *u* _k_ ~s~"


def test_it_does_not_mistake_arithmetic_for_emphasis():
    assert to_single_star("2 * 3 * 4 and a*b*c") == "2 * 3 * 4 and a*b*c"


def test_it_never_touches_code():
    text = "`**x**` and\n```\n**y** # z\n- w\n```\n**v**"
    assert to_single_star(text) == "`**x**` and\n```\n**y** # z\n- w\n```\n*v*"


def test_it_turns_headings_and_star_bullets_into_safe_forms():
    assert to_single_star("### Head **x**\n* one\n  + two") == "*Head x*\n- one\n  - two"


def test_it_writes_slack_links_and_escapes():
    assert to_slack("[a & b](https://x.y/?q=1&r=<2>) <b> ![img](https://i/p.png)") == (
        "<https://x.y/?q=1&amp;r=&lt;2&gt;|a &amp; b> &lt;b&gt; <https://i/p.png|img>"
    )


def test_it_escapes_slack_control_characters_inside_code_too():
    assert to_slack("`a<b`\n```\nx && y\n```") == "`a&lt;b`\n```\nx &amp;&amp; y\n```"


def test_it_handles_an_unclosed_fence_as_code():
    assert to_slack("**b**\n```\n**not bold**") == "*b*\n```\n**not bold**"


def test_headings_to_bold_keeps_the_rest():
    assert headings_to_bold("# T\n**b** *i*\n## U ##") == "**T**\n**b** *i*\n**U**"


def test_hard_line_breaks_skip_blank_lines_and_code():
    assert hard_line_breaks("a\nb\n\nc\n```\nx\ny\n```") == "a  \nb\n\nc\n```\nx\ny\n```"


def test_first_line_is_plain_text():
    assert first_line("\n\n## **Sales** [up](https://x) 5%\nmore") == "Sales up 5%"
    assert first_line("x" * 100, limit=10) == "x" * 9 + "…"
    assert first_line("") == ""
