"""A succeeded review's inline comments, read from its outputs and checked against the diff
it was sent (the new-side lines stored with the run when the diff was built)."""

from __future__ import annotations

from integrations.forges import inline
from integrations.models import Run


def inline_comments(run: Run) -> tuple[list, list, list[str]]:
    """(placed, unplaced with why, problems) for the endpoint's comments output."""
    endpoint = run.review_endpoint
    key = endpoint.comments_output if endpoint is not None else ""
    if not key:
        return [], [], []
    comments, problems = inline.parse_comments((run.outputs or {}).get(key), key)
    placed, unplaced = inline.place(comments, (run.context or {}).get("diff_lines") or {})
    return placed, unplaced, problems


def with_inline_section(run: Run, text: str, *, posted_inline: bool) -> str:
    """The summary's text with what it says of the inline comments; when they are not posted
    on the lines (the endpoint posts nothing on the pull request), they are listed here."""
    placed, unplaced, problems = inline_comments(run)
    if not posted_inline:
        why = "listed here: the endpoint does not post on the pull request"
        unplaced, placed = [(c, why) for c in placed] + unplaced, []
    section = inline.summary_section(placed, unplaced, problems)
    return f"{text}\n\n{section}" if section else text
