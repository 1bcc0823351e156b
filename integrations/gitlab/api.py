"""Client for the parts of GitLab's REST API (``/api/v4``) the MR reviewer needs, on the
shared HTTP layer (integrations/http).

* No retries of any kind: every failure is raised as a :class:`GitLabError` and the caller
  decides, on ``retryable`` / ``retry_after``.
* The token travels in the ``PRIVATE-TOKEN`` header (personal, project and group access
  tokens); it never appears in messages or reprs. Redirects are not followed, so the header
  is never replayed to another host.
* ``project`` is a numeric id or a ``group/sub/project`` path (URL-encoded as GitLab asks).
* List endpoints are read page by page (``per_page=100``) following ``x-next-page``.
* A 2xx answer that is not the documented JSON is :class:`GitLabBadResponse`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

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
)

from .errors import (
    GitLabBadResponse,
    GitLabError,
    GitLabNotFound,
    GitLabRequestError,
    GitLabTLSError,
    GitLabUnreachable,
    error_from_response,
)
from .parse import (
    Shape,
    parse_discussion,
    parse_file_diff,
    parse_merge_request,
    parse_note,
    parse_user,
)
from .types import Discussion, FileDiff, MergeRequest, Note, User

__all__ = ["GitLabClient", "normalise_base_url", "project_ref"]

log = logging.getLogger(__name__)

PER_PAGE = 100  # GitLab's maximum
MAX_PAGES = 1000  # a runaway x-next-page must not loop forever
MAX_FILES = 3000  # GitLab's own default limit of files in an MR diff
_API_SUFFIX = "/api/v4"

T = TypeVar("T")


def normalise_base_url(base_url: str) -> str:
    """``https://host[/prefix]`` from what an admin typed (trailing ``/`` or ``/api/v4`` ok)."""
    url = str(base_url or "").strip().rstrip("/")
    if url.lower().endswith(_API_SUFFIX):
        url = url[: -len(_API_SUFFIX)].rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            "The GitLab URL must be the server's address, e.g. https://gitlab.example.com "
            "(http:// or https://)"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(
            "The GitLab URL must not contain credentials, a query string or a fragment"
        )
    return url


def project_ref(project: int | str) -> str:
    """The ``:id`` path segment: a numeric id, or the URL-encoded ``group/project`` path."""
    if isinstance(project, bool):
        raise ValueError("project must be a numeric id or a 'group/project' path")
    if isinstance(project, int):
        if project <= 0:
            raise ValueError("project id must be positive")
        return str(project)
    path = str(project).strip().strip("/")
    if not path:
        raise ValueError("project must be a numeric id or a 'group/project' path")
    return path if path.isdigit() else quote(path, safe="")


def _positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer")
    return value


# ---------------------------------------------------------------------------
# the client
# ---------------------------------------------------------------------------


class GitLabClient(HttpClient):
    """Client for one GitLab instance and one access token."""

    who = "GitLab"

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        verify: bool | str = True,
    ) -> None:
        base = normalise_base_url(base_url)
        if not isinstance(token, str) or not token.strip():
            raise ValueError("token is required (a personal, project or group access token)")
        if any(ch.isspace() for ch in token):
            raise ValueError("token must not contain spaces or line breaks")
        super().__init__(
            base,
            auth=HeaderAuth("PRIVATE-TOKEN", token),
            connect_timeout=connect_timeout,
            read_timeout=timeout,
            verify=verify,
            secrets=(token,),
            headers={"Accept": "application/json"},
        )
        self.api_url = base + _API_SUFFIX

    def __repr__(self) -> str:
        return f"GitLabClient(base_url={self.base_url!r}, token='***')"

    # -- public API ------------------------------------------------------------

    def current_user(self) -> User:
        """GET /user: the token's user (a project/group token gives its bot user)."""
        return self._get_one("/user", parse_user)

    def access_level(self, project: int | str, user_id: int) -> int | None:
        """GET /projects/:id/members/all/:user_id: the user's role on the project, inherited
        ones included (10 Guest … 30 Developer … 50 Owner), or None for a non-member."""
        path = f"/projects/{project_ref(project)}/members/all/{_positive('user_id', user_id)}"
        try:
            data, _ = self._call("GET", path)
        except GitLabNotFound:
            return None
        level = data.get("access_level") if isinstance(data, dict) else None
        return level if isinstance(level, int) and not isinstance(level, bool) else None

    def merge_request(self, project: int | str, iid: int) -> MergeRequest:
        """GET /projects/:id/merge_requests/:iid. Right after an MR is created or pushed,
        ``prepared_at`` and the diff refs may still be empty: poll again later."""
        return self._get_one(self._mr_path(project, iid), parse_merge_request)

    def diffs(self, project: int | str, iid: int) -> list[FileDiff]:
        """GET …/diffs (``unidiff=true``): the changed files of the latest version, at most
        MAX_FILES. Files beyond GitLab's diff limits come back with ``too_large`` /
        ``collapsed`` set and an empty ``diff``."""
        path = self._mr_path(project, iid) + "/diffs"
        files: list[FileDiff] = []
        for item in self._pages(path, {"unidiff": "true"}, parse_file_diff, "file diffs"):
            files.append(item)
            if len(files) >= MAX_FILES:
                break
        return files

    def compare(self, project: int | str, base: str, head: str) -> list[FileDiff]:
        """GET /projects/:id/repository/compare?from=base&to=head: the files changed between
        two commits (404 when one of them is gone, as after a force-push)."""
        path = f"/projects/{project_ref(project)}/repository/compare"
        data, response = self._call(
            "GET", path, params={"from": base, "to": head, "unidiff": "true"}
        )
        diffs = data.get("diffs") if isinstance(data, dict) else None
        if not isinstance(diffs, list):
            raise GitLabBadResponse(
                f"GitLab answered {response.status} without the compare's diffs "
                f"({self._label('GET', path)})",
                status=response.status,
            )
        label = self._label("GET", path)
        return [self._parse(parse_file_diff, item, response, label) for item in diffs[:MAX_FILES]]

    def find_note(
        self, project: int | str, iid: int, marker: str, *, author_id: int | None = None
    ) -> Note | None:
        """The newest non-system note whose body contains ``marker`` (and, when given,
        written by ``author_id``). Reads newest first and stops at the first match."""
        if not marker:
            raise ValueError("marker must be a non-empty string")
        path = self._mr_path(project, iid) + "/notes"
        params = {"sort": "desc", "order_by": "created_at"}
        for note in self._pages(path, params, parse_note, "notes"):
            if note.system or marker not in note.body:
                continue
            if author_id is None or note.author_id == author_id:
                return note
        return None

    def discussions(self, project: int | str, iid: int) -> list[Discussion]:
        """GET …/discussions: the MR's discussions, oldest first."""
        path = self._mr_path(project, iid) + "/discussions"
        return list(self._pages(path, {}, parse_discussion, "discussions"))

    def create_discussion(
        self, project: int | str, iid: int, body: str, position: Mapping[str, Any]
    ) -> Discussion:
        """POST …/discussions with a text position (diff refs, paths, new_line): a comment on
        a line of the diff. GitLab answers 400 for a line the diff does not have."""
        path = self._mr_path(project, iid) + "/discussions"
        payload = {"body": self._check_body(body), "position": dict(position)}
        return self._send_one("POST", path, payload, parse_discussion)

    def resolve_discussion(self, project: int | str, iid: int, discussion_id: str) -> None:
        """PUT …/discussions/:id?resolved=true (the bot resolves only its own)."""
        if not discussion_id or not all(c in "0123456789abcdef" for c in discussion_id):
            raise ValueError("discussion_id must be GitLab's hex id")
        path = f"{self._mr_path(project, iid)}/discussions/{discussion_id}"
        self._call("PUT", path, params={"resolved": "true"})

    def create_note(self, project: int | str, iid: int, body: str) -> Note:
        """POST …/notes. After a timeout the note may exist: ``find_note`` before retrying."""
        path = self._mr_path(project, iid) + "/notes"
        return self._send_one("POST", path, {"body": self._check_body(body)}, parse_note)

    def update_note(self, project: int | str, iid: int, note_id: int, body: str) -> Note:
        """PUT …/notes/:note_id (only the token's own notes can be edited)."""
        _positive("note_id", note_id)
        path = f"{self._mr_path(project, iid)}/notes/{note_id}"
        return self._send_one("PUT", path, {"body": self._check_body(body)}, parse_note)

    # -- plumbing --------------------------------------------------------------

    @staticmethod
    def _mr_path(project: int | str, iid: int) -> str:
        return f"/projects/{project_ref(project)}/merge_requests/{_positive('iid', iid)}"

    @staticmethod
    def _check_body(body: str) -> str:
        if not isinstance(body, str):
            raise ValueError("body must be a string")
        return body

    def _label(self, method: str, path: str) -> str:
        path = path.removeprefix(_API_SUFFIX)
        return f"{method} {urlsplit(self.api_url).path}{path}"

    def network_error(self, failure: Failure, request: Request) -> GitLabError:
        where, label = self.base_url, self._label(request.method, request.path)
        if failure.kind == TLS:
            return GitLabTLSError(
                f"GitLab at {where}: TLS verification or handshake failed ({failure.reason}): "
                "if GitLab uses a private or self-signed CA, set the endpoint's CA bundle to "
                f"that CA's PEM file ({label})"
            )
        if failure.kind == INVALID:
            return GitLabRequestError(
                f"GitLab at {where}: invalid request ({failure.reason}); check the base URL "
                f"({label})",
                code="invalid_request",
            )
        if failure.kind == CONNECT:
            return GitLabUnreachable(
                f"GitLab: could not connect to GitLab at {where} ({failure.reason}); nothing "
                f"was sent. Check the base URL and that GitLab is reachable from the hub ({label})"
            )
        if failure.kind == TOO_LARGE:
            return GitLabBadResponse(f"GitLab at {where}: {failure.reason} ({label})")
        maybe = " The change may still have been saved: look it up before sending it again."
        maybe = maybe if request.writes else ""
        if failure.kind == TIMEOUT:
            return GitLabUnreachable(
                f"GitLab at {where} did not answer within {self.read_timeout:g} s (read "
                f"timeout); it may be overloaded, retry later.{maybe} ({label})",
                code="timeout",
            )
        return GitLabUnreachable(
            f"GitLab at {where}: the connection was lost before the answer arrived "
            f"({failure.reason}); retry later.{maybe} ({label})",
            code="connection_lost",
        )

    def _json(self, response: Response, method: str, path: str) -> Any:
        label = self._label(method, path)
        if not response.ok:
            error = error_from_response(
                response.status, response.text, response.headers, request=label
            )
            error.redact(*self.redact.secrets)
            raise error
        try:
            return json.loads(response.text)
        except ValueError:
            ctype = response.headers.get("Content-Type") or "none"
            raise GitLabBadResponse(
                f"GitLab answered {response.status} but not with JSON (content type {ctype}): "
                "is the base URL the GitLab address and not a login page or proxy? "
                f"({label})",
                status=response.status,
            ) from None

    def _call(
        self, method: str, path: str, *, params: dict | None = None, body: dict | None = None
    ) -> tuple[Any, Response]:
        log.debug("GitLab %s", self._label(method, path))
        response = self.request(method, _API_SUFFIX + path, params=params, json=body)
        return self._json(response, method, path), response

    def _parse(self, parse: Callable[[Any], T], data: Any, response: Response, label: str) -> T:
        try:
            return parse(data)
        except Shape as exc:
            raise GitLabBadResponse(
                f"GitLab answered {response.status} but the JSON is not what its API "
                f"documents ({exc}); is the base URL a GitLab instance? ({label})",
                status=response.status,
            ) from None

    def _get_one(self, path: str, parse: Callable[[Any], T]) -> T:
        data, response = self._call("GET", path)
        return self._parse(parse, data, response, self._label("GET", path))

    def _send_one(self, method: str, path: str, body: dict, parse: Callable[[Any], T]) -> T:
        data, response = self._call(method, path, body=body)
        return self._parse(parse, data, response, self._label(method, path))

    def _pages(self, path: str, params: dict, parse: Callable[[Any], T], what: str) -> Iterator[T]:
        """Parsed items of a paginated list, one request per page, following x-next-page."""
        label = self._label("GET", path)
        page = 1
        for _ in range(MAX_PAGES):
            query = {**params, "per_page": PER_PAGE, "page": page}
            data, response = self._call("GET", path, params=query)
            if not isinstance(data, list):
                raise GitLabBadResponse(
                    f"GitLab answered {response.status} with {type(data).__name__} where a "
                    f"list of {what} was expected; is the base URL a GitLab instance? ({label})",
                    status=response.status,
                )
            for item in data:
                yield self._parse(parse, item, response, label)
            following = _next_page(response.headers, page, len(data))
            if following is None:
                return
            page = following


def _next_page(headers: Mapping[str, str], page: int, count: int) -> int | None:
    """The next page number, or None on the last page."""
    value = headers.get("x-next-page")
    if value is None:
        # Some proxies drop GitLab's pagination headers: a full page means "maybe more".
        return page + 1 if count >= PER_PAGE else None
    value = value.strip()
    if not value.isdigit() or int(value) <= page:
        return None  # "" on the last page; never go backwards
    return int(value)
