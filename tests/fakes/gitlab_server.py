"""A local fake of GitLab's REST API (``/api/v4``): the parts the merge-request reviewer uses.

Real HTTP/1.1 on 127.0.0.1 (an ephemeral port unless told otherwise), stdlib only. Answers
follow GitLab's documented contract and are built from the JSON templates in
``tests/fixtures/gitlab/api/`` (copied field for field from GitLab's API docs and entities):

* ``GET /user`` - the token's user (a project bot, ``"bot": true``);
* ``GET /projects/:id/merge_requests/:iid`` (+ ``/versions`` newest first, + ``/diffs``);
* ``GET|POST /projects/:id/merge_requests/:iid/notes``, ``GET|PUT …/notes/:note_id``.

``:id`` is the numeric id or the URL-encoded path (``payments%2Fbilling-service``); an
unencoded path does not match any route, as on GitLab. Lists are paginated like GitLab
(``page``/``per_page``, default 20, max 100) with ``x-page``, ``x-per-page``,
``x-next-page``, ``x-prev-page``, ``x-total``, ``x-total-pages`` and a ``Link`` header.
Auth: ``PRIVATE-TOKEN``, ``Authorization: Bearer`` or ``?private_token=``; otherwise
401 ``{"message":"401 Unauthorized"}``.

In tests::

    with FakeGitLab() as gitlab:
        gitlab.add_merge_request(files=[{"path": "a.py", "diff": "@@ -1 +1 @@\\n-a\\n+b\\n"}])
        gitlab.fail_next("GET", "/diffs", 429, retry_after=2)
        gitlab.diff_not_ready(1187, 342, times=2)
        client = GitLabClient(gitlab.url, gitlab.token)
        ...
        gitlab.requests            # what the client sent (lower-cased headers)
        gitlab.notes_of(1187, 342)  # the notes as GitLab would list them

Standalone, for trying the hub by hand (serves until Ctrl-C, prints every note posted)::

    python -m tests.fakes.gitlab_server --port 5003 --token glpat-demo

and point a GitLab endpoint at the printed URL with token ``glpat-demo``; the demo MR is
project 1187 ``payments/billing-service`` !342 with two changed files.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import hashlib
import json
import math
import re
import socket
import ssl
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

__all__ = [
    "DEFAULT_TOKEN",
    "FIXTURES",
    "FakeGitLab",
    "RecordedRequest",
    "fixture_answer",
    "load_fixture",
]

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gitlab" / "api"
DEFAULT_TOKEN = "glpat-hub-test-token"
DEMO_PROJECT_ID = 1187
DEMO_PATH = "payments/billing-service"
DEMO_IID = 342
NOTE_MAX = 1_000_000  # GitLab's limit on a note body

# fail_next(status) without a body answers with GitLab's real body for that status
_STATUS_FIXTURES = {
    400: "error_400",
    401: "error_401",
    403: "error_403",
    404: "error_404_project",
    429: "error_429",
    500: "error_500",
    502: "error_502",
    503: "error_503",
}


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


def load_fixture(name: str) -> dict:
    """A fixture file: ``{"status", "headers", "body", "source", ...}``."""
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


_TEMPLATES: dict[str, Any] = {}


def _template(name: str) -> Any:
    """A fresh copy of a fixture's body (the fake fills in its own values)."""
    if name not in _TEMPLATES:
        _TEMPLATES[name] = load_fixture(name)["body"]
    return copy.deepcopy(_TEMPLATES[name])


def _encode_body(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _relative_headers(relative: dict[str, float], now: float) -> dict[str, str]:
    """Reset headers as now + N s: a Unix time for RateLimit-Reset, an HTTP date otherwise."""
    out = {}
    for name, seconds in relative.items():
        when = now + float(seconds)
        out[name] = (
            formatdate(when, usegmt=True)
            if name.lower().endswith("time")
            else str(int(math.ceil(when)))
        )
    return out


def fixture_answer(name: str, now: float | None = None) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body bytes) of a fixture, with ``relative_headers`` made current."""
    data = load_fixture(name)
    headers = dict(data.get("headers", {}))
    headers.update(_relative_headers(data.get("relative_headers", {}), now or time.time()))
    return data["status"], headers, _encode_body(data["body"])


def _now_iso(moment: float | None = None) -> str:
    stamp = datetime.fromtimestamp(time.time() if moment is None else moment, tz=UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _sha(seed: str) -> str:
    return hashlib.sha1(seed.encode("utf-8")).hexdigest()


def bench_head_sha(project_id: int, iid: int) -> str:
    """The head commit of an MR made up on first use (``any_merge_request``, benchmarks)."""
    return _sha(f"bench:{project_id}!{iid}")


# ---------------------------------------------------------------------------
# state
# ---------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    method: str
    path: str  # as sent, still URL-encoded, without the query string
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    json: Any
    raw_body: bytes

    @property
    def api_path(self) -> str:
        """The path after ``/api/v4`` (still encoded), e.g. ``/projects/1187/...``."""
        marker = "/api/v4"
        index = self.path.find(marker)
        return self.path[index + len(marker) :] if index >= 0 else self.path


@dataclass
class _Version:
    id: int
    head_sha: str
    base_sha: str
    start_sha: str
    created_at: str
    files: list[dict]


@dataclass
class _MergeRequest:
    id: int
    iid: int
    project_id: int
    path: str
    title: str
    description: str
    state: str
    draft: bool
    source_branch: str
    target_branch: str
    author: dict
    created_at: str
    updated_at: str
    versions: list[_Version] = field(default_factory=list)  # oldest first
    notes: list[dict] = field(default_factory=list)  # creation order
    not_ready: int = 0


@dataclass
class _Scripted:
    method: str | None
    pattern: str | re.Pattern
    status: int
    remaining: int
    body: Any = None
    headers: dict | None = None
    retry_after: float | None = None
    content_type: str | None = None
    fixture: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method not in (None, "*") and self.method.upper() != method:
            return False
        candidates = (path, unquote(path))
        if isinstance(self.pattern, re.Pattern):
            return any(self.pattern.search(c) for c in candidates)
        return any(c.endswith(self.pattern) for c in candidates)


@dataclass
class _Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class _Error(Exception):
    """Raised inside a route to answer with an error."""

    def __init__(self, answer: _Answer) -> None:
        self.answer = answer


def _json_answer(status: int, body: Any, headers: dict | None = None) -> _Answer:
    out = {
        "Content-Type": "application/json",
        "Cache-Control": "max-age=0, private, must-revalidate",
    }
    out.update(headers or {})
    return _Answer(status, out, _encode_body(body))


def _fixture_error(name: str) -> _Error:
    status, headers, body = fixture_answer(name)
    return _Error(_Answer(status, headers, body))


def _bad_request(body: Any) -> _Error:
    return _Error(_json_answer(400, body))


# ---------------------------------------------------------------------------
# the fake
# ---------------------------------------------------------------------------


class FakeGitLab:
    """A GitLab instance with projects, merge requests, diff versions and notes.

    ``url`` is the instance address (what an admin types); the API is ``url + "/api/v4"``.
    ``prefix`` serves GitLab under a relative URL root, e.g. ``"/gitlab"``.
    ``delay`` (settable any time) makes every answer wait that many seconds.
    ``on_note(action, note)`` is called for every note created or updated.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        delay: float = 0.0,
        prefix: str = "",
        tls: tuple[str, str] | None = None,
        bot: dict | None = None,
        on_note: Any = None,
    ) -> None:
        self.token = token
        self.host, self.port = host, port
        self.delay = float(delay)
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.on_note = on_note
        self._tls = tls
        self._ssl: ssl.SSLContext | None = None
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._requests: list[RecordedRequest] = []
        self._scripts: list[_Scripted] = []
        self._mrs: dict[tuple[int, int], _MergeRequest] = {}
        self._paths: dict[str, int] = {}  # lower-cased path -> project id
        self._ids = {"mr": 88411, "version": 120310, "note": 1771100}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[Any] = set()
        self.user = _template("user_bot")
        self.user.update(bot or {})
        # Serve any MR of a project asked about, made up on first use (benchmarks).
        self.any_merge_request = False

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> FakeGitLab:
        if self._tls:
            self._ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._ssl.load_cert_chain(*self._tls)
        self._stopping.clear()
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server = self._server
        if server is None:
            return
        self._stopping.set()  # wakes delayed answers
        server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:  # unblock keep-alive connections waiting for a request
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeGitLab:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        if self._server is None:
            self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    @property
    def url(self) -> str:
        """The instance address, e.g. ``http://127.0.0.1:53121`` (plus ``prefix``)."""
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{self.host}:{self.port}{self.prefix}"

    @property
    def api_url(self) -> str:
        return self.url + "/api/v4"

    # -- test API: data ------------------------------------------------------------

    def add_merge_request(
        self,
        project_id: int = DEMO_PROJECT_ID,
        path: str = DEMO_PATH,
        iid: int = DEMO_IID,
        *,
        head_sha: str | None = None,
        base_sha: str | None = None,
        files: list | None = None,
        title: str | None = None,
        description: str | None = None,
        draft: bool = False,
        state: str = "opened",
        author: dict | None = None,
        source_branch: str = "fix/invoice-rounding",
        target_branch: str = "main",
    ) -> dict:
        """Create (or replace) an MR with one diff version; returns its GET-single JSON.

        ``files``: FileDiff objects or dicts with ``old_path``/``new_path`` (or ``path``),
        ``diff`` (hunks from ``@@``; a ``--- a/`` ``+++ b/`` header is dropped) and the
        flags ``new_file``, ``deleted_file``, ``renamed_file``, ``generated_file``,
        ``too_large``, ``collapsed``. Default: the demo MR's two files.
        """
        template = _template("merge_request")
        now = _now_iso()
        base = base_sha or _sha(f"{project_id}!{iid}:base")
        with self._lock:
            mr = _MergeRequest(
                id=self._next("mr"),
                iid=iid,
                project_id=project_id,
                path=path.strip("/"),
                title=template["title"] if title is None else title,
                description=template["description"] if description is None else description,
                state=state,
                draft=draft,
                source_branch=source_branch,
                target_branch=target_branch,
                author=self._basic_user(author or template["author"]),
                created_at=now,
                updated_at=now,
            )
            mr.versions.append(
                _Version(
                    id=self._next("version"),
                    head_sha=head_sha or _sha(f"{project_id}!{iid}:1"),
                    base_sha=base,
                    start_sha=base,
                    created_at=now,
                    files=self._files(files),
                )
            )
            self._mrs[(project_id, iid)] = mr
            self._paths[mr.path.lower()] = project_id
            return self._mr_json(mr, ready=True)

    def push(self, project_id: int, iid: int, head_sha: str, files: list | None = None) -> dict:
        """New commits: a new diff version with ``head_sha`` (and ``files``, default: the
        previous version's). Returns the version as ``/versions`` lists it."""
        with self._lock:
            mr = self._mr(project_id, iid)
            last = mr.versions[-1]
            version = _Version(
                id=self._next("version"),
                head_sha=head_sha,
                base_sha=last.base_sha,
                start_sha=last.start_sha,
                created_at=_now_iso(),
                files=self._files(files) if files is not None else copy.deepcopy(last.files),
            )
            mr.versions.append(version)
            mr.updated_at = version.created_at
            return self._version_json(mr, version)

    def diff_not_ready(self, project_id: int, iid: int, times: int = 1) -> None:
        """The next ``times`` reads of the MR, its versions or its diffs (each counts) look
        like a just-created MR whose diff GitLab has not generated yet."""
        with self._lock:
            self._mr(project_id, iid).not_ready = int(times)

    def add_note(
        self,
        project_id: int,
        iid: int,
        body: str,
        *,
        author: dict | None = None,
        system: bool = False,
    ) -> dict:
        """Seed a note (by ``author``, default the bot user) as if someone posted it."""
        with self._lock:
            mr = self._mr(project_id, iid)
            return copy.deepcopy(self._create_note(mr, body, author=author, system=system))

    def notes_of(self, project_id: int, iid: int) -> list[dict]:
        """The MR's notes in creation order, shaped as the notes API returns them."""
        with self._lock:
            return copy.deepcopy(self._mr(project_id, iid).notes)

    # -- test API: scripted answers ----------------------------------------------

    def fail_next(
        self,
        method: str | None,
        path: str | re.Pattern,
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        body: Any = None,
        headers: dict | None = None,
        content_type: str | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` instead of the real
        thing. ``path``: a suffix of the request path (encoded or decoded) or a regex.
        Without ``body``, GitLab's real body for the status is sent (429: text/plain
        "Retry later" with ``Retry-After`` and ``RateLimit-*`` headers; ``retry_after``
        overrides the wait). ``headers`` are added (a None value removes a header). Any
        status works, e.g. 200 with an HTML ``body`` for a login page in front of GitLab."""
        with self._lock:
            self._scripts.append(
                _Scripted(method, path, status, times, body, headers, retry_after, content_type)
            )

    def replay(
        self, method: str | None, path: str | re.Pattern, fixture: str, *, times: int = 1
    ) -> None:
        """Answer the next ``times`` matching requests with a fixture file, verbatim."""
        with self._lock:
            self._scripts.append(_Scripted(method, path, 0, times, fixture=fixture))

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, suffix: str, method: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if r.path.endswith(suffix) and (method is None or r.method == method)
        ]

    # -- building JSON -----------------------------------------------------------

    def _next(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def _basic_user(self, user: dict) -> dict:
        """A UserBasic entity (as in ``author``) for ``{"id", "username", "name"}``."""
        username = user.get("username") or f"user{user.get('id', 0)}"
        return {
            "id": int(user.get("id", 0)),
            "username": username,
            "name": user.get("name") or username,
            "state": user.get("state", "active"),
            "locked": False,
            "avatar_url": user.get("avatar_url")
            or f"{self.url}/uploads/-/system/user/avatar/{user.get('id', 0)}/avatar.png",
            "web_url": f"{self.url}/{username}",
        }

    def _bot_basic(self) -> dict:
        basic = self._basic_user(self.user)
        basic["avatar_url"] = self.user.get("avatar_url", basic["avatar_url"])
        return basic

    def _files(self, files: list | None) -> list[dict]:
        if files is None:
            files = [_strip_header(f) for f in _template("diffs_page")[:2]]
        return [_normalise_file(f) for f in files]

    def _mr_json(self, mr: _MergeRequest, *, ready: bool) -> dict:
        data = _template("merge_request")
        head = mr.versions[-1]
        ref = f"{mr.path}!{mr.iid}"
        user_notes = sum(1 for n in mr.notes if not n["system"])
        data.update(
            id=mr.id,
            iid=mr.iid,
            project_id=mr.project_id,
            title=mr.title,
            description=mr.description,
            state=mr.state,
            created_at=mr.created_at,
            updated_at=mr.updated_at,
            prepared_at=mr.versions[0].created_at if ready else None,
            target_branch=mr.target_branch,
            source_branch=mr.source_branch,
            user_notes_count=user_notes,
            author=mr.author,
            assignees=[mr.author],
            assignee=mr.author,
            source_project_id=mr.project_id,
            target_project_id=mr.project_id,
            draft=mr.draft,
            work_in_progress=mr.draft,
            merge_status="can_be_merged" if ready else "unchecked",
            detailed_merge_status=_merge_status(mr, ready),
            sha=head.head_sha,
            reference=f"!{mr.iid}",
            references={"short": f"!{mr.iid}", "relative": f"!{mr.iid}", "full": ref},
            web_url=f"{self.url}/{mr.path}/-/merge_requests/{mr.iid}",
            changes_count=str(len(head.files)) if ready else None,
            diff_refs={
                "base_sha": head.base_sha,
                "head_sha": head.head_sha,
                "start_sha": head.start_sha,
            }
            if ready
            else None,
        )
        return data

    def _version_json(self, mr: _MergeRequest, version: _Version) -> dict:
        data = _template("versions")[0]
        data.update(
            id=version.id,
            head_commit_sha=version.head_sha,
            base_commit_sha=version.base_sha,
            start_commit_sha=version.start_sha,
            created_at=version.created_at,
            merge_request_id=mr.id,
            state="collected",
            real_size=str(len(version.files)),
            patch_id_sha=_sha(json.dumps(version.files, sort_keys=True)),
        )
        return data

    def _create_note(
        self, mr: _MergeRequest, body: str, *, author: dict | None = None, system: bool = False
    ) -> dict:
        note = _template("note")
        now = _now_iso()
        note.update(
            id=self._next("note"),
            body=body,
            author=self._basic_user(author) if author else self._bot_basic(),
            created_at=now,
            updated_at=now,
            system=system,
            noteable_id=mr.id,
            project_id=mr.project_id,
            noteable_iid=mr.iid,
        )
        mr.notes.append(note)
        return note

    # -- request handling (called from the handler threads) -------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _track(self, conn: Any, *, add: bool) -> None:
        with self._lock:
            (self._connections.add if add else self._connections.discard)(conn)

    def _scripted(self, method: str, path: str) -> _Answer | None:
        with self._lock:
            for script in self._scripts:
                if script.remaining > 0 and script.matches(method, path):
                    script.remaining -= 1
                    self._scripts = [s for s in self._scripts if s.remaining > 0]
                    return _script_answer(script)
        return None

    def _answer(self, request: RecordedRequest, host: str) -> _Answer:
        scripted = self._scripted(request.method, request.path)
        if scripted is not None:
            return scripted
        api_root = self.prefix + "/api/v4/"
        if not request.path.startswith(api_root):
            return _Answer(404, {"Content-Type": "text/html; charset=utf-8"}, _HTML_404)
        segments = [unquote(s) for s in request.path[len(api_root) :].split("/")]
        try:
            return self._route(request, segments, host)
        except _Error as error:
            return error.answer

    def _authorised(self, request: RecordedRequest) -> bool:
        given = request.headers.get("private-token")
        bearer = request.headers.get("authorization", "")
        if bearer[:7].lower() == "bearer ":
            given = given or bearer[7:].strip()
        given = given or request.query.get("private_token") or request.query.get("access_token")
        return bool(given) and given == self.token

    def _route(self, request: RecordedRequest, segments: list[str], host: str) -> _Answer:
        # Like Grape: unknown route -> 404, wrong verb -> 405, then authentication.
        allowed = _allowed_methods(segments)
        if allowed is None:
            raise _fixture_error("error_404_route")
        if request.method not in allowed:
            headers = {"Allow": ", ".join(allowed)}
            raise _Error(_json_answer(405, {"error": "405 Not Allowed"}, headers))
        if not self._authorised(request):
            raise _fixture_error("error_401")
        with self._lock:
            if segments == ["user"]:
                return _json_answer(200, copy.deepcopy(self.user))
            mr = self._find_mr(segments[1], segments[3])
            return self._serve(mr, request.method, segments[4:], request, host)

    def _find_mr(self, project: str, iid: str) -> _MergeRequest:
        project_id = int(project) if project.isdigit() else self._paths.get(project.lower())
        if project_id is None or not any(pid == project_id for pid, _ in self._mrs):
            raise _fixture_error("error_404_project")
        if not iid.isdigit():
            raise _bad_request({"error": "merge_request_iid is invalid"})
        mr = self._mrs.get((project_id, int(iid)))
        if mr is None and self.any_merge_request:
            self.add_merge_request(
                project_id,
                f"bench/project-{project_id}",
                int(iid),
                head_sha=bench_head_sha(project_id, int(iid)),
            )
            mr = self._mrs[(project_id, int(iid))]
        if mr is None:
            raise _fixture_error("error_404_not_found")
        return mr

    def _mr(self, project_id: int, iid: int) -> _MergeRequest:
        try:
            return self._mrs[(project_id, iid)]
        except KeyError:
            raise KeyError(
                f"no merge request {project_id}!{iid}: add_merge_request first"
            ) from None

    def _take_not_ready(self, mr: _MergeRequest) -> bool:
        if mr.not_ready > 0:
            mr.not_ready -= 1
            return True
        return False

    def _serve(
        self, mr: _MergeRequest, method: str, tail: list[str], request: RecordedRequest, host: str
    ) -> _Answer:
        if not tail:
            return _json_answer(200, self._mr_json(mr, ready=not self._take_not_ready(mr)))
        if tail == ["versions"]:
            ready = not self._take_not_ready(mr)
            versions = [self._version_json(mr, v) for v in reversed(mr.versions)] if ready else []
            return _json_answer(200, versions)
        if tail == ["diffs"]:
            ready = not self._take_not_ready(mr)
            unidiff = request.query.get("unidiff", "").lower() in ("true", "1", "yes")
            files = [_file_json(f, unidiff) for f in mr.versions[-1].files] if ready else []
            return self._paginated(files, request, host)
        if tail == ["notes"] and method == "GET":
            return self._paginated(_sorted_notes(mr.notes, request.query), request, host)
        if tail == ["notes"]:
            return self._post_note(mr, request)
        return self._note_by_id(mr, method, tail[1], request)

    def _paginated(self, items: list, request: RecordedRequest, host: str) -> _Answer:
        page_items, headers = _paginate(items, request, self._link_base(request, host))
        return _json_answer(200, page_items, headers)

    def _link_base(self, request: RecordedRequest, host: str) -> str:
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{host or f'{self.host}:{self.port}'}{request.path}"

    def _post_note(self, mr: _MergeRequest, request: RecordedRequest) -> _Answer:
        body = _note_body(request)
        note = self._create_note(mr, body)
        self._notify("created", note)
        return _json_answer(201, copy.deepcopy(note))

    def _note_by_id(
        self, mr: _MergeRequest, method: str, note_id: str, request: RecordedRequest
    ) -> _Answer:
        note = next((n for n in mr.notes if note_id.isdigit() and n["id"] == int(note_id)), None)
        if note is None:
            raise _fixture_error("error_404_not_found")
        if method == "GET":
            return _json_answer(200, copy.deepcopy(note))
        if note["system"] or note["author"]["id"] != self.user["id"]:
            raise _fixture_error("error_403")  # only the author may edit a note
        note["body"] = _note_body(request)
        note["updated_at"] = _now_iso()
        self._notify("updated", note)
        return _json_answer(200, copy.deepcopy(note))

    def _notify(self, action: str, note: dict) -> None:
        if self.on_note is not None:
            self.on_note(action, copy.deepcopy(note))


# ---------------------------------------------------------------------------
# helpers for the routes
# ---------------------------------------------------------------------------

_HTML_404 = (
    b"<!DOCTYPE html>\n<html>\n<head>\n  <title>The page you're looking for could not be found "
    b"(404)</title>\n</head>\n<body>\n  <h1>404</h1>\n  <h3>Page not found</h3>\n</body>\n</html>\n"
)


def _allowed_methods(segments: list[str]) -> tuple[str, ...] | None:
    """The verbs of the route ``segments`` names, or None when there is no such route."""
    if segments == ["user"]:
        return ("GET",)
    if len(segments) < 4 or segments[0] != "projects" or segments[2] != "merge_requests":
        return None
    tail = segments[4:]
    if tail in ([], ["versions"], ["diffs"]):
        return ("GET",)
    if tail == ["notes"]:
        return ("GET", "POST")
    if len(tail) == 2 and tail[0] == "notes":
        return ("GET", "PUT")
    return None


def _merge_status(mr: _MergeRequest, ready: bool) -> str:
    if not ready:
        return "preparing"
    if mr.state != "opened":
        return "not_open"
    return "draft_status" if mr.draft else "mergeable"


def _strip_header(file: dict) -> dict:
    out = dict(file)
    out["diff"] = _hunks_only(file.get("diff") or "")
    return out


def _hunks_only(diff: str) -> str:
    lines = diff.split("\n", 2)
    if len(lines) >= 2 and lines[0].startswith("--- ") and lines[1].startswith("+++ "):
        return lines[2] if len(lines) > 2 else ""
    return diff


def _normalise_file(file: Any) -> dict:
    if dataclasses.is_dataclass(file) and not isinstance(file, type):
        file = dataclasses.asdict(file)
    if not isinstance(file, dict):
        raise TypeError(f"a file must be a FileDiff or a dict, not {type(file).__name__}")
    old = file.get("old_path") or file.get("path") or file.get("new_path")
    new = file.get("new_path") or file.get("path") or old
    if not old or not new:
        raise ValueError(f"a file needs old_path/new_path (or path): {file!r}")
    flags = {
        key: bool(file.get(key))
        for key in (
            "new_file",
            "renamed_file",
            "deleted_file",
            "generated_file",
            "too_large",
            "collapsed",
        )
    }
    return {
        "old_path": old,
        "new_path": new,
        "diff": ""
        if flags["too_large"] or flags["collapsed"]
        else _hunks_only(file.get("diff") or ""),
        "a_mode": file.get("a_mode") or ("0" if flags["new_file"] else "100644"),
        "b_mode": file.get("b_mode") or ("0" if flags["deleted_file"] else "100644"),
        **flags,
    }


def _file_json(file: dict, unidiff: bool) -> dict:
    """The Diff entity (lib/api/entities/diff.rb order); ``unidiff`` adds ---/+++ headers
    exactly as Gitlab::Git::Diff#unidiff does (nothing for an empty diff)."""
    data = _template("diffs_page")[0]
    diff = file["diff"]
    if unidiff and diff:
        old = "/dev/null" if file["new_file"] else f"a/{file['old_path']}"
        new = "/dev/null" if file["deleted_file"] else f"b/{file['new_path']}"
        diff = f"--- {old}\n+++ {new}\n" + diff
    data.update({key: file[key] for key in data if key in file}, diff=diff)
    return data


def _note_body(request: RecordedRequest) -> str:
    params = dict(request.query)
    if isinstance(request.json, dict):
        params.update(request.json)
    elif request.raw_body and "json" not in request.headers.get("content-type", ""):
        params.update(parse_qsl(request.raw_body.decode("utf-8", "replace")))
    body = params.get("body")
    if body is None:
        raise _bad_request({"error": "body is missing"})
    if not isinstance(body, str):
        raise _bad_request({"error": "body is invalid"})
    if not body.strip():
        raise _fixture_error("error_400")
    if len(body) > NOTE_MAX:
        message = '400 Bad request - Note {:note=>["is too long (maximum is 1000000 characters)"]}'
        raise _bad_request({"message": message})
    return body


def _sorted_notes(notes: list[dict], query: dict[str, str]) -> list[dict]:
    sort = query.get("sort", "desc")
    order_by = query.get("order_by", "created_at")
    if sort not in ("asc", "desc"):
        raise _bad_request({"error": "sort does not have a valid value"})
    if order_by not in ("created_at", "updated_at"):
        raise _bad_request({"error": "order_by does not have a valid value"})
    ordered = sorted(notes, key=lambda n: (n[order_by], n["id"]), reverse=sort == "desc")
    return copy.deepcopy(ordered)


def _int_param(query: dict[str, str], name: str, default: int) -> int:
    value = query.get(name)
    if value in (None, ""):
        return default
    if not value.lstrip("-").isdigit():
        raise _bad_request({"error": f"{name} is invalid"})
    return int(value)


def _paginate(items: list, request: RecordedRequest, base: str) -> tuple[list, dict[str, str]]:
    """Offset pagination as GitLab does it (Kaminari + OffsetHeaderBuilder)."""
    per_page = min(max(_int_param(request.query, "per_page", 20), 1), 100)
    page = max(_int_param(request.query, "page", 1), 1)
    total = len(items)
    total_pages = max(1, math.ceil(total / per_page))
    out_of_range = page > total_pages
    next_page = page + 1 if page < total_pages else None
    prev_page = page - 1 if page > 1 and not out_of_range else None

    def link(number: int) -> str:
        query = {k: v for k, v in request.query.items() if k not in ("page", "per_page")}
        query.update(page=str(number), per_page=str(per_page))
        return f"{base}?{urlencode(sorted(query.items()))}"

    rels = [("prev", prev_page), ("next", next_page), ("first", 1), ("last", total_pages)]
    headers = {
        "Link": ", ".join(f'<{link(n)}>; rel="{rel}"' for rel, n in rels if n is not None),
        "X-Next-Page": str(next_page or ""),
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Prev-Page": str(prev_page or ""),
        "X-Total": str(total),
        "X-Total-Pages": str(total_pages),
    }
    start = (page - 1) * per_page
    return items[start : start + per_page], headers


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _guess_type(body: Any) -> str:
    if not isinstance(body, str | bytes):
        return "application/json"
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return "text/html; charset=utf-8" if text.lstrip().startswith("<") else "text/plain"


def _script_answer(script: _Scripted) -> _Answer:
    now = time.time()
    if script.fixture is not None:
        return _Answer(*fixture_answer(script.fixture, now))
    if script.body is not None:
        headers = {"Content-Type": _guess_type(script.body)}
        raw = _encode_body(script.body)
    elif script.status in _STATUS_FIXTURES:
        _, headers, raw = fixture_answer(_STATUS_FIXTURES[script.status], now)
    else:
        message = f"{script.status} {_phrase(script.status)}".strip()
        headers, raw = {"Content-Type": "application/json"}, _encode_body({"message": message})
    if script.retry_after is not None:
        wait = script.retry_after
        headers["Retry-After"] = f"{wait:g}"
        headers.update(
            _relative_headers({"RateLimit-Reset": wait, "RateLimit-ResetTime": wait}, now)
        )
    for name, value in (script.headers or {}).items():
        for existing in [k for k in headers if k.lower() == name.lower()]:
            del headers[existing]
        if value is not None:
            headers[name] = str(value)
    if script.content_type:
        headers["Content-Type"] = script.content_type
    return _Answer(script.status, headers, raw)


# ---------------------------------------------------------------------------
# HTTP plumbing
# ---------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], fake: FakeGitLab) -> None:
        self.fake = fake
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.fake._ssl is not None:
            try:
                request.settimeout(10)
                request = self.fake._ssl.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (OSError, ssl.SSLError):
                with contextlib.suppress(OSError):
                    request.close()
                return
        self.fake._track(request, add=True)
        try:
            super().finish_request(request, client_address)
        finally:
            self.fake._track(request, add=False)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out and hang up are part of the game


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _dispatch(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        parsed = None
        if raw and "json" in headers.get("content-type", ""):
            with contextlib.suppress(ValueError):
                parsed = json.loads(raw)
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=headers,
            json=parsed,
            raw_body=raw,
        )
        fake._record(request)
        answer = fake._answer(request, headers.get("host", ""))
        if fake.delay > 0 and fake._stopping.wait(fake.delay):
            self.close_connection = True
            return  # shutting down: hang up without answering
        self._send(answer)

    def _send(self, answer: _Answer) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("X-Request-Id", _sha(f"{time.time_ns()}")[:26].upper())
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)
        self.wfile.flush()


# ---------------------------------------------------------------------------
# standalone
# ---------------------------------------------------------------------------


def _print_note(action: str, note: dict) -> None:
    stamp = time.strftime("%H:%M:%S")
    who = note["author"]["username"]
    print(
        f"\n[{stamp}] note {note['id']} {action} on {note['project_id']}!{note['noteable_iid']} "
        f"by {who}:\n{note['body']}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake GitLab REST API (for manual testing)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5003)
    parser.add_argument("--token", default="glpat-demo")
    parser.add_argument("--prefix", default="", help="relative URL root, e.g. /gitlab")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before every answer")
    parser.add_argument(
        "--not-ready", type=int, default=0, help="first N diff reads of the demo MR: not ready"
    )
    parser.add_argument(
        "--any-mr",
        action="store_true",
        help="serve any MR iid of the demo project, head commit bench_head_sha(project, iid)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not print every note")
    args = parser.parse_args(argv)
    fake = FakeGitLab(
        args.token,
        host=args.host,
        port=args.port,
        delay=args.delay,
        prefix=args.prefix,
        on_note=None if args.quiet else _print_note,
    )
    fake.any_merge_request = args.any_mr
    fake.start()
    fake.add_merge_request()
    if args.not_ready:
        fake.diff_not_ready(DEMO_PROJECT_ID, DEMO_IID, times=args.not_ready)
    print(
        f"Fake GitLab serving on {fake.url} (token {args.token}); demo MR: "
        f"{fake.url}/{DEMO_PATH}/-/merge_requests/{DEMO_IID} (project {DEMO_PROJECT_ID}); "
        "Ctrl-C to stop",
        flush=True,
    )
    sys.stdout.flush()
    fake.serve_forever()


if __name__ == "__main__":
    main()
