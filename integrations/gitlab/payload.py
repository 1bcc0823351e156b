"""A GitLab webhook payload read into a :class:`MergeRequestEvent` (pure: no Django, no I/O).

Both hooks carry the merge request: the Merge Request Hook in ``object_attributes``, the
Note Hook in ``merge_request``. Field names changed over GitLab's versions (``draft`` since
14.x, ``work_in_progress`` before; ``target_project_id`` where ``project`` is missing), so
each value is looked up along the paths real servers have sent, and a key the review cannot
do without raises :class:`Missing` with a reason for the event's record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["Missing", "MergeRequestEvent", "as_int", "event_from", "has_draft_prefix"]

# GitLab's own prefixes (current "Draft:", "[Draft]", "(Draft)"; "WIP:"/"[WIP]" before 14.0).
_DRAFT_PREFIX = re.compile(r"^\s*(?:\[draft\]|\(draft\)|draft:|\[wip\]|wip:)", re.IGNORECASE)
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1, or SHA-256 repositories
_ABSENT = object()


@dataclass(frozen=True)
class MergeRequestEvent:
    """What the review needs from the payload; stored as JSON on the Run."""

    project_id: int
    project_path: str
    project_url: str
    iid: int
    mr_id: int  # global id; 0 when the payload lacks it
    title: str
    description: str
    url: str
    source_branch: str
    target_branch: str
    author_id: int | None
    actor_username: str  # who caused the event (pushed, opened, commented)
    actor_id: int | None
    action: str  # open | reopen | update | note (or the ignored action, e.g. close)
    head_sha: str  # "" when the payload has no usable last_commit.id
    oldrev: str
    draft: bool
    state: str
    focus: str  # text after "/review"
    note_id: int | None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MergeRequestEvent:
        """Inverse of ``to_dict``; unknown keys are ignored, missing optional ones get blanks."""
        values = {}
        for f in fields(cls):
            if f.name in data:
                values[f.name] = data[f.name]
            elif f.name in ("project_id", "iid"):
                raise ValueError(f"merge request event has no {f.name}")
            else:
                values[f.name] = _BLANKS[f.type]
        return cls(**values)

    @property
    def merge_request_key(self) -> str:
        return f"{self.project_id}!{self.iid}"

    @property
    def ref(self) -> str:
        return f"MR !{self.iid}"

    @property
    def short_ref(self) -> str:
        return f"!{self.iid}"

    @property
    def reference(self) -> str:
        return f"{self.project_path}!{self.iid}"


_BLANKS = {"str": "", "int": 0, "bool": False, "int | None": None}


def has_draft_prefix(title: str) -> bool:
    return bool(_DRAFT_PREFIX.match(title))


class Missing(Exception):
    """A key the event cannot do without is absent or has the wrong type."""

    def __init__(self, path: str, found: Any = _ABSENT) -> None:
        if found is _ABSENT or found is None:
            self.reason = f"payload has no {path}"
        else:
            self.reason = (
                f"payload has no valid {path} (found {type(found).__name__} {found!r:.40})"
            )
        super().__init__(self.reason)


def _lookup(payload: Mapping, path: str) -> Any:
    value: Any = payload
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return _ABSENT
        value = value[key]
    return value


def as_int(value: Any) -> int | None:
    # bool is an int in Python, never in GitLab's JSON.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _required_int(payload: Mapping, *paths: str) -> int:
    for path in paths:
        number = as_int(_lookup(payload, path))
        if number is not None and number > 0:  # GitLab ids and iids start at 1
            return number
    raise Missing(paths[0], _lookup(payload, paths[0]))


def _text(payload: Mapping, *paths: str) -> str:
    for path in paths:
        value = _lookup(payload, path)
        if isinstance(value, str) and value:
            return value
    return ""


def _sha(payload: Mapping, path: str) -> str:
    value = _lookup(payload, path)
    if isinstance(value, str) and _SHA.fullmatch(value.strip().lower()):
        return value.strip().lower()
    return ""


def _draft(payload: Mapping, block: str, title: str) -> bool:
    # `draft` since 14.x, `work_in_progress` before; the oldest servers only had the prefix.
    for key in ("draft", "work_in_progress"):
        value = _lookup(payload, f"{block}.{key}")
        if isinstance(value, bool):
            return value
    return has_draft_prefix(title)


def event_from(payload: Mapping, block: str, note_id: int | None = None) -> MergeRequestEvent:
    """Build the event from the MR block: ``object_attributes`` (MR hook) or ``merge_request``."""
    if not isinstance(payload.get(block), Mapping):
        raise Missing(block, payload.get(block))
    project_id = _required_int(payload, "project.id", f"{block}.target_project_id", "project_id")
    iid = _required_int(payload, f"{block}.iid")
    project_url = _text(payload, "project.web_url", f"{block}.target.web_url")
    fallback_url = f"{project_url}/-/merge_requests/{iid}" if project_url else ""
    title = _text(payload, f"{block}.title")
    is_note = block == "merge_request"
    return MergeRequestEvent(
        project_id=project_id,
        project_path=_text(
            payload, "project.path_with_namespace", f"{block}.target.path_with_namespace"
        ),
        project_url=project_url,
        iid=iid,
        mr_id=as_int(_lookup(payload, f"{block}.id")) or 0,
        title=title,
        description=_text(payload, f"{block}.description"),
        url=_text(payload, f"{block}.url") or fallback_url,
        source_branch=_text(payload, f"{block}.source_branch"),
        target_branch=_text(payload, f"{block}.target_branch"),
        author_id=as_int(_lookup(payload, f"{block}.author_id")),
        actor_username=_text(payload, "user.username"),
        actor_id=as_int(_lookup(payload, "user.id")),
        action="note" if is_note else _text(payload, f"{block}.action"),
        head_sha=_sha(payload, f"{block}.last_commit.id"),
        oldrev="" if is_note else _sha(payload, f"{block}.oldrev"),
        draft=_draft(payload, block, title),
        state=_text(payload, f"{block}.state"),
        focus="",
        note_id=note_id,
    )
