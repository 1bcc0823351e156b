"""The model's markdown as styled spans of visible text: parsed once with markdown-it-py,
then measured and split before any markup is written, so that no part can end inside a tag,
an escape or an entity. Telegram writes the spans as HTML or MarkdownV2; LINE, which shows
plain text, reads only their text.

The spans follow Telegram's nesting rules (https://core.telegram.org/bots/api#formatting-
options): `pre` and `code` hold no other entity, and a link never holds `code`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

from .sizing import Measure, utf16_units

_LINK_SCHEMES = ("http://", "https://", "tg://")  # what Telegram takes as a text link


# -- markdown -> styled spans ---------------------------------------------------------------

Mark = tuple[str, str]  # ("b", ""), ("i", ""), ("s", ""), ("code", ""), ("pre", lang), ("a", url)
BOLD: Mark = ("b", "")
ITALIC: Mark = ("i", "")


@dataclass(frozen=True)
class Span:
    """A run of visible text and the entities around it, outermost first."""

    text: str
    marks: tuple[Mark, ...] = ()


@cache
def _parser() -> MarkdownIt:
    # The same dialect as html.py: CommonMark, raw HTML shown as text, tables, ~~strike~~.
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def markdown_spans(text: str) -> list[Span]:
    """The LLM markdown `text` as styled spans (what Telegram will show, entity by entity)."""
    writer = _SpanWriter()
    writer.walk(_parser().parse(text or ""))
    return writer.spans


def _allowed(marks: list[Mark]) -> tuple[Mark, ...]:
    """The marks Telegram can nest: pre and code hold nothing else; a link cannot hold code
    (the link is worth more than the monospace)."""
    kinds = [kind for kind, _ in marks]
    if "pre" in kinds:
        return (marks[kinds.index("pre")],)
    if "code" in kinds:
        return tuple(m for m in marks if m[0] != "code") if "a" in kinds else (("code", ""),)
    return tuple(marks)


class _SpanWriter:
    """Walks markdown-it's token stream (blocks, then each block's inline children)."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.marks: list[Mark] = []
        self.pushed: list[bool] = []  # per open token: did it add a mark (not a repeat)?
        self.prefixes: list[str] = []  # what starts each new line: list indents, quote bars
        self.breaks = 0  # newlines owed before the next text (trailing ones are dropped)
        self.line_start = True
        self.item_start = False  # just wrote a list marker: the item's paragraph follows it
        self.cells = 0
        self.lists = 0

    def walk(self, tokens: list[Token]) -> None:
        for token in tokens:
            handler = getattr(self, "on_" + token.type, None)
            if handler is not None:
                handler(token)
            elif token.children is not None:
                self.walk(token.children)
            elif token.content:
                self.text(token.content)

    # -- writing ------------------------------------------------------------------------

    def text(self, text: str, marks: tuple[Mark, ...] | None = None, prefix: bool = True) -> None:
        """Write `text` (with the current marks unless given) after the owed line breaks and
        the line prefix."""
        if not text:
            return
        # Line breaks and prefixes carry no marks: a heading's bold starts on its own line.
        if self.breaks and self.spans:
            self.append("\n" * self.breaks, ())
            self.line_start = True
        self.breaks = 0
        if self.line_start and prefix and self.prefixes:
            self.append("".join(self.prefixes), ())
        self.line_start = self.item_start = False
        self.append(text, marks)

    def append(self, text: str, marks: tuple[Mark, ...] | None = None) -> None:
        marks = _allowed(self.marks) if marks is None else marks
        if self.spans and self.spans[-1].marks == marks:
            self.spans[-1] = Span(self.spans[-1].text + text, marks)
        else:
            self.spans.append(Span(text, marks))

    def block(self) -> None:
        if self.spans and not self.item_start:
            self.breaks = 2

    def line(self) -> None:
        self.breaks = max(self.breaks, 1)

    def push(self, mark: Mark | None) -> None:
        added = mark is not None and mark not in self.marks  # `# **Title**` is bold once
        if added:
            self.marks.append(mark)
        self.pushed.append(added)

    def pop(self, _token: Token | None = None) -> None:
        if self.pushed.pop():
            self.marks.pop()

    # -- blocks -------------------------------------------------------------------------

    def on_paragraph_open(self, token: Token) -> None:
        if not token.hidden:  # paragraphs of tight list items are hidden
            self.block()

    def on_heading_open(self, token: Token) -> None:
        self.block()
        self.push(BOLD)

    on_heading_close = pop

    def on_bullet_list_open(self, token: Token) -> None:
        if not self.lists:  # a nested list starts on the next line of its item
            self.block()
        self.lists += 1

    on_ordered_list_open = on_bullet_list_open

    def on_bullet_list_close(self, token: Token) -> None:
        self.lists -= 1

    on_ordered_list_close = on_bullet_list_close

    def on_list_item_open(self, token: Token) -> None:
        # markdown-it gives an ordered item's number in `info` and its "." or ")" in `markup`.
        marker = f"{token.info}{token.markup} " if token.info else "• "
        self.line()
        self.text(marker)
        self.item_start = True
        self.prefixes.append(" " * len(marker))

    def on_list_item_close(self, token: Token) -> None:
        self.prefixes.pop()

    def on_blockquote_open(self, token: Token) -> None:
        self.block()
        self.prefixes.append("> ")

    on_blockquote_close = on_list_item_close

    def on_fence(self, token: Token) -> None:
        self.block()
        # The info string's first word is the language ("```python title=x" -> python).
        language = re.sub(r"[^\w#+.-]", "", (token.info.split() or [""])[0])[:32]
        code = token.content.rstrip("\n") or " "
        self.text(code, (("pre", language),), prefix=False)  # a list indent is no code

    on_code_block = on_fence

    def on_hr(self, token: Token) -> None:
        self.block()
        self.text("———")

    def on_table_open(self, token: Token) -> None:
        self.block()

    def on_tr_open(self, token: Token) -> None:
        self.line()
        self.cells = 0

    def on_th_open(self, token: Token) -> None:
        self.on_td_open(token)
        self.push(BOLD)

    on_th_close = pop

    def on_td_open(self, token: Token) -> None:
        if self.cells:
            self.text(" | ")
        self.cells += 1

    # -- inline -------------------------------------------------------------------------

    def on_softbreak(self, token: Token) -> None:
        self.line()

    on_hardbreak = on_softbreak

    def on_strong_open(self, token: Token) -> None:
        self.push(BOLD)

    def on_em_open(self, token: Token) -> None:
        self.push(ITALIC)

    def on_s_open(self, token: Token) -> None:
        self.push(("s", ""))

    on_strong_close = on_em_close = on_s_close = pop

    def on_code_inline(self, token: Token) -> None:
        self.push(("code", ""))
        self.text(token.content)
        self.pop()

    def on_link_open(self, token: Token) -> None:
        self.push(_link(token.attrs.get("href")))

    on_link_close = pop

    def on_image(self, token: Token) -> None:
        self.push(_link(token.attrs.get("src")))  # the alt text, linked to the picture
        self.text(token.content or "image")
        self.pop()


def _link(url: object) -> Mark | None:
    """A text link, for the URLs Telegram takes (a relative link is plain text)."""
    url = str(url or "")
    return ("a", url) if url.startswith(_LINK_SCHEMES) else None


# -- splitting ------------------------------------------------------------------------------


def split_spans(spans: list[Span], limit: int, measure: Measure = utf16_units) -> list[list[Span]]:
    """Cut spans into parts whose visible text measures at most `limit`, preferring a blank
    line, then a line end, then a space (sizing.py's rule)."""
    parts: list[list[Span]] = []
    rest = spans
    while True:
        text = "".join(span.text for span in rest)
        if measure(text) <= limit:
            return [*parts, rest] if text.strip() or not parts else parts
        cut = _cut_point(text, limit, measure)
        head, rest = _slice(rest, cut)
        parts.append(_strip(head, trailing=True))
        rest = _strip(rest, trailing=False)


def _cut_point(text: str, limit: int, measure: Measure) -> int:
    low, high = 0, min(len(text), limit)  # every character counts at least 1
    while low < high:  # the longest prefix that fits
        mid = (low + high + 1) // 2
        low, high = (mid, high) if measure(text[:mid]) <= limit else (low, mid - 1)
    for separator in ("\n\n", "\n", " "):
        at = text.rfind(separator, 0, low)
        if at >= low // 2:  # give up at most half a part for a nicer cut
            return at + len(separator)
    return max(low, 1)


def _slice(spans: list[Span], cut: int) -> tuple[list[Span], list[Span]]:
    head: list[Span] = []
    for index, span in enumerate(spans):
        if cut < len(span.text):
            if cut:
                head.append(Span(span.text[:cut], span.marks))
            return head, [Span(span.text[cut:], span.marks), *spans[index + 1 :]]
        head.append(span)
        cut -= len(span.text)
    return head, []


def _strip(spans: list[Span], *, trailing: bool) -> list[Span]:
    """Drop the whitespace at a cut: trailing blanks of a head, leading newlines of a tail
    (not leading spaces: they may be a code line's indentation)."""
    spans = list(spans)
    while spans:
        index = -1 if trailing else 0
        span = spans[index]
        text = span.text.rstrip() if trailing else span.text.lstrip("\n")
        if text:
            spans[index] = Span(text, span.marks)
            break
        spans.pop(index)
    return spans
