"""Inline review comments from a workflow's structured output (pure: no Django, no I/O).

The review workflow names its comments in an output (the endpoint's *comments output*,
`comments` by default) as a list of ``{path, line, body}`` with optional ``severity``,
``end_line`` and ``suggestion``. What Dify apps and LLMs really produce is accepted: a JSON
array (an array or object variable), a JSON string, or a JSON array inside a fenced block of
a text output. Each comment is checked against the diff the hub sent: its path must be in it
and its lines on the new side of a hunk (added or context). One that does not fit is not
dropped: it goes into the summary under its file, with the reason.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_COMMENTS",
    "SEVERITIES",
    "InlineComment",
    "comment_body",
    "fingerprint_of",
    "new_side_ranges",
    "parse_comments",
    "place",
    "summary_section",
]

SEVERITIES = ("high", "medium", "low", "info")
MAX_COMMENTS = 50  # a runaway model must not bury the pull request
INLINE_MARKER = "<!-- dify-hub:inline"
_FENCE = re.compile(r"```[a-zA-Z]*\s*\n(.*?)```", re.DOTALL)
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_FP = re.compile(r"<!-- dify-hub:inline fp=([0-9a-f]{16}) -->")


@dataclass(frozen=True)
class InlineComment:
    path: str
    line: int
    body: str
    severity: str = ""
    end_line: int | None = None
    suggestion: str | None = None

    @property
    def fingerprint(self) -> str:
        """The same comment on the same lines, whatever the run: it is never posted twice."""
        text = " ".join(self.body.split()).casefold()
        key = f"{self.path}\n{self.line}\n{self.end_line or self.line}\n{text}"
        return hashlib.sha256(key.encode()).hexdigest()[:16]


def parse_comments(value: Any, output: str = "comments") -> tuple[list[InlineComment], list[str]]:
    """The comments in an output, and what was wrong with the ones that are not."""
    if value is None or value == "" or value == []:
        return [], []
    items, problem = _as_list(value, output)
    if problem:
        return [], [problem]
    comments: list[InlineComment] = []
    problems: list[str] = []
    for index, item in enumerate(items, start=1):
        comment, problem = _comment(item)
        if problem:
            problems.append(f"comment {index}: {problem}")
        elif len(comments) >= MAX_COMMENTS:
            problems.append(
                f"comment {index}: more than {MAX_COMMENTS} comments; the rest are left out"
            )
            break
        else:
            comments.append(comment)
    return comments, problems


def _as_list(value: Any, output: str) -> tuple[list, str]:
    if isinstance(value, str):
        value = _json_in_text(value)
        if value is None:
            return [], (
                f"the output `{output}` is text without a JSON list of comments (a JSON "
                "array, or one in a ``` block)"
            )
    if isinstance(value, Mapping) and isinstance(value.get("comments"), list):
        value = value["comments"]
    if not isinstance(value, list):
        return [], f"the output `{output}` is {type(value).__name__}, not a list of comments"
    return value, ""


def _json_in_text(text: str) -> Any:
    for candidate in [text.strip(), *(m.strip() for m in _FENCE.findall(text))]:
        if candidate[:1] in ("[", "{"):
            try:
                return json.loads(candidate)
            except ValueError:
                continue
    return None


def _comment(item: Any) -> tuple[InlineComment | None, str]:
    if not isinstance(item, Mapping):
        return None, f"is {type(item).__name__}, not an object with path, line and body"
    path, body = item.get("path"), item.get("body")
    if not isinstance(path, str) or not path.strip():
        return None, "has no path"
    if not isinstance(body, str) or not body.strip():
        return None, "has no body"
    line, end = _line(item.get("line")), _line(item.get("end_line"))
    if line is None:
        return None, f"has no line number (found {item.get('line')!r})"
    if item.get("end_line") is not None and (end is None or end < line):
        return None, f"end_line {item.get('end_line')!r} is not a line at or after line {line}"
    severity = str(item.get("severity") or "").strip().lower()
    suggestion = item.get("suggestion")
    return InlineComment(
        path=path.strip().removeprefix("b/"),
        line=line,
        body=body.strip(),
        severity=severity if severity in SEVERITIES else "",
        end_line=end if end and end > line else None,
        suggestion=suggestion if isinstance(suggestion, str) else None,
    ), ""


def _line(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and value > 0 else None


def new_side_ranges(diff: str) -> dict[str, list[list[int]]]:
    """Per file of a unified diff, the new-side lines a comment may point at (added or
    context), as [first, last] ranges."""
    lines: dict[str, list[int]] = {}
    path, number = None, 0
    for line in diff.splitlines():
        if line.startswith("+++ "):
            target = line[4:].strip()
            path = None if target == "/dev/null" else target.removeprefix("b/")
            if path is not None:
                lines.setdefault(path, [])
            continue
        if line.startswith("diff --git "):
            path = None
            continue
        match = _HUNK.match(line)
        if match:
            number = int(match.group(1))
            continue
        if path is None or not number or line.startswith(("-", "\\")):
            continue
        if line.startswith(("+", " ")) or line == "":
            lines[path].append(number)
            number += 1
    return {p: _ranges(numbers) for p, numbers in lines.items()}


def _ranges(numbers: list[int]) -> list[list[int]]:
    ranges: list[list[int]] = []
    for n in numbers:
        if ranges and n == ranges[-1][1] + 1:
            ranges[-1][1] = n
        else:
            ranges.append([n, n])
    return ranges


def place(
    comments: Iterable[InlineComment], ranges: Mapping[str, list[list[int]]]
) -> tuple[list[InlineComment], list[tuple[InlineComment, str]]]:
    """(comments that sit on changed lines, the others with why)."""
    placed, unplaced = [], []
    for comment in comments:
        spans = ranges.get(comment.path)
        last = comment.end_line or comment.line
        if spans is None:
            unplaced.append((comment, "the file is not in the diff the review saw"))
        elif not any(a <= comment.line and last <= b for a, b in spans):
            where = (
                f"lines {comment.line}-{last}" if last != comment.line else f"line {comment.line}"
            )
            unplaced.append((comment, f"{where} is not an added or unchanged line of the diff"))
        else:
            placed.append(comment)
    return placed, unplaced


def summary_section(
    placed: list[InlineComment], unplaced: list[tuple[InlineComment, str]], problems: list[str]
) -> str:
    """What the summary note says of the inline comments (empty when there are none)."""
    parts = []
    if placed:
        parts.append(f"**Inline comments:** {_counts(placed)}.")
    if unplaced:
        parts.append("**Comments not on a changed line** (kept here):")
        by_file: dict[str, list[tuple[InlineComment, str]]] = {}
        for comment, why in unplaced:
            by_file.setdefault(comment.path, []).append((comment, why))
        for path, items in by_file.items():
            parts.append(f"- `{path}`")
            for comment, why in items:
                label = f" **{comment.severity}**" if comment.severity else ""
                parts.append(f"  - line {comment.line}{label}: {comment.body} _({why})_")
    if problems:
        parts.append("**Comments the hub could not read:** " + "; ".join(problems[:10]) + ".")
    return "\n".join(parts)


def _counts(comments: list[InlineComment]) -> str:
    tally = {s: sum(1 for c in comments if c.severity == s) for s in SEVERITIES}
    words = [f"{n} {s}" for s, n in tally.items() if n]
    plain = sum(1 for c in comments if not c.severity)
    if plain:
        words.append(f"{plain} without severity")
    return ", ".join(words)


def comment_body(comment: InlineComment, *, gitlab: bool = False) -> str:
    """The comment as posted: severity, text, a suggestion block, the hidden fingerprint.

    GitHub's suggestion block replaces the commented lines; GitLab's names how many lines
    above and below the commented one it replaces (``suggestion:-0+N``).
    """
    label = f"**{comment.severity}** · " if comment.severity else ""
    text = f"{label}{comment.body}"
    if comment.suggestion is not None:
        below = (comment.end_line or comment.line) - comment.line
        fence = f"suggestion:-0+{below}" if gitlab else "suggestion"
        text += f"\n\n```{fence}\n{comment.suggestion.rstrip()}\n```"
    return f"{text}\n\n{INLINE_MARKER} fp={comment.fingerprint} -->"


def fingerprint_of(body: str) -> str | None:
    """The fingerprint a posted comment carries, if the hub posted it."""
    match = _FP.search(body or "")
    return match.group(1) if match else None
