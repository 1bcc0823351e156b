"""Client for the parts of GitHub's REST API a pull-request review needs, on the shared HTTP
layer (integrations/http). github.com and GitHub Enterprise Server alike.

* No retries: every failure is a :class:`GitHubError`; the caller decides on ``retryable`` and
  ``retry_after`` (rate limits carry GitHub's wait).
* The token travels as ``Authorization: Bearer`` (classic and fine-grained personal tokens,
  GitHub App installation tokens); it never appears in messages or reprs. Redirects are
  not followed, and pagination links are followed only on the API's own host.
* Lists are read 100 per page following the ``Link: rel="next"`` header, which may point
  at another path (``/repositories/<id>/…``, as recorded in tests/fixtures/github/api).
* A 2xx answer that is not the documented JSON is :class:`GitHubBadResponse`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from integrations.forges.inline import InlineComment, comment_body
from integrations.http import (
    CONNECT,
    INVALID,
    TIMEOUT,
    TLS,
    TOO_LARGE,
    Failure,
    HeaderAuth,
    HttpClient,
    Request,
    Response,
    bearer,
)

from .errors import (
    GitHubBadResponse,
    GitHubError,
    GitHubRequestError,
    GitHubTLSError,
    GitHubUnreachable,
    error_from_response,
)
from .types import (
    Comment,
    FileDiff,
    PullRequest,
    Shape,
    User,
    parse_comment,
    parse_file,
    parse_pull_request,
    parse_user,
)

__all__ = ["COMMENT_LIMIT", "GitHubClient", "api_url", "repository_path"]

log = logging.getLogger(__name__)

PER_PAGE = 100  # GitHub's maximum
MAX_FILES = 3000  # GitHub lists at most 3000 files of a pull request
MAX_PAGES = 100
COMMENT_LIMIT = 65536  # GitHub refuses a longer comment body (422)
API_VERSION = "2022-11-28"
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')

T = TypeVar("T")


def api_url(base_url: str) -> str:
    """The REST root for what an admin typed: github.com -> https://api.github.com, a GitHub
    Enterprise Server -> https://HOST/api/v3 (either form may be typed)."""
    url = str(base_url or "").strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            "The GitHub URL must be the server's address, e.g. https://github.com or "
            "https://github.example.com"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("The GitHub URL must not contain credentials, a query or a fragment")
    if parts.hostname in ("github.com", "www.github.com", "api.github.com"):
        return "https://api.github.com"
    return url if url.endswith("/api/v3") else url + "/api/v3"


def repository_path(repository: str) -> str:
    """``/repos/OWNER/NAME`` for ``OWNER/NAME``; raises ValueError for anything else."""
    owner, _, name = str(repository or "").strip().partition("/")
    if not (_NAME.fullmatch(owner) and _NAME.fullmatch(name)) or {owner, name} & {".", ".."}:
        raise ValueError("the repository must be OWNER/NAME, e.g. octocat/Hello-World")
    return f"/repos/{quote(owner)}/{quote(name)}"


def _positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer")
    return value


class GitHubClient(HttpClient):
    """Client for one GitHub (github.com or an Enterprise Server) and one token.

    Gitea's client is this one with its own root, auth header, words and errors (the class
    attributes below): the two APIs answer these calls with the same JSON.
    """

    who = "GitHub"
    error_from_response = staticmethod(error_from_response)
    TLSError: type[GitHubError] = GitHubTLSError
    RequestError: type[GitHubError] = GitHubRequestError
    Unreachable: type[GitHubError] = GitHubUnreachable
    BadResponse: type[GitHubError] = GitHubBadResponse
    private_ca_hint = "for an Enterprise Server behind a private CA, set the endpoint's CA bundle"

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        verify: bool | str = True,
    ) -> None:
        if not isinstance(token, str) or not token.strip() or any(c.isspace() for c in token):
            raise ValueError("token is required, without spaces or line breaks")
        root = self.api_root(base_url)
        super().__init__(
            root,
            auth=self.auth_for(token),
            connect_timeout=connect_timeout,
            read_timeout=timeout,
            verify=verify,
            secrets=(token,),
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
            },
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_url={self.base_url!r}, token='***')"

    @staticmethod
    def api_root(base_url: str) -> str:
        return api_url(base_url)

    @staticmethod
    def auth_for(token: str) -> HeaderAuth:
        return bearer(token)

    # -- public API ----------------------------------------------------------------------

    def current_user(self) -> User:
        """GET /user: the token's user (GitHub App installation tokens cannot call it)."""
        return self._get_one("/user", parse_user)

    def pull_request(self, repository: str, number: int) -> PullRequest:
        """GET /repos/{owner}/{repo}/pulls/{number}."""
        return self._get_one(self._pull_path(repository, number), parse_pull_request)

    def files(self, repository: str, number: int) -> list[FileDiff]:
        """GET …/pulls/{number}/files: the changed files with their patches, at most 3000."""
        path = self._pull_path(repository, number) + "/files"
        found: list[FileDiff] = []
        for item in self._pages(path, parse_file, "changed files"):
            found.append(item)
            if len(found) >= MAX_FILES:
                break
        return found

    def find_comment(
        self, repository: str, number: int, marker: str, *, author: str = ""
    ) -> Comment | None:
        """The newest conversation comment containing ``marker`` (by ``author`` when given)."""
        if not marker:
            raise ValueError("marker must be a non-empty string")
        path = f"{self._issue_path(repository, number)}/comments"
        found = None
        for comment in self._pages(path, parse_comment, "comments"):  # oldest first
            if marker in comment.body and (
                not author or comment.author.casefold() == author.casefold()
            ):
                found = comment
        return found

    def compare(self, repository: str, base: str, head: str) -> list[FileDiff]:
        """GET …/compare/{base}...{head}: the files changed between two commits."""
        path = f"{repository_path(repository)}/compare/{quote(base)}...{quote(head)}"
        data, response = self._call("GET", path)
        files = data.get("files") if isinstance(data, dict) else None
        if not isinstance(files, list):
            raise self.BadResponse(
                f"{self.who} answered {response.status} without the compare's files "
                f"({self._label('GET', path)})",
                status=response.status,
            )
        label = self._label("GET", path)
        return [self._parse(parse_file, item, response, label) for item in files[:MAX_FILES]]

    def review_comments(self, repository: str, number: int) -> list[Comment]:
        """GET …/pulls/{number}/comments: the line comments of every review."""
        path = self._pull_path(repository, number) + "/comments"
        return list(self._pages(path, parse_comment, "review comments"))

    def create_review(
        self, repository: str, number: int, commit_id: str, comments: list[InlineComment]
    ) -> int:
        """POST …/pulls/{number}/reviews: one review (event COMMENT) carrying every line
        comment, so a run posts them in one request; answers the review's id."""
        path = self._pull_path(repository, number) + "/reviews"
        body = self.review_body(commit_id, comments)
        data, response = self._call("POST", path, body)
        if not isinstance(data, dict) or not isinstance(data.get("id"), int):
            raise self.BadResponse(
                f"{self.who} answered {response.status} without the review's id "
                f"({self._label('POST', path)})",
                status=response.status,
            )
        return data["id"]

    @staticmethod
    def review_body(commit_id: str, comments: list[InlineComment]) -> dict:
        def one(c: InlineComment) -> dict:
            item = {"path": c.path, "body": comment_body(c), "side": "RIGHT"}
            item["line"] = c.end_line or c.line
            if c.end_line:  # a range: GitHub takes its first line apart
                item |= {"start_line": c.line, "start_side": "RIGHT"}
            return item

        return {"commit_id": commit_id, "event": "COMMENT", "comments": [one(c) for c in comments]}

    def create_comment(self, repository: str, number: int, body: str) -> Comment:
        """POST …/issues/{number}/comments. After a timeout it may exist: find it first."""
        path = f"{self._issue_path(repository, number)}/comments"
        return self._send_one("POST", path, {"body": _body(body)}, parse_comment)

    def update_comment(self, repository: str, comment_id: int, body: str) -> Comment:
        """PATCH …/issues/comments/{id} (only the token's own comments can be edited)."""
        path = (
            f"{repository_path(repository)}/issues/comments/{_positive('comment_id', comment_id)}"
        )
        return self._send_one("PATCH", path, {"body": _body(body)}, parse_comment)

    # -- plumbing ------------------------------------------------------------------------

    @staticmethod
    def _pull_path(repository: str, number: int) -> str:
        return f"{repository_path(repository)}/pulls/{_positive('number', number)}"

    @staticmethod
    def _issue_path(repository: str, number: int) -> str:
        return f"{repository_path(repository)}/issues/{_positive('number', number)}"

    def _label(self, method: str, path: str) -> str:
        return f"{method} {urlsplit(self.url_for(path)).path}"

    def network_error(self, failure: Failure, request: Request) -> GitHubError:
        who, where = self.who, self.base_url
        label = f"{request.method} {urlsplit(request.url).path}"
        if failure.kind == TLS:
            return self.TLSError(
                f"{who} at {where}: TLS verification or handshake failed ({failure.reason}): "
                f"{self.private_ca_hint} ({label})"
            )
        if failure.kind == INVALID:
            return self.RequestError(
                f"{who} at {where}: invalid request ({failure.reason}); check the URL ({label})",
                code="invalid_request",
            )
        if failure.kind == CONNECT:
            return self.Unreachable(
                f"{who}: could not connect to {where} ({failure.reason}); nothing was sent. "
                f"Check the URL and that {who} is reachable from the hub ({label})"
            )
        if failure.kind == TOO_LARGE:
            return self.BadResponse(f"{who} at {where}: {failure.reason} ({label})")
        maybe = " The comment may still have been saved: look it up before sending it again."
        maybe = maybe if request.writes else ""
        code = "timeout" if failure.kind == TIMEOUT else "connection_lost"
        said = (
            f"did not answer within {self.read_timeout:g} s"
            if failure.kind == TIMEOUT
            else f"lost the connection before answering ({failure.reason})"
        )
        return self.Unreachable(
            f"{who} at {where} {said}; retry later.{maybe} ({label})", code=code
        )

    def _call(self, method: str, path: str, body: dict | None = None) -> tuple[Any, Response]:
        label = self._label(method, path)
        log.debug("%s %s", self.who, label)
        response = self.request(method, path, json=body)
        if not response.ok:
            error = self.error_from_response(
                response.status, response.text, response.headers, request=label
            )
            error.redact(*self.redact.secrets)
            raise error
        try:
            return json.loads(response.text), response
        except ValueError:
            ctype = response.headers.get("Content-Type") or "none"
            raise self.BadResponse(
                f"{self.who} answered {response.status} but not with JSON (content type "
                f"{ctype}): is the URL {self.who}'s and not a login page or proxy? ({label})",
                status=response.status,
            ) from None

    def _parse(self, parse: Callable[[Any], T], data: Any, response: Response, label: str) -> T:
        try:
            return parse(data)
        except Shape as exc:
            raise self.BadResponse(
                f"{self.who} answered {response.status} but the JSON is not what its API "
                f"documents ({exc}) ({label})",
                status=response.status,
            ) from None

    def _get_one(self, path: str, parse: Callable[[Any], T]) -> T:
        data, response = self._call("GET", path)
        return self._parse(parse, data, response, self._label("GET", path))

    def _send_one(self, method: str, path: str, body: dict, parse: Callable[[Any], T]) -> T:
        data, response = self._call(method, path, body)
        return self._parse(parse, data, response, self._label(method, path))

    def _pages(self, path: str, parse: Callable[[Any], T], what: str) -> Iterator[T]:
        label = self._label("GET", path)
        url: str | None = f"{path}?per_page={PER_PAGE}"
        for _ in range(MAX_PAGES):
            if url is None:
                return
            data, response = self._call("GET", url)
            if not isinstance(data, list):
                raise self.BadResponse(
                    f"{self.who} answered {response.status} with {type(data).__name__} where a "
                    f"list of {what} was expected ({label})",
                    status=response.status,
                )
            for item in data:
                yield self._parse(parse, item, response, label)
            url = self._next_page(response)

    def _next_page(self, response: Response) -> str | None:
        """The ``rel="next"`` link, only when it points at this API (the token goes with it)."""
        match = _NEXT.search(response.headers.get("Link") or "")
        if match is None:
            return None
        link, root = urlsplit(match.group(1)), urlsplit(self.base_url)
        if (link.scheme, link.netloc) != (root.scheme, root.netloc):
            log.warning("%s's next-page link points at another host; not followed", self.who)
            return None
        return match.group(1)


def _body(body: str) -> str:
    if not isinstance(body, str):
        raise ValueError("body must be a string")
    if len(body) > COMMENT_LIMIT:
        raise ValueError(f"a comment holds at most {COMMENT_LIMIT} characters (GitHub's limit)")
    return body
