"""A GitHub webhook payload read into a :class:`PullRequestEvent` (pure: no Django, no I/O).

``pull_request`` deliveries carry the whole pull request (head and base with their SHAs);
``issue_comment`` deliveries carry only the issue side of it (number, title, state, and an
``issue.pull_request`` object of URLs), so their branches and head are read from the API
when the review starts. Shapes: GitHub's "Webhook events and payloads" and the octokit
examples in tests/fixtures/github/webhooks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["Missing", "PullRequestEvent", "from_comment", "from_pull_request"]

_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


class Missing(Exception):
    """A key the review cannot do without is missing or of the wrong type."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PullRequestEvent:
    """What the review needs from a delivery; stored as JSON on the Run."""

    repository: str  # owner/name
    repository_id: int
    number: int
    title: str
    description: str
    url: str
    source_branch: str  # "" for a comment: read from the API
    target_branch: str
    head_sha: str  # "" for a comment, or when the payload has no valid SHA
    base_sha: str
    before_sha: str  # the head before a push (synchronize), else ""
    author: str  # the pull request's author
    actor: str  # who caused the delivery (pushed, opened, commented)
    action: str
    draft: bool
    state: str  # open | closed
    merged: bool
    private: bool
    focus: str = ""  # text after "/review"
    comment_id: int | None = None
    association: str = ""  # the commenter's author_association
    installation_id: int | None = None  # set on deliveries to a GitHub App

    @property
    def ref(self) -> str:
        return f"{self.repository}#{self.number}"

    @property
    def reference(self) -> str:
        return self.ref

    @property
    def short_ref(self) -> str:
        return f"#{self.number}"

    @property
    def merge_request_key(self) -> str:
        """Stable across a repository's renames: its id, then the number."""
        return f"{self.repository_id or self.repository}#{self.number}"

    @property
    def note_id(self) -> int | None:
        return self.comment_id

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PullRequestEvent:
        known = {f.name for f in fields(cls)}
        return cls(**{"before_sha": "", **{k: v for k, v in data.items() if k in known}})


def from_pull_request(payload: Mapping) -> PullRequestEvent:
    """The event of a ``pull_request`` delivery; raises :class:`Missing`."""
    pr = _mapping(payload, "pull_request")
    head, base = _mapping(pr, "head", "pull_request."), _mapping(pr, "base", "pull_request.")
    return PullRequestEvent(
        **_common(payload, pr, "pull_request"),
        source_branch=_text(head.get("ref")),
        target_branch=_text(base.get("ref")),
        head_sha=_sha(head.get("sha")),
        base_sha=_sha(base.get("sha")),
        before_sha=_sha(payload.get("before")),
        draft=pr.get("draft") is True,
        merged=pr.get("merged") is True,
    )


def from_comment(payload: Mapping) -> PullRequestEvent:
    """The event of an ``issue_comment`` delivery on a pull request; raises :class:`Missing`."""
    issue = _mapping(payload, "issue")
    comment = _mapping(payload, "comment")
    linked = issue.get("pull_request")
    linked = linked if isinstance(linked, Mapping) else {}
    return PullRequestEvent(
        **_common(payload, issue, "issue"),
        source_branch="",
        target_branch="",
        head_sha="",
        base_sha="",
        before_sha="",
        draft=issue.get("draft") is True,
        merged=bool(linked.get("merged_at")),
        comment_id=_int(comment.get("id")),
        association=_text(comment.get("author_association")).upper(),
        focus="",
    )


def _common(payload: Mapping, item: Mapping, where: str) -> dict[str, Any]:
    repo = _mapping(payload, "repository")
    full_name = _text(repo.get("full_name"))
    if "/" not in full_name:
        raise Missing("payload has no repository.full_name")
    # Old Gitea servers name the number only at the top level, as GitHub does too.
    number = _int(item.get("number")) or _int(payload.get("number"))
    if number is None or number <= 0:
        raise Missing(f"payload has no valid {where}.number")
    installation = payload.get("installation")
    return {
        "repository": full_name,
        "repository_id": _int(repo.get("id")) or 0,
        "number": number,
        "title": _text(item.get("title")),
        "description": _text(item.get("body")),
        "url": _text(item.get("html_url")),
        "author": _login(item.get("user")),
        "actor": _login(payload.get("sender")),
        "action": _text(payload.get("action")),
        "state": _text(item.get("state")),
        "private": repo.get("private") is True,
        "installation_id": _int(installation.get("id"))
        if isinstance(installation, Mapping)
        else None,
    }


def _mapping(parent: Mapping, key: str, prefix: str = "") -> Mapping:
    value = parent.get(key)
    if not isinstance(value, Mapping):
        raise Missing(f"payload has no {prefix}{key}")
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _sha(value: Any) -> str:
    return value if isinstance(value, str) and _SHA.fullmatch(value) else ""


def _login(user: Any) -> str:
    return _text(user.get("login")) if isinstance(user, Mapping) else ""
