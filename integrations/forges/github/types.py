"""What the GitHub client reads from the REST API, as plain values (pure).

Each ``parse_*`` takes the decoded JSON of one item and raises :class:`Shape` when it is not
what GitHub documents ("Pulls", "Issue comments", "Users" in the REST reference).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Comment",
    "FileDiff",
    "PullRequest",
    "Shape",
    "User",
    "parse_comment",
    "parse_file",
    "parse_pull_request",
    "parse_user",
]


class Shape(ValueError):
    """The JSON is not shaped as GitHub documents it."""


@dataclass(frozen=True)
class User:
    id: int
    login: str
    type: str  # User | Bot | Organization


@dataclass(frozen=True)
class PullRequest:
    number: int
    title: str
    body: str
    state: str  # open | closed
    draft: bool
    merged: bool
    head_sha: str
    base_sha: str
    source_branch: str
    target_branch: str
    url: str
    author: str
    changed_files: int


@dataclass(frozen=True)
class FileDiff:
    path: str
    old_path: str
    status: str  # added | removed | modified | renamed | copied | changed | unchanged
    patch: str | None  # absent for binary files and for diffs GitHub finds too large
    additions: int
    deletions: int


@dataclass(frozen=True)
class Comment:
    id: int
    body: str
    author: str
    url: str


def _object(data: Any, what: str) -> Mapping:
    if not isinstance(data, Mapping):
        raise Shape(f"{what} is not a JSON object")
    return data


def _int(data: Mapping, key: str, what: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Shape(f"{what} has no integer {key}")
    return value


def _str(data: Mapping, key: str, what: str, *, required: bool = True) -> str:
    value = data.get(key)
    if isinstance(value, str):
        return value
    if value is None and not required:
        return ""
    raise Shape(f"{what} has no {key}")


def _login(data: Mapping) -> str:
    user = data.get("user")
    return user.get("login", "") if isinstance(user, Mapping) else ""


def parse_user(data: Any) -> User:
    user = _object(data, "the user")
    return User(
        _int(user, "id", "the user"),
        _str(user, "login", "the user"),
        str(user.get("type") or "User"),
    )


def parse_pull_request(data: Any) -> PullRequest:
    pr = _object(data, "the pull request")
    head = _object(pr.get("head"), "the pull request's head")
    base = _object(pr.get("base"), "the pull request's base")
    return PullRequest(
        number=_int(pr, "number", "the pull request"),
        title=_str(pr, "title", "the pull request"),
        body=_str(pr, "body", "the pull request", required=False),
        state=_str(pr, "state", "the pull request"),
        draft=pr.get("draft") is True,
        merged=pr.get("merged") is True,
        head_sha=_str(head, "sha", "the pull request's head"),
        base_sha=_str(base, "sha", "the pull request's base"),
        source_branch=_str(head, "ref", "the pull request's head"),
        target_branch=_str(base, "ref", "the pull request's base"),
        url=_str(pr, "html_url", "the pull request", required=False),
        author=_login(pr),
        changed_files=pr.get("changed_files") if isinstance(pr.get("changed_files"), int) else 0,
    )


def parse_file(data: Any) -> FileDiff:
    item = _object(data, "a changed file")
    path = _str(item, "filename", "a changed file")
    patch = item.get("patch")
    return FileDiff(
        path=path,
        old_path=_str(item, "previous_filename", "a changed file", required=False) or path,
        status=_str(item, "status", "a changed file"),
        patch=patch if isinstance(patch, str) else None,
        additions=item.get("additions") if isinstance(item.get("additions"), int) else 0,
        deletions=item.get("deletions") if isinstance(item.get("deletions"), int) else 0,
    )


def parse_comment(data: Any) -> Comment:
    item = _object(data, "the comment")
    return Comment(
        id=_int(item, "id", "the comment"),
        body=_str(item, "body", "the comment", required=False),
        author=_login(item),
        url=_str(item, "html_url", "the comment", required=False),
    )
