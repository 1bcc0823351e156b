"""The Dify inputs of a merge-request review (pure: no Django, no I/O).

The hub fills a fixed set of *standard* values (``STANDARD_INPUTS``) from the webhook event,
the MR and its diff. An endpoint's *mapping* then says which Dify variable gets what:
``{"code": "{{ diff }}", "language": "en", "strict": true}``. Variables named like a
standard value are filled without a mapping. ``fit_inputs`` keeps only what the app's form
declares and trims text to the form's ``max_length``; ``validate_inputs`` (dify.inputs) still
runs afterwards and reports anything that remains wrong.
"""

from __future__ import annotations

import math
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from integrations.dify.inputs import InputField
from integrations.placeholders import is_broken, names_in, render_text, without_names

from .events import MergeRequestEvent
from .types import FileDiff, MergeRequest

__all__ = [
    "LOCK_FILES",
    "PART_INPUTS",
    "ROUND_INPUTS",
    "change_line",
    "STANDARD_INPUTS",
    "DiffBundle",
    "build_diff",
    "check_mapping",
    "diff_budget_for",
    "fit_inputs",
    "standard_inputs",
]

STANDARD_INPUTS: dict[str, str] = {
    "forge": "Where the code lives: gitlab or github",
    "repository": "The project or repository path, e.g. payments/billing-service",
    "number": "The merge or pull request's number (342 for !342 or #342)",
    "project_path": "Same as repository (its GitLab name, kept for existing workflows)",
    "project_id": "Numeric id of the GitLab project or GitHub repository",
    "mr_iid": "Same as number (its GitLab name, kept for existing workflows)",
    "title": "Title of the merge or pull request",
    "description": "Its description (Markdown)",
    "url": "Its web address",
    "source_branch": "Branch with the changes",
    "target_branch": "Branch the changes go into",
    "author": "Username of its author",
    "action": "What asked for the review: open, reopen, new_commits, ready or review_command",
    "head_sha": "The commit that is reviewed (head of the source branch)",
    "changed_files": "One line per changed file: 'M path', 'A path', 'D path' or 'R old -> new'",
    "diff": "Unified diff of the changed files that fit the size budget",
    "omitted_files": "One line per file left out of the diff, 'path (why)'; empty if none",
    "focus": "Text after /review in the comment that asked for the review; empty otherwise",
    "new_diff": "What changed since the last reviewed head (all of it on the first review; "
    "empty when that head is reviewed again)",
    "previous_review": "The summary of the last review of this merge or pull request; empty on "
    "the first",
    "review_round": "1 for the first review of this merge or pull request, 2 for the next, …",
    "chunk": "In a review in parts, which part this run reviews (1, 2, …); empty otherwise",
    "chunks": "In a review in parts, how many parts there are; empty otherwise",
}

# Filled by integrations/forges/rounds.py, from the review's earlier rounds.
ROUND_INPUTS = ("new_diff", "previous_review", "review_round")
# Filled by integrations/forges/parts.py, for a review in parts.
PART_INPUTS = ("chunk", "chunks")

LOCK_FILES = frozenset(
    {
        "package-lock.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "poetry.lock",
        "Pipfile.lock",
        "uv.lock",
        "Cargo.lock",
        "go.sum",
        "composer.lock",
        "Gemfile.lock",
    }
)

_TEXT_TYPES = frozenset({"text-input", "paragraph"})
_DROP = object()


# --- The diff -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffBundle:
    text: str
    included: tuple[str, ...]
    omitted: tuple[tuple[str, str], ...]  # (path, why); a file cut short is in both lists


def build_diff(files: Sequence[FileDiff], budget: int) -> DiffBundle:
    """Git-style unified diff of ``files`` in at most ``budget`` characters.

    Files go in GitLab's order; one that does not fit is skipped and later, smaller ones
    still get their chance. Only a first file bigger than the whole budget is cut short,
    so a one-file MR still gets a (partial) review.
    """
    parts: list[str] = []
    included: list[str] = []
    omitted: list[tuple[str, str]] = []
    remaining = max(budget, 0)
    for f in files:
        path = f.new_path or f.old_path
        why = _skip_reason(f)
        if why:
            omitted.append((path, why))
            continue
        header, body = _file_block(f)
        size = len(header) + len(body)
        if size <= remaining:
            parts.append(header + body)
            included.append(path)
            remaining -= size
            continue
        cut = _cut_block(header, body, remaining) if not parts else None
        if cut is None:
            omitted.append((path, f"does not fit the diff budget ({size} characters)"))
            continue
        text, left_out = cut
        parts.append(text)
        included.append(path)
        omitted.append(
            (path, f"partly included: the last {left_out} of {size} characters were cut")
        )
        remaining -= len(text)
    return DiffBundle("".join(parts), tuple(included), tuple(omitted))


def _skip_reason(f: FileDiff) -> str:
    if f.left_out:
        return f.left_out
    if f.too_large:
        return "too large: GitLab left its diff out"
    if f.collapsed:
        return "collapsed by GitLab (over the instance's diff limits)"
    if f.generated_file:
        return "generated file"
    if posixpath.basename(f.new_path or f.old_path) in LOCK_FILES:
        return "lock file"
    if _is_binary(f.diff):
        return "binary file"
    if not f.diff.strip() and not f.renamed_file:
        return "no text changes (binary or mode change only)"
    return ""


def _is_binary(diff: str) -> bool:
    head = diff[:400]
    return (
        "\x00" in head
        or "GIT binary patch" in head
        or any(line.startswith("Binary files ") for line in head.splitlines()[:3])
    )


def _file_block(f: FileDiff) -> tuple[str, str]:
    """(header lines, hunks), git style; a pure rename has an empty body."""
    old, new = f.old_path or f.new_path, f.new_path or f.old_path
    lines = [f"diff --git a/{old} b/{new}"]
    if f.new_file:
        lines.append("new file")
    if f.deleted_file:
        lines.append("deleted file")
    if f.renamed_file:
        lines += [f"rename from {old}", f"rename to {new}"]
    body = f.diff if not f.diff or f.diff.endswith("\n") else f.diff + "\n"
    # With unidiff=true GitLab already sends the ---/+++ lines.
    if body.strip() and not _has_file_headers(body):
        lines.append("--- /dev/null" if f.new_file else f"--- a/{old}")
        lines.append("+++ /dev/null" if f.deleted_file else f"+++ b/{new}")
    return "\n".join(lines) + "\n", body


def _has_file_headers(body: str) -> bool:
    first = body.split("\n", 2)
    return len(first) >= 2 and first[0].startswith("--- ") and first[1].startswith("+++ ")


def _cut_marker(left_out: int) -> str:
    return f"[… cut: {left_out} more characters]\n"


def _cut_block(header: str, body: str, budget: int) -> tuple[str, int] | None:
    """(block cut to ``budget`` characters with the marker, characters left out), or None
    when not even one line fits."""
    room = budget - len(header) - len(_cut_marker(len(body)))  # marker size at its largest
    kept = _cut_point(body, room) if room > 0 else ""
    if not kept:
        return None
    left_out = len(body) - len(kept)
    return header + kept + _cut_marker(left_out), left_out


def _cut_point(body: str, room: int) -> str:
    """Longest prefix of whole lines within ``room``, ending at a hunk if that loses little."""
    window = body[:room]
    line_end = window.rfind("\n") + 1
    hunk_start = window.rfind("\n@@", 0, line_end) + 1
    # A hunk boundary reads better, but not at the price of half the text.
    if hunk_start > 0 and hunk_start >= line_end // 2:
        return body[:hunk_start]
    return body[:line_end]


# --- Standard values ------------------------------------------------------------------------


def standard_inputs(
    event: MergeRequestEvent,
    mr: MergeRequest | None,
    diff: DiffBundle,
    files: Sequence[FileDiff],
) -> dict[str, str]:
    """Every ``STANDARD_INPUTS`` value but the ``ROUND_INPUTS`` and ``PART_INPUTS`` as a
    string; ``mr`` (fetched now) wins over the event."""
    return {
        "forge": "gitlab",
        "repository": event.project_path,
        "number": str(event.iid),
        "project_path": event.project_path,
        "project_id": str(event.project_id),
        "mr_iid": str(event.iid),
        "title": mr.title if mr else event.title,
        "description": mr.description if mr else event.description,
        "url": (mr.web_url if mr else "") or event.url,
        "source_branch": mr.source_branch if mr else event.source_branch,
        "target_branch": mr.target_branch if mr else event.target_branch,
        "author": (mr.author_username if mr else "") or event.actor_username,
        "action": _action(event),
        "head_sha": event.head_sha or (mr.sha if mr else ""),
        "changed_files": "\n".join(change_line(f) for f in files),
        "diff": diff.text,
        "omitted_files": "\n".join(f"{path} ({why})" for path, why in diff.omitted),
        "focus": event.focus,
    }


def _action(event: MergeRequestEvent) -> str:
    """The trigger name, a stable word a workflow can branch on."""
    if event.action == "note":
        return "review_command"
    if event.action == "update":
        return "new_commits" if event.oldrev else "ready"
    return event.action


def change_line(f: FileDiff) -> str:
    if f.new_file:
        return f"A {f.new_path}"
    if f.deleted_file:
        return f"D {f.old_path or f.new_path}"
    if f.renamed_file:
        return f"R {f.old_path} -> {f.new_path}"
    return f"M {f.new_path or f.old_path}"


# --- Mapping onto the app's form ------------------------------------------------------------


def fit_inputs(
    values: Mapping[str, str], form: Sequence[InputField], mapping: Mapping[str, Any]
) -> dict[str, Any]:
    """The inputs to send: standard values overlaid by the rendered mapping, fitted to ``form``.

    * An empty form means the app declares no inputs, so nothing is sent.
    * Variables the form does not declare are dropped (Dify would drop them silently).
    * Text is cut to the field's ``max_length``; numbers and booleans given for a text field
      become text.
    * A select value that is not one of the options is dropped when the field is optional,
      so Dify uses its default instead of failing a background review over it; for a
      required field it is kept, so validation names the bad value instead of saying
      "missing".
    """
    if not form:
        return {}
    merged: dict[str, Any] = dict(values)
    mapping = mapping if isinstance(mapping, Mapping) else {}
    for name, spec in mapping.items():
        if isinstance(name, str):
            merged[name] = render_text(spec, values) if isinstance(spec, str) else spec
    result: dict[str, Any] = {}
    for f in form:
        if f.variable in merged:
            value = _fit_value(f, merged[f.variable])
            if value is not _DROP:
                result[f.variable] = value
    return result


def _fit_value(f: InputField, value: Any) -> Any:
    if f.type in _TEXT_TYPES:
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            value = str(value)
        return _cut_text(value, f.max_length) if isinstance(value, str) else value
    if f.type == "select" and not f.required and value not in f.options:
        return _DROP
    return value


def _cut_text(text: str, max_length: int | None) -> str:
    if max_length is None or len(text) <= max_length:
        return text
    return text[: max_length - 1] + "…" if max_length > 1 else text[:max_length]


def check_mapping(mapping: Any, form: Sequence[InputField] | None) -> list[str]:
    """Problems with an endpoint's input mapping, for the admin form (empty list = fine).

    ``mapping`` None means no mapping (a cleared JSON field). ``form`` None means the app's
    form is not known yet; the checks against it are skipped.
    """
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, Mapping):
        return ['the input mapping must be a JSON object: {"dify variable": "template or value"}']
    declared = {f.variable: f for f in form} if form is not None else None
    errors: list[str] = []
    for key, spec in mapping.items():
        if not isinstance(key, str) or not key.strip():
            errors.append(f"{key!r}: a variable name must be a non-empty string")
            continue
        errors += _value_errors(key, spec)
        if declared is not None:
            errors += _form_errors(key, spec, declared)
    if declared is not None:
        errors += _unfilled_required(mapping, declared)
    return errors


def _value_errors(key: str, spec: Any) -> list[str]:
    if isinstance(spec, bool):
        return []
    if isinstance(spec, (int, float)):
        return [] if math.isfinite(spec) else [f"{key}: numbers must be finite"]
    if not isinstance(spec, str):
        kind = "nothing (null)" if spec is None else f"a {type(spec).__name__}"
        return [f"{key}: must be a text template, a number or true/false, not {kind}"]
    unknown = sorted(set(names_in(spec)) - set(STANDARD_INPUTS))
    errors = [
        f"{key}: unknown placeholder {{{{ {name} }}}}; available: " + ", ".join(STANDARD_INPUTS)
        for name in unknown
    ]
    if is_broken(spec):
        errors.append(f"{key}: broken placeholder; write values as {{{{ diff }}}}")
    return errors


def _form_errors(key: str, spec: Any, declared: Mapping[str, InputField]) -> list[str]:
    f = declared.get(key)
    if f is None:
        names = ", ".join(declared) or "none"
        return [f"{key}: the Dify app has no input of that name (its inputs: {names})"]
    literal = isinstance(spec, str) and not names_in(spec)
    if f.type == "select" and literal and spec not in f.options:
        return [f"{key}: {spec!r} is not one of the options {f.options}"]
    return []


def _unfilled_required(mapping: Mapping, declared: Mapping[str, InputField]) -> list[str]:
    return [
        f"{name}: the Dify app requires this input but nothing fills it; "
        "map it to a value or a template such as {{ diff }}"
        for name, f in declared.items()
        if f.required and name not in mapping and name not in STANDARD_INPUTS
    ]


def diff_budget_for(form: Sequence[InputField] | None, mapping: Any, default_budget: int) -> int:
    """The diff budget so every text field that receives ``{{ diff }}`` stays within max_length.

    A field receives the diff through the mapping, or by being called ``diff`` and not
    mapped. The template's own literal text is subtracted; other placeholders are not (their
    length is unknown here) and ``fit_inputs`` trims whatever is still too long.
    """
    mapping = mapping if isinstance(mapping, Mapping) else {}
    budget = default_budget
    for f in form or ():
        spec = mapping.get(f.variable, "{{ diff }}" if f.variable == "diff" else None)
        if f.type not in _TEXT_TYPES or f.max_length is None or not isinstance(spec, str):
            continue
        uses = names_in(spec).count("diff")
        if uses:
            room = f.max_length - len(without_names(spec))
            budget = min(budget, max(room // uses, 0))
    return budget
