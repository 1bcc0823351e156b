"""Client for Gitea's and Forgejo's REST API (``/api/v1``): the GitHub client's calls, with
Gitea's root, ``Authorization: token``, words and errors.

What differs from GitHub (Gitea's ``routers/api/v1/api.go``, ``modules/structs/pull.go``):

* ``/pulls/{index}/files`` carries no ``patch``, so the changed files come from
  ``/pulls/{index}.diff``, split here into one entry per file;
* whether a commenter may ask for a review is their permission on the repository
  (``/collaborators/{user}/permission``: read, write, admin or owner); the payload says
  nothing about it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

from integrations.forges.github.api import GitHubClient, repository_path
from integrations.forges.github.types import Comment, FileDiff, parse_comment
from integrations.forges.inline import InlineComment, comment_body
from integrations.http import HeaderAuth

from .errors import (
    GiteaBadResponse,
    GiteaNotFound,
    GiteaRequestError,
    GiteaTLSError,
    GiteaUnreachable,
    error_from_response,
)

__all__ = ["GiteaClient", "api_root", "split_diff"]

_API = "/api/v1"
_FILE = re.compile(r"^diff --git a/(.+?) b/(.+)$")
# Who may ask (the endpoint's setting) -> the permissions that count.
_ANYONE = frozenset({"CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", "MANNEQUIN", "NONE"})
_WRITERS = ("write", "admin", "owner")


def api_root(base_url: str) -> str:
    url = str(base_url or "").strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            "The Gitea URL must be the server's address, e.g. https://gitea.example.com"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("The Gitea URL must not contain credentials, a query or a fragment")
    return url if url.endswith(_API) else url + _API


class GiteaClient(GitHubClient):
    who = "Gitea"
    error_from_response = staticmethod(error_from_response)
    TLSError = GiteaTLSError
    RequestError = GiteaRequestError
    Unreachable = GiteaUnreachable
    BadResponse = GiteaBadResponse
    private_ca_hint = "for a server behind a private CA, set the endpoint's CA bundle"

    @staticmethod
    def api_root(base_url: str) -> str:
        return api_root(base_url)

    @staticmethod
    def auth_for(token: str) -> HeaderAuth:
        return HeaderAuth("Authorization", f"token {token}")

    def files(self, repository: str, number: int) -> list[FileDiff]:
        """GET …/pulls/{index}.diff, one entry per file (Gitea's files list has no patch)."""
        path = f"{self._pull_path(repository, number)}.diff"
        label = self._label("GET", path)
        response = self.request("GET", path, headers={"Accept": "text/plain"})
        if not response.ok:
            error = self.error_from_response(
                response.status, response.text, response.headers, request=label
            )
            error.redact(*self.redact.secrets)
            raise error
        return split_diff(response.text)

    def review_comments(self, repository: str, number: int) -> list[Comment]:
        """Every review's comments: Gitea lists them per review."""
        base = self._pull_path(repository, number) + "/reviews"
        reviews, _ = self._call("GET", base)
        found: list[Comment] = []
        for review in reviews if isinstance(reviews, list) else []:
            if isinstance(review, dict) and isinstance(review.get("id"), int):
                path = f"{base}/{review['id']}/comments"
                data, response = self._call("GET", path)
                for item in data if isinstance(data, list) else []:
                    found.append(
                        self._parse(parse_comment, item, response, self._label("GET", path))
                    )
        return found

    @staticmethod
    def review_body(commit_id: str, comments: list[InlineComment]) -> dict:
        """Gitea's review: ``new_position`` is the line in the new file (not a diff offset)."""
        items = [
            {
                "path": c.path,
                "body": comment_body(c),
                "new_position": c.end_line or c.line,
                "old_position": 0,
            }
            for c in comments
        ]
        body = f"dify-hub: {len(items)} line comment{'s' if len(items) != 1 else ''}"
        return {"event": "COMMENT", "body": body, "commit_id": commit_id, "comments": items}

    def may_ask_for_review(self, repository: str, login: str, trusted: Iterable[str]) -> bool:
        """Whether ``login`` is someone the endpoint honours /review from."""
        trusted = set(trusted)
        if trusted & _ANYONE:
            return True
        owner = repository.split("/", 1)[0]
        if login and login.casefold() == owner.casefold() and "OWNER" in trusted:
            return True
        if not login or not trusted & {"MEMBER", "COLLABORATOR"}:
            return False
        path = f"{repository_path(repository)}/collaborators/{quote(login)}/permission"
        try:
            data, _ = self._call("GET", path)
        except GiteaNotFound:
            return False
        return isinstance(data, dict) and data.get("permission") in _WRITERS


def split_diff(text: str) -> list[FileDiff]:
    """A git unified diff, one :class:`FileDiff` per ``diff --git`` block, its hunks as the
    patch (``None`` for a binary file)."""
    files: list[FileDiff] = []
    block: list[str] = []
    for line in text.splitlines():
        if line.startswith("diff --git ") and block:
            files.append(_file(block))
            block = []
        block.append(line)
    if block and block[0].startswith("diff --git "):
        files.append(_file(block))
    return files


def _file(block: list[str]) -> FileDiff:
    match = _FILE.match(block[0])
    old, new = (match.group(1), match.group(2)) if match else ("", "")
    status, hunks, binary = "modified", [], False
    for line in block[1:]:
        if hunks or line.startswith("@@"):
            hunks.append(line)
        elif line.startswith("new file"):
            status = "added"
        elif line.startswith("deleted file"):
            status = "removed"
        elif line.startswith("rename from "):
            status, old = "renamed", line[len("rename from ") :]
        elif line.startswith("rename to "):
            new = line[len("rename to ") :]
        elif line.startswith("Binary files ") or line.startswith("GIT binary patch"):
            binary = True
    patch = None if binary else "\n".join(hunks)
    additions = sum(1 for x in hunks if x.startswith("+"))
    deletions = sum(1 for x in hunks if x.startswith("-"))
    return FileDiff(new, old, status, patch, additions, deletions)
