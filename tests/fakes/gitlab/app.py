"""The fake GitLab's state (projects, merge requests, diff versions, notes, the bot user)
and what tests call on it to set it up, script failures and read what clients sent."""

from __future__ import annotations

import copy
import json
import re
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fakes.base import FakeServer
from tests.fakes.gitlab.answers import Scripted
from tests.fakes.gitlab.entities import (
    MergeRequest,
    Version,
    basic_user,
    default_files,
    mr_json,
    normalise_file,
    version_json,
)
from tests.fakes.gitlab.fixtures import now_iso, sha, template
from tests.fakes.gitlab.handler import GitLabHandler, RecordedRequest
from tests.fakes.gitlab.routes import Routes

WEBHOOK_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gitlab"
DEFAULT_TOKEN = "glpat-hub-test-token"
DEMO_PROJECT_ID = 1187
DEMO_PATH = "payments/billing-service"
DEMO_IID = 342


class FakeGitLab(Routes, FakeServer[RecordedRequest]):
    """A GitLab instance with projects, merge requests, diff versions and notes.

    ``url`` is the instance address (what an admin types); the API is ``url + "/api/v4"``.
    ``prefix`` serves GitLab under a relative URL root, e.g. ``"/gitlab"``.
    ``delay`` (settable any time) makes every answer wait that many seconds.
    ``on_note(action, note)`` is called for every note created or updated.
    """

    handler = GitLabHandler

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
        on_note: Callable[[str, dict], Any] | None = None,
    ) -> None:
        context = None
        if tls:  # (certfile, keyfile): serve https
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
        super().__init__(host=host, port=port, ssl_context=context)
        self.token = token
        self.delay = float(delay)
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.on_note = on_note
        # Matched by method and path, first match wins, each with its own count: not the
        # base's per-kind queues.
        self._scripted_answers: list[Scripted] = []
        self._mrs: dict[tuple[int, int], MergeRequest] = {}
        self._paths: dict[str, int] = {}  # lower-cased path -> project id
        self._ids = {"mr": 88411, "version": 120310, "note": 1771100}
        self.user = template("user_bot")
        self.user.update(bot or {})
        # Serve any MR of a project asked about, made up on first use (benchmarks).
        self.any_merge_request = False
        # Project members (user id -> access level, 30 = Developer), for every project: the
        # people who comment in the captured note payloads are the projects' Developers.
        self.members: dict[int, int] = dict.fromkeys(_commenters(), 30)

    @property
    def url(self) -> str:
        """The instance address, e.g. ``http://127.0.0.1:53121`` (plus ``prefix``)."""
        return self.base_url + self.prefix

    @property
    def api_url(self) -> str:
        return self.url + "/api/v4"

    # -- test API: data ------------------------------------------------------------------

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
        defaults = template("merge_request")
        now = now_iso()
        base = base_sha or sha(f"{project_id}!{iid}:base")
        with self.lock:
            mr = MergeRequest(
                id=self._next("mr"),
                iid=iid,
                project_id=project_id,
                path=path.strip("/"),
                title=defaults["title"] if title is None else title,
                description=defaults["description"] if description is None else description,
                state=state,
                draft=draft,
                source_branch=source_branch,
                target_branch=target_branch,
                author=basic_user(author or defaults["author"], self.url),
                created_at=now,
                updated_at=now,
            )
            mr.versions.append(
                Version(
                    id=self._next("version"),
                    head_sha=head_sha or sha(f"{project_id}!{iid}:1"),
                    base_sha=base,
                    start_sha=base,
                    created_at=now,
                    files=self._files(files),
                )
            )
            self._mrs[(project_id, iid)] = mr
            self._paths[mr.path.lower()] = project_id
            return mr_json(mr, self.url, ready=True)

    def push(self, project_id: int, iid: int, head_sha: str, files: list | None = None) -> dict:
        """New commits: a new diff version with ``head_sha`` (and ``files``, default: the
        previous version's). Returns the version as ``/versions`` lists it."""
        with self.lock:
            mr = self._mr(project_id, iid)
            last = mr.versions[-1]
            version = Version(
                id=self._next("version"),
                head_sha=head_sha,
                base_sha=last.base_sha,
                start_sha=last.start_sha,
                created_at=now_iso(),
                files=self._files(files) if files is not None else copy.deepcopy(last.files),
            )
            mr.versions.append(version)
            mr.updated_at = version.created_at
            return version_json(mr, version)

    def diff_not_ready(self, project_id: int, iid: int, times: int = 1) -> None:
        """The next ``times`` reads of the MR, its versions or its diffs (each counts) look
        like a just-created MR whose diff GitLab has not generated yet."""
        with self.lock:
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
        with self.lock:
            mr = self._mr(project_id, iid)
            return copy.deepcopy(self._create_note(mr, body, author=author, system=system))

    def versions_of(self, project_id: int, iid: int) -> list[dict]:
        """The MR's diff versions, oldest first, shaped as ``/versions`` lists them."""
        with self.lock:
            mr = self._mr(project_id, iid)
            return [version_json(mr, v) for v in mr.versions]

    def discussions_of(self, project_id: int, iid: int) -> list[dict]:
        """The MR's diff discussions in creation order."""
        with self.lock:
            return copy.deepcopy(self._mr(project_id, iid).discussions)

    def notes_of(self, project_id: int, iid: int) -> list[dict]:
        """The MR's notes in creation order, shaped as the notes API returns them."""
        with self.lock:
            return copy.deepcopy(self._mr(project_id, iid).notes)

    # -- test API: scripted answers ------------------------------------------------------

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
        with self.lock:
            self._scripted_answers.append(
                Scripted(method, path, status, times, body, headers, retry_after, content_type)
            )

    def replay(
        self, method: str | None, path: str | re.Pattern, fixture: str, *, times: int = 1
    ) -> None:
        """Answer the next ``times`` matching requests with a fixture file, verbatim."""
        with self.lock:
            self._scripted_answers.append(Scripted(method, path, 0, times, fixture=fixture))

    # -- test API: what was received -----------------------------------------------------

    def requests_to(self, suffix: str, method: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if r.path.endswith(suffix) and (method is None or r.method == method)
        ]

    # -- state helpers (callers hold the lock) -------------------------------------------

    def _next(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def _files(self, files: list | None) -> list[dict]:
        return [normalise_file(f) for f in (default_files() if files is None else files)]

    def _mr(self, project_id: int, iid: int) -> MergeRequest:
        try:
            return self._mrs[(project_id, iid)]
        except KeyError:
            raise KeyError(
                f"no merge request {project_id}!{iid}: add_merge_request first"
            ) from None

    def _create_note(
        self, mr: MergeRequest, body: str, *, author: dict | None = None, system: bool = False
    ) -> dict:
        note = template("note")
        now = now_iso()
        note.update(
            id=self._next("note"),
            body=body,
            author=basic_user(author, self.url) if author else self._bot_basic(),
            created_at=now,
            updated_at=now,
            system=system,
            noteable_id=mr.id,
            project_id=mr.project_id,
            noteable_iid=mr.iid,
        )
        mr.notes.append(note)
        return note

    def _bot_basic(self) -> dict:
        basic = basic_user(self.user, self.url)
        basic["avatar_url"] = self.user.get("avatar_url", basic["avatar_url"])
        return basic


def _commenters() -> set[int]:
    ids = set()
    for path in WEBHOOK_FIXTURES.glob("note_*.json"):
        user = json.loads(path.read_text()).get("body", {}).get("user") or {}
        if isinstance(user.get("id"), int):
            ids.add(user["id"])
    return ids
