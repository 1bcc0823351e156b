"""A fake GitHub REST API (GitHub Enterprise Server layout, under ``/api/v3``).

It answers as GitHub documents and as the exchanges in tests/fixtures/github/api show:
``Authorization: Bearer`` or ``token``; 401 "Bad credentials"; 404 "Not Found" for what the
token cannot see; lists of at most ``per_page`` (default 30, at most 100) with a ``Link``
header whose next page is under ``/repositories/<id>/…``, as api.github.com sends it; the
``x-ratelimit-*`` headers on every answer; 422 "Validation Failed" for a comment body over
65536 characters. Pull requests start from the pull_request object of a real delivery
(tests/fixtures/github/webhooks/pull_request.opened.json), which is the REST API's shape.

A GitHub App is served too (``enable_app``): ``GET /app`` and ``POST
/app/installations/{id}/access_tokens`` take the app's RS256 JWT (checked with its public key:
issuer, expiry at most 10 minutes after issue), and the installation tokens handed out are
then accepted like a personal token, except on ``GET /user``, which GitHub refuses them.

Tests script failures with ``fail(method, path_pattern, status, body, headers, times)``.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt

from tests.fakes.base import FakeServer, RecordedRequest

WEBHOOKS = Path(__file__).resolve().parent.parent / "fixtures" / "github" / "webhooks"
DEFAULT_TOKEN = "ghp_hubTestToken0123456789abcdefABCDEF"
DOCS = "https://docs.github.com/rest"
COMMENT_LIMIT = 65536


@dataclass
class Scripted:
    method: str
    pattern: re.Pattern
    status: int
    body: Any
    headers: dict[str, str]
    times: int


@dataclass
class Repository:
    id: int
    full_name: str
    pulls: dict[int, dict] = field(default_factory=dict)
    files: dict[int, list[dict]] = field(default_factory=dict)
    comments: dict[int, list[dict]] = field(default_factory=dict)
    line_comments: dict[int, list[dict]] = field(default_factory=dict)  # reviews' comments
    reviews: dict[int, list[dict]] = field(default_factory=dict)
    compares: dict[tuple[str, str], list[dict]] = field(default_factory=dict)  # (base, head)


def new_lines(patch: str) -> set[int]:
    """The new-side lines of one file's patch (added or context), as GitHub resolves them."""
    lines, number = set(), 0
    for text in (patch or "").splitlines():
        if text.startswith("@@"):
            number = int(re.search(r"\+(\d+)", text).group(1))
        elif number and not text.startswith(("-", "\\")):
            lines.add(number)
            number += 1
    return lines


def real_pull_request() -> dict:
    payload = json.loads((WEBHOOKS / "pull_request.opened.json").read_text())
    return payload["pull_request"]


def file_entry(path: str, patch: str | None, status: str = "modified", **extra: Any) -> dict:
    lines = (patch or "").splitlines()
    additions = sum(1 for x in lines if x.startswith("+"))
    deletions = sum(1 for x in lines if x.startswith("-"))
    entry = {
        "sha": "bbcd538c8e72b8c175046e27cc8f907076331401",
        "filename": path,
        "status": status,
        "additions": additions,
        "deletions": deletions,
        "changes": additions + deletions,
        "blob_url": f"https://github.com/o/r/blob/HEAD/{path}",
        "raw_url": f"https://github.com/o/r/raw/HEAD/{path}",
        "contents_url": f"https://api.github.com/repos/o/r/contents/{path}",
        **extra,
    }
    if patch is not None:
        entry["patch"] = patch
    return entry


class FakeGitHub(FakeServer[RecordedRequest]):
    scheme_path = ""
    api_prefix = "/api/v3"
    auth_schemes = ("bearer", "token")

    def __init__(self, token: str = DEFAULT_TOKEN, *, bot_login: str = "dify-hub-bot") -> None:
        super().__init__()
        self.token = token
        self.user = {"login": bot_login, "id": 9_100_001, "type": "User", "site_admin": False}
        self.repos: dict[str, Repository] = {}
        self.scripted: list[Scripted] = []
        self.remaining = 5000
        self._comment_id = 1_900_000_000
        self.app: dict | None = None  # id, slug, public key, installations
        self.installation_tokens: dict[str, int] = {}  # token -> installation id

    def enable_app(self, app_id: int, slug: str, public_key: str, installations: set[int]) -> None:
        self.app = {"id": app_id, "slug": slug, "key": public_key, "installations": installations}

    @property
    def url(self) -> str:
        """What an admin types for an Enterprise Server: the host; the API is /api/v3."""
        return self.base_url

    # -- set-up ------------------------------------------------------------------------

    def add_pull_request(
        self, repository: str, number: int, *, files: list[dict] | None = None, **fields: Any
    ) -> dict:
        repo = self.repos.setdefault(
            repository.lower(), Repository(id=1_296_269 + len(self.repos), full_name=repository)
        )
        pr = self.pull_request_template()
        pr.update(number=number, html_url=f"https://github.com/{repository}/pull/{number}")
        for key, value in fields.items():
            if key in ("head_sha", "base_sha"):
                pr["head" if key == "head_sha" else "base"]["sha"] = value
            else:
                pr[key] = value
        repo.pulls[number] = pr
        repo.files[number] = (
            files
            if files is not None
            else [file_entry("README.md", "@@ -1 +1 @@\n-Hello\n+Hello, World")]
        )
        repo.comments.setdefault(number, [])
        return pr

    def pull_request_template(self) -> dict:
        return real_pull_request()

    def extra_route(self, request: RecordedRequest, repo: Repository, rest: str):
        """A forge's own repository routes (subclasses); None: not one of them."""
        return None

    def comments(self, repository: str, number: int) -> list[dict]:
        return copy.deepcopy(self.repos[repository.lower()].comments.get(number, []))

    def fail(
        self,
        method: str,
        pattern: str,
        status: int,
        body: Any = None,
        headers: dict | None = None,
        *,
        times: int = 1,
    ) -> None:
        with self.lock:
            self.scripted.append(
                Scripted(method.upper(), re.compile(pattern), status, body, headers or {}, times)
            )

    # -- answering ---------------------------------------------------------------------

    def answer(self, request: RecordedRequest) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            self.remaining = max(0, self.remaining - 1)
            for script in self.scripted:
                if (
                    script.times
                    and script.method == request.method
                    and script.pattern.search(request.path)
                ):
                    script.times -= 1
                    return script.status, script.body, script.headers
        auth = request.header("authorization") or ""
        scheme, _, given = auth.partition(" ")
        path = request.path.removeprefix(self.api_prefix)
        if path == "/app" or path.startswith("/app/"):
            return self._app_call(request, path, given)
        installation = given in self.installation_tokens
        if scheme.lower() not in self.auth_schemes or (given != self.token and not installation):
            return (
                401,
                {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"},
                {},
            )
        if path == "/user" and request.method == "GET":
            if installation:
                return (
                    403,
                    {"message": "Resource not accessible by integration", "status": "403"},
                    {},
                )
            return 200, self.user, {}
        return self._repository_call(request, path)

    def _app_call(self, request: RecordedRequest, path: str, given: str) -> tuple[int, Any, dict]:
        refused = {
            "message": "A JSON web token could not be decoded",
            "documentation_url": DOCS,
            "status": "401",
        }
        if self.app is None:
            return _not_found()
        try:
            claims = jwt.decode(
                given,
                self.app["key"],
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"]},
            )
        except jwt.PyJWTError:
            return 401, refused, {}
        if str(claims["iss"]) != str(self.app["id"]) or claims["exp"] - claims["iat"] > 660:
            return 401, refused, {}
        if path == "/app" and request.method == "GET":
            return (
                200,
                {"id": self.app["id"], "slug": self.app["slug"], "name": self.app["slug"]},
                {},
            )
        match = re.fullmatch(r"/app/installations/(\d+)/access_tokens", path)
        if not match or request.method != "POST" or int(match[1]) not in self.app["installations"]:
            return _not_found()
        token = "ghs_" + secrets.token_hex(18)
        with self.lock:
            self.installation_tokens[token] = int(match[1])
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        return 201, {"token": token, "expires_at": expires, "repository_selection": "all"}, {}

    def _repository_call(self, request: RecordedRequest, path: str) -> tuple[int, Any, dict]:
        match = re.fullmatch(r"/(?:repos/([^/]+/[^/]+)|repositories/(\d+))(/.*)", path)
        repo = None
        if match:
            name, repo_id, rest = match.groups()
            repo = (
                self.repos.get(name.lower())
                if name
                else next((r for r in self.repos.values() if str(r.id) == repo_id), None)
            )
        if repo is None:
            return _not_found()
        method = request.method
        if (answer := self.extra_route(request, repo, rest)) is not None:
            return answer
        if m := re.fullmatch(r"/pulls/(\d+)", rest):
            pr = repo.pulls.get(int(m[1]))
            return (200, pr, {}) if pr and method == "GET" else _not_found()
        if (m := re.fullmatch(r"/compare/([0-9a-f]+)\.\.\.([0-9a-f]+)", rest)) and method == "GET":
            files = repo.compares.get((m[1], m[2]))
            return (
                (200, {"status": "ahead", "files": files}, {})
                if files is not None
                else _not_found()
            )
        if m := re.fullmatch(r"/pulls/(\d+)/comments", rest):
            if int(m[1]) not in repo.pulls or method != "GET":
                return _not_found()
            return self._page(request, repo, rest, repo.line_comments.setdefault(int(m[1]), []))
        if (m := re.fullmatch(r"/pulls/(\d+)/reviews", rest)) and method == "POST":
            if int(m[1]) not in repo.pulls:
                return _not_found()
            return self._create_review(request, repo, int(m[1]))
        if m := re.fullmatch(r"/pulls/(\d+)/files", rest):
            if int(m[1]) not in repo.pulls or method != "GET":
                return _not_found()
            return self._page(request, repo, rest, repo.files[int(m[1])])
        if m := re.fullmatch(r"/issues/(\d+)/comments", rest):
            thread = repo.comments.get(int(m[1]))
            if thread is None:
                return _not_found()
            if method == "GET":
                return self._page(request, repo, rest, thread)
            if method == "POST":
                return self._write_comment(request, repo, thread, None)
        if (m := re.fullmatch(r"/issues/comments/(\d+)", rest)) and method == "PATCH":
            for thread in repo.comments.values():
                for comment in thread:
                    if comment["id"] == int(m[1]):
                        return self._write_comment(request, repo, thread, comment)
        return _not_found()

    def _write_comment(self, request, repo, thread, existing) -> tuple[int, Any, dict]:
        body = (request.json or {}).get("body") if isinstance(request.json, dict) else None
        if not isinstance(body, str) or not body:
            return (
                422,
                {
                    "message": "Validation Failed",
                    "errors": [
                        {"resource": "IssueComment", "code": "missing_field", "field": "body"}
                    ],
                    "documentation_url": DOCS,
                    "status": "422",
                },
                {},
            )
        if len(body) > COMMENT_LIMIT:
            return (
                422,
                {
                    "message": "Validation Failed",
                    "errors": [
                        {
                            "resource": "IssueComment",
                            "code": "unprocessable",
                            "field": "data",
                            "message": f"Body is too long (maximum is {COMMENT_LIMIT} characters)",
                        }
                    ],
                    "documentation_url": DOCS,
                    "status": "422",
                },
                {},
            )
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if existing is not None:
            existing.update(body=body, updated_at=stamp)
            return 200, existing, {}
        with self.lock:
            self._comment_id += 1
            comment_id = self._comment_id
        comment = {
            "id": comment_id,
            "html_url": f"https://github.com/{repo.full_name}/pull/0#issuecomment-{comment_id}",
            "body": body,
            "user": self._author(request),
            "created_at": stamp,
            "updated_at": stamp,
            "author_association": "NONE",
        }
        thread.append(comment)
        return (
            201,
            comment,
            {
                "Location": f"{self.base_url}{self.api_prefix}/repos/{repo.full_name}/issues/comments/{comment_id}"
            },
        )

    def _create_review(self, request: RecordedRequest, repo: Repository, number: int):
        """As GitHub does: every comment must resolve to a line of the diff, or nothing posts."""
        body = request.json if isinstance(request.json, dict) else {}
        patches = {f["filename"]: f.get("patch") for f in repo.files.get(number, [])}
        comments = body.get("comments") or []
        for c in comments:
            lines = new_lines(patches.get(c.get("path")) or "")
            wanted = {c.get("line"), c.get("start_line", c.get("line"))}
            if c.get("side") != "RIGHT" or not wanted <= lines:
                errors = (
                    ["Line could not be resolved"]
                    if c.get("path") in patches
                    else ["Path could not be resolved"]
                )
                return (
                    422,
                    {"message": "Unprocessable Entity", "errors": errors, "status": "422"},
                    {},
                )
        with self.lock:
            self._comment_id += 1
            review_id = self._comment_id
            author = self._author(request)
            repo.reviews.setdefault(number, []).append(
                {
                    "id": review_id,
                    "user": author,
                    "state": "COMMENTED",
                    "commit_id": body.get("commit_id"),
                }
            )
            for c in comments:
                self._comment_id += 1
                repo.line_comments.setdefault(number, []).append(
                    {
                        "id": self._comment_id,
                        "pull_request_review_id": review_id,
                        "body": c["body"],
                        "path": c["path"],
                        "line": c["line"],
                        "start_line": c.get("start_line"),
                        "side": "RIGHT",
                        "user": author,
                        "html_url": f"https://github.com/{repo.full_name}/pull/{number}#discussion_r{self._comment_id}",
                    }
                )
        return 200, {"id": review_id, "state": "COMMENTED", "user": author}, {}

    def line_comments(self, repository: str, number: int) -> list[dict]:
        return copy.deepcopy(self.repos[repository.lower()].line_comments.get(number, []))

    def _author(self, request: RecordedRequest) -> dict:
        """Who a write is made as: an App's installation token writes as ``<slug>[bot]``."""
        token = (request.header("authorization") or "").partition(" ")[2]
        if token in self.installation_tokens and self.app is not None:
            return {"login": f"{self.app['slug']}[bot]", "id": self.app["id"], "type": "Bot"}
        return dict(self.user)

    def _page(self, request, repo, rest, items) -> tuple[int, Any, dict]:
        per_page = min(100, max(1, int(request.query.get("per_page") or 30)))
        page = max(1, int(request.query.get("page") or 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(items) // per_page))
        headers = {}
        if page < last:
            base = (
                f"{self.base_url}{self.api_prefix}/repositories/{repo.id}{rest}?per_page={per_page}"
            )
            headers["Link"] = (
                f'<{base}&page={page + 1}>; rel="next", <{base}&page={last}>; rel="last"'
            )
        return 200, chunk, headers


def _not_found() -> tuple[int, Any, dict]:
    return 404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"}, {}


class GitHubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "github.com"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return

    def do_GET(self) -> None:
        fake: FakeGitHub = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        parsed = None
        with contextlib.suppress(ValueError):
            parsed = json.loads(raw) if raw else None
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query)),
            headers={k.lower(): v for k, v in self.headers.items()},
            json=parsed,
            raw_body=raw,
        )
        fake.record(request)
        status, body, headers = fake.answer(request)
        data = (
            body
            if isinstance(body, bytes)
            else json.dumps(body).encode()
            if body is not None
            else b""
        )
        sent = {
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": str(fake.remaining),
            "X-RateLimit-Reset": str(int(time.time()) + 3600),
            "X-RateLimit-Resource": "core",
        }
        if not isinstance(body, bytes):
            sent["Content-Type"] = "application/json; charset=utf-8"
        # A scripted header replaces the default of the same name, whatever its case.
        scripted = {name.lower() for name in headers}
        sent = {k: v for k, v in sent.items() if k.lower() not in scripted} | headers
        self.send_response(status)
        for name, value in sent.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_PATCH = do_PUT = do_DELETE = do_GET


FakeGitHub.handler = GitHubHandler
