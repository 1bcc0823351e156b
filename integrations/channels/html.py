"""LLM markdown rendered as HTML, for the kinds that show HTML (email, Matrix).

markdown-it-py (a CommonMark-compliant port of markdown-it, the renderer behind many
editors) rather than hand-written regexes: HTML is strict enough that a half-right
conversion shows. Raw HTML in the model's text is escaped, never passed through: a
workflow's output is not trusted markup, and a mail client or Matrix client would render
it. Tables and ~~strikethrough~~ are on, as LLMs write them.
"""

from __future__ import annotations

from functools import cache

from markdown_it import MarkdownIt


@cache
def _renderer() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "breaks": True}).enable(
        ["table", "strikethrough"]
    )


def to_html(text: str) -> str:
    """The markdown `text` as an HTML fragment (no <html> or <body>)."""
    return _renderer().render(text or "")
