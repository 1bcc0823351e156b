"""Fitting text into a service's size limit: split into parts, or truncate.

Limits are counted in different units per service, so every function takes a
`measure` (text -> size): `len` for characters, `utf16_units` for JavaScript
servers, `utf8_bytes` for byte limits (WeCom), `json_utf8_bytes` when the
limit is on the JSON request body (Feishu, DingTalk, Teams).

Cuts prefer a blank line, then a line end, then a space, and never leave a
fenced code block open: a part that ends inside one closes it, and the next
part re-opens it with the same info string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

TRUNCATED = "… [truncated]"

Measure = Callable[[str], int]

_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_CLOSE_RESERVE = "\n" + "`" * 10  # room kept for closing an open fence


def utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def utf16_units(text: str) -> int:
    """String length as JavaScript counts it (astral characters count 2)."""
    return len(text.encode("utf-16-le")) // 2


def json_utf8_bytes(text: str) -> int:
    """Bytes the text takes inside a JSON string (UTF-8, escapes counted)."""
    return len(json.dumps(text, ensure_ascii=False)[1:-1].encode("utf-8"))


def split_text(text: str, limit: int, measure: Measure = len) -> list[str]:
    """Cut `text` into parts that each measure at most `limit`."""
    if measure(text) <= limit:
        return [text]
    parts: list[str] = []
    carry = ""  # fence opener to repeat at the top of the next part
    rest = text
    while True:
        chunk = carry + rest
        if measure(chunk) <= limit:
            parts.append(chunk)
            return parts
        if _longest_prefix(chunk, limit - measure(_CLOSE_RESERVE), measure) <= len(carry):
            carry, chunk = "", rest  # absurdly long fence line: stop re-opening it
        head, cut, opener = _fit_head(chunk, limit, measure, floor=len(carry), paragraphs=True)
        if not head:
            raise ValueError("limit too small to split text")
        carry = opener + "\n" if opener else ""
        parts.append(head)
        rest = chunk[cut:].lstrip("\n")
        if not rest.strip():
            return parts


def truncate_text(text: str, limit: int, measure: Measure = len, marker: str = TRUNCATED) -> str:
    """Cut `text` to `limit`, ending with a visible marker."""
    if measure(text) <= limit:
        return text
    room = limit - measure("\n" + marker)
    if room <= 0:
        return marker if measure(marker) <= limit else ""
    head, cut, opener = _fit_head(text, room, measure, floor=0, paragraphs=False)
    at_line_end = text[cut - 1 : cut] == "\n" or text[cut : cut + 1] == "\n"
    joiner = "\n" if opener or at_line_end else " "
    return head + joiner + marker if head else marker


def _fit_head(text: str, room: int, measure: Measure, *, floor: int, paragraphs: bool):
    """The longest nicely cut head of `text` within `room`, code fences closed.

    Returns (head, cut index, opener of the fence the head closed or "").
    """
    cut = _nice_cut(
        text, _longest_prefix(text, room, measure), floor=floor, prefer_paragraph=paragraphs
    )
    head = text[:cut].rstrip()
    opener = open_fence(head)
    if opener:
        # Inside a code block: cut again leaving room to close it.
        closing = "\n" + _closing(opener)
        budget = room - measure(closing)
        cut = _nice_cut(
            text, _longest_prefix(text, budget, measure), floor=floor, prefer_paragraph=paragraphs
        )
        head = text[:cut].rstrip()
        opener = open_fence(head)
        if opener:
            head += "\n" + _closing(opener)
    return head, cut, opener


def open_fence(text: str) -> str:
    """The opening line of the fenced code block `text` ends inside, or ""."""
    opener = ""
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if not match:
            continue
        fence = match.group(1)
        if not opener:
            opener = line.strip()
        elif (
            fence[0] == opener[0]
            and len(fence) >= _fence_len(opener)
            and not line.strip()[len(fence) :].strip()
        ):
            opener = ""
    return opener


def _fence_len(opener: str) -> int:
    return len(opener) - len(opener.lstrip(opener[0]))


def _closing(opener: str) -> str:
    return opener[0] * _fence_len(opener)


def _longest_prefix(text: str, budget: int, measure: Measure) -> int:
    """Largest n with measure(text[:n]) <= budget (measures grow with n)."""
    if measure is len:
        return max(0, min(len(text), budget))
    low, high = 0, min(len(text), max(budget, 0))  # every unit counts >= 1 per char
    while low < high:
        mid = (low + high + 1) // 2
        if measure(text[:mid]) <= budget:
            low = mid
        else:
            high = mid - 1
    return low


def _nice_cut(text: str, n: int, *, floor: int, prefer_paragraph: bool = True) -> int:
    """Move cut point n back to a paragraph, line or word end if one is near.

    Splitting may give up half a part to cut at a paragraph; truncating only
    gives up the last fifth, since whatever is cut there is lost.
    """
    if n >= len(text):
        return n
    keep = 0.5 if prefer_paragraph else 0.8
    lowest = floor + int((n - floor) * keep)
    separators = ("\n\n", "\n", " ") if prefer_paragraph else ("\n", " ")
    for sep in separators:
        at = text.rfind(sep, floor, n)
        if at >= lowest:
            return at + len(sep)
    return max(n, floor + 1)
