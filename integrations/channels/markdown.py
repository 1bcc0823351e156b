"""Converting LLM markdown (CommonMark-ish) into each chat's dialect.

All functions are pure. Code is never rewritten: fenced blocks and inline code
spans are set aside before a conversion and put back afterwards (Slack still
needs &, <, > escaped inside code, so `transform` takes a separate code hook).
"""

from __future__ import annotations

import re
from collections.abc import Callable

_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_INLINE_CODE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")
_SLOT = "\ue000{}\ue001"  # private-use characters: never in real text
_SLOT_RE = re.compile("\ue000(\\d+)\ue001")

_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_BULLET = re.compile(r"^([ \t]*)[*+-][ \t]+(?=\S)", re.MULTILINE)
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_ITALIC_STAR = re.compile(r"(?<![*\w\\])\*(?=[^\s*])(.+?)(?<=[^\s*\\])\*(?![*\w])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_LINK = re.compile(
    r"!?\[([^\]\n]+)\]\(\s*<?([^\s<>()]+(?:\([^\s()]*\))?[^\s<>()]*)>?(?:\s+\"[^\"]*\")?\s*\)"
)
_BOLD_MARK = "\ue002"  # stands for a bold asterisk while italics are converted


def transform(
    text: str,
    prose: Callable[[str], str],
    code: Callable[[str], str] = lambda s: s,
) -> str:
    """Apply `prose` to everything but code, and `code` to the code."""
    out: list[str] = []
    for is_code, chunk in _split_fenced(text):
        out.append(code(chunk) if is_code else _map_inline(chunk, prose, code))
    return "".join(out)


def headings_to_bold(text: str, marker: str = "**") -> str:
    """`# Title` -> `**Title**` for dialects without headings."""

    def bold(match: re.Match) -> str:
        inner = match.group(1).replace("**", "").replace("__", "")
        return f"{marker}{inner}{marker}"

    return transform(text, lambda s: _HEADING.sub(bold, s))


def to_single_star(text: str, bullet: str = "-") -> str:
    """Rocket.Chat-style emphasis: *bold*, _italic_, ~strike~.

    Headings become bold lines; `* item` bullets become `bullet item` so they
    are not mistaken for emphasis.
    """
    return transform(text, lambda s: _single_star_prose(s, bullet))


def to_slack(text: str) -> str:
    """Slack mrkdwn: escape &<>, single-star emphasis, <url|label> links."""

    def prose(s: str) -> str:
        s = escape_slack(s)
        s = _LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1).replace('|', '/')}>", s)
        return _single_star_prose(s, "•")

    return transform(text, prose, escape_slack)


def escape_slack(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def hard_line_breaks(text: str) -> str:
    """End prose lines with two spaces so renderers keep single line breaks."""

    def prose(s: str) -> str:
        return re.sub(r"(?<=\S)[ \t]*\n(?=[^\n])", "  \n", s)

    return transform(text, prose)


def first_line(text: str, limit: int = 60) -> str:
    """A plain one-line summary (for notification previews)."""
    for line in text.splitlines():
        line = _HEADING.sub(r"\1", line)
        line = _LINK.sub(r"\1", line)
        line = re.sub(r"[*_~`>#]+", "", line).strip(" -•")
        if line:
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


# -- internals -------------------------------------------------------------


def _single_star_prose(s: str, bullet: str) -> str:
    s = _HEADING.sub(lambda m: _BOLD_MARK + m.group(1).replace("**", "") + _BOLD_MARK, s)
    s = _BULLET.sub(lambda m: f"{m.group(1)}{bullet} ", s)
    s = _BOLD.sub(lambda m: _BOLD_MARK + (m.group(1) or m.group(2)) + _BOLD_MARK, s)
    s = _ITALIC_STAR.sub(r"_\1_", s)
    s = _STRIKE.sub(r"~\1~", s)
    return s.replace(_BOLD_MARK, "*")


def _split_fenced(text: str) -> list[tuple[bool, str]]:
    """Cut text into (is_code, chunk) pieces at fenced code blocks."""
    pieces: list[tuple[bool, str]] = []
    prose: list[str] = []
    block: list[str] = []
    fence = ""
    for line in text.splitlines(keepends=True):
        match = _FENCE.match(line)
        if not fence:
            if match:
                if prose:
                    pieces.append((False, "".join(prose)))
                    prose = []
                fence = match.group(1)
                block = [line]
            else:
                prose.append(line)
            continue
        block.append(line)
        closing = match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence)
        if closing and not line.strip()[len(match.group(1)) :].strip():
            pieces.append((True, "".join(block)))
            fence, block = "", []
    if block:
        pieces.append((True, "".join(block)))
    if prose:
        pieces.append((False, "".join(prose)))
    return pieces


def _map_inline(text: str, prose: Callable[[str], str], code: Callable[[str], str]) -> str:
    spans: list[str] = []

    def park(match: re.Match) -> str:
        spans.append(code(match.group(0)))
        return _SLOT.format(len(spans) - 1)

    parked = _INLINE_CODE.sub(park, text)
    converted = prose(parked)
    return _SLOT_RE.sub(lambda m: spans[int(m.group(1))], converted)
