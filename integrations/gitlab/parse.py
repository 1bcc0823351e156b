"""GitLab's JSON answers turned into the value types of :mod:`.types`.

Only the fields the reviewer reads are taken; a field of the wrong type raises
:class:`Shape`, which the client reports as ``GitLabBadResponse`` (GitLab answered, but
not with what its API documents).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .types import Discussion, FileDiff, MergeRequest, Note, User

__all__ = [
    "Shape",
    "parse_discussion",
    "parse_file_diff",
    "parse_merge_request",
    "parse_note",
    "parse_user",
]


class Shape(ValueError):
    """The JSON is not what GitLab documents (becomes GitLabBadResponse)."""


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Shape(f"field {key!r} is missing or not an integer")
    return value


def _str(data: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = data.get(key)
    if isinstance(value, str):
        return value
    if value is None and not required:
        return ""
    raise Shape(f"field {key!r} is missing or not a string")


def _bool(data: Mapping[str, Any], key: str) -> bool:
    return data.get(key) is True  # GitLab treats null booleans as false


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise Shape(f"expected {what} (a JSON object), got {type(value).__name__}")
    return value


def parse_user(data: Any) -> User:
    data = _mapping(data, "a user")
    return User(
        id=_int(data, "id"),
        username=_str(data, "username", required=True),
        name=_str(data, "name"),
        bot=_bool(data, "bot"),
    )


def parse_merge_request(data: Any) -> MergeRequest:
    data = _mapping(data, "a merge request")
    author = data.get("author") if isinstance(data.get("author"), Mapping) else {}
    refs = data.get("diff_refs") if isinstance(data.get("diff_refs"), Mapping) else {}
    draft = data["draft"] if "draft" in data else data.get("work_in_progress")
    prepared = data.get("prepared_at")
    return MergeRequest(
        project_id=_int(data, "project_id"),
        iid=_int(data, "iid"),
        title=_str(data, "title"),
        description=_str(data, "description"),
        state=_str(data, "state", required=True),
        draft=draft is True,
        web_url=_str(data, "web_url"),
        source_branch=_str(data, "source_branch"),
        target_branch=_str(data, "target_branch"),
        author_username=_str(author, "username"),
        author_name=_str(author, "name"),
        sha=_str(data, "sha"),
        base_sha=_str(refs, "base_sha"),
        start_sha=_str(refs, "start_sha"),
        head_sha=_str(refs, "head_sha"),
        prepared_at=prepared if isinstance(prepared, str) and prepared else None,
        author_id=author.get("id") if isinstance(author.get("id"), int) else 0,
        detailed_merge_status=_str(data, "detailed_merge_status"),
        reference=_str(refs_of(data), "full"),
    )


def refs_of(data: Mapping[str, Any]) -> Mapping[str, Any]:
    references = data.get("references")
    return references if isinstance(references, Mapping) else {}


def parse_file_diff(data: Any) -> FileDiff:
    data = _mapping(data, "a file diff")
    return FileDiff(
        old_path=_str(data, "old_path", required=True),
        new_path=_str(data, "new_path", required=True),
        diff=_str(data, "diff"),
        new_file=_bool(data, "new_file"),
        renamed_file=_bool(data, "renamed_file"),
        deleted_file=_bool(data, "deleted_file"),
        generated_file=_bool(data, "generated_file"),
        too_large=_bool(data, "too_large"),
        collapsed=_bool(data, "collapsed"),
    )


def parse_discussion(data: Any) -> Discussion:
    data = _mapping(data, "a discussion")
    notes = data.get("notes")
    if not isinstance(notes, list) or not notes:
        raise Shape("a discussion has no notes")
    first = parse_note(notes[0])
    resolved = bool(isinstance(notes[0], Mapping) and notes[0].get("resolved") is True)
    return Discussion(
        id=_str(data, "id"), body=first.body, author_id=first.author_id, resolved=resolved
    )


def parse_note(data: Any) -> Note:
    data = _mapping(data, "a note")
    author = _mapping(data.get("author"), "a note author")
    return Note(
        id=_int(data, "id"),
        body=_str(data, "body"),
        author_id=_int(author, "id"),
        author_username=_str(author, "username"),
        system=_bool(data, "system"),
        created_at=_str(data, "created_at"),
        updated_at=_str(data, "updated_at"),
    )
