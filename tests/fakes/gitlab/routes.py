"""How the fake GitLab answers a request: scripted answers first, then Grape's order of
checks (unknown route 404, wrong verb 405, then authentication), then the endpoints.

`Routes` is mixed into `FakeGitLab` and works on its state (merge requests, notes, user)."""

from __future__ import annotations

import copy
import math
from urllib.parse import parse_qsl, unquote, urlencode

from tests.fakes.gitlab.answers import (
    HTML_404,
    Answer,
    GitLabError,
    bad_request,
    fixture_error,
    json_answer,
)
from tests.fakes.gitlab.entities import MergeRequest, file_json, mr_json, version_json
from tests.fakes.gitlab.fixtures import bench_head_sha, now_iso
from tests.fakes.gitlab.handler import RecordedRequest

NOTE_MAX = 1_000_000  # GitLab's limit on a note body


class Routes:
    """The endpoints; ``answer`` is what the request handler calls."""

    def answer(self, request: RecordedRequest, host: str) -> Answer:
        """The answer to ``request``; ``host`` (its Host header) makes the Link headers."""
        scripted = self._take_scripted(request.method, request.path)
        if scripted is not None:
            return scripted
        api_root = self.prefix + "/api/v4/"
        if not request.path.startswith(api_root):
            return Answer(404, {"Content-Type": "text/html; charset=utf-8"}, HTML_404)
        segments = [unquote(s) for s in request.path[len(api_root) :].split("/")]
        try:
            return self._route(request, segments, host)
        except GitLabError as error:
            return error.answer

    def _take_scripted(self, method: str, path: str) -> Answer | None:
        with self.lock:
            for script in self._scripted_answers:
                if script.remaining > 0 and script.matches(method, path):
                    script.remaining -= 1
                    left = [s for s in self._scripted_answers if s.remaining > 0]
                    self._scripted_answers = left
                    return script.answer()
        return None

    def _authorised(self, request: RecordedRequest) -> bool:
        given = request.headers.get("private-token")
        bearer = request.headers.get("authorization", "")
        if bearer[:7].lower() == "bearer ":
            given = given or bearer[7:].strip()
        given = given or request.query.get("private_token") or request.query.get("access_token")
        return bool(given) and given == self.token

    def _route(self, request: RecordedRequest, segments: list[str], host: str) -> Answer:
        allowed = _allowed_methods(segments)
        if allowed is None:
            raise fixture_error("error_404_route")
        if request.method not in allowed:
            headers = {"Allow": ", ".join(allowed)}
            raise GitLabError(json_answer(405, {"error": "405 Not Allowed"}, headers))
        if not self._authorised(request):
            raise fixture_error("error_401")
        with self.lock:
            if segments == ["user"]:
                return json_answer(200, copy.deepcopy(self.user))
            if segments[2:4] == ["members", "all"]:
                return self._member(segments[1], segments[4])
            if segments[2:4] == ["repository", "compare"]:
                return self._compare(segments[1], request)
            mr = self._find_mr(segments[1], segments[3])
            return self._serve(mr, request.method, segments[4:], request, host)

    def _compare(self, project: str, request: RecordedRequest) -> Answer:
        """GET /projects/:id/repository/compare?from=&to=: the files whose diff differs
        between the two commits' versions (404 for a commit the project does not have)."""
        project_id = int(project) if project.isdigit() else self._paths.get(project.lower())
        versions = {
            v.head_sha: v
            for (pid, _), mr in self._mrs.items()
            if pid == project_id
            for v in mr.versions
        }
        base, head = (
            versions.get(request.query.get("from", "")),
            versions.get(request.query.get("to", "")),
        )
        if base is None or head is None:
            raise GitLabError(json_answer(404, {"message": "404 Not found"}))
        before = {f["new_path"]: f["diff"] for f in base.files}
        changed = [f for f in head.files if before.get(f["new_path"]) != f["diff"]]
        unidiff = request.query.get("unidiff", "").lower() in ("true", "1", "yes")
        return json_answer(
            200,
            {
                "commits": [],
                "diffs": [file_json(f, unidiff) for f in changed],
                "compare_timeout": False,
                "compare_same_ref": base is head,
            },
        )

    def _member(self, project: str, user_id: str) -> Answer:
        """GET /projects/:id/members/all/:user_id: direct and inherited members."""
        level = self.members.get(int(user_id)) if user_id.isdigit() else None
        if level is None:
            raise GitLabError(json_answer(404, {"message": "404 Not found"}))
        member = {"id": int(user_id), "username": f"user{user_id}", "state": "active"}
        return json_answer(200, {**member, "access_level": level})

    def _find_mr(self, project: str, iid: str) -> MergeRequest:
        project_id = int(project) if project.isdigit() else self._paths.get(project.lower())
        if project_id is None or not any(pid == project_id for pid, _ in self._mrs):
            raise fixture_error("error_404_project")
        if not iid.isdigit():
            raise bad_request({"error": "merge_request_iid is invalid"})
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
            raise fixture_error("error_404_not_found")
        return mr

    def _take_not_ready(self, mr: MergeRequest) -> bool:
        if mr.not_ready > 0:
            mr.not_ready -= 1
            return True
        return False

    def _serve(
        self, mr: MergeRequest, method: str, tail: list[str], request: RecordedRequest, host: str
    ) -> Answer:
        if not tail:
            return json_answer(200, mr_json(mr, self.url, ready=not self._take_not_ready(mr)))
        if tail == ["versions"]:
            ready = not self._take_not_ready(mr)
            versions = [version_json(mr, v) for v in reversed(mr.versions)] if ready else []
            return json_answer(200, versions)
        if tail == ["diffs"]:
            ready = not self._take_not_ready(mr)
            unidiff = request.query.get("unidiff", "").lower() in ("true", "1", "yes")
            files = [file_json(f, unidiff) for f in mr.versions[-1].files] if ready else []
            return self._paginated(files, request, host)
        if tail == ["discussions"]:
            if method == "GET":
                return self._paginated(copy.deepcopy(mr.discussions), request, host)
            return self._post_discussion(mr, request)
        if len(tail) == 2 and tail[0] == "discussions":
            return self._resolve_discussion(mr, tail[1], request)
        if tail == ["notes"] and method == "GET":
            return self._paginated(_sorted_notes(mr.notes, request.query), request, host)
        if tail == ["notes"]:
            return self._post_note(mr, request)
        return self._note_by_id(mr, method, tail[1], request)

    def _paginated(self, items: list, request: RecordedRequest, host: str) -> Answer:
        page_items, headers = _paginate(items, request, self._link_base(request, host))
        return json_answer(200, page_items, headers)

    def _link_base(self, request: RecordedRequest, host: str) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{host or f'{self.host}:{self.port}'}{request.path}"

    def _post_discussion(self, mr: MergeRequest, request: RecordedRequest) -> Answer:
        """A diff discussion: the position must name the latest version's refs and a line on
        the new side of that file's diff, as GitLab checks (else 400 with its words)."""
        body = _note_body(request)
        position = (request.json or {}).get("position") if isinstance(request.json, dict) else None
        version = mr.versions[-1]
        refs = (version.base_sha, version.start_sha, version.head_sha)
        if not isinstance(position, dict) or position.get("position_type") != "text":
            raise bad_request({"message": "400 Bad request - position is invalid"})
        if (position.get("base_sha"), position.get("start_sha"), position.get("head_sha")) != refs:
            raise bad_request(
                {"message": {"base": ["The position is outdated: the diff refs do not match"]}}
            )
        patch = next(
            (f["diff"] for f in version.files if f["new_path"] == position.get("new_path")), None
        )
        if patch is None or position.get("new_line") not in _new_lines(patch):
            raise bad_request(
                {"message": {"line_code": ["can't be blank", "must be a valid line code"]}}
            )
        note = self._create_note(mr, body)
        note |= {
            "type": "DiffNote",
            "position": dict(position),
            "resolvable": True,
            "resolved": False,
        }
        mr.notes.remove(
            next(n for n in mr.notes if n["id"] == note["id"])
        )  # a diff note, not a comment
        discussion = {"id": f"{note['id']:040x}"[-40:], "individual_note": False, "notes": [note]}
        mr.discussions.append(discussion)
        return json_answer(201, copy.deepcopy(discussion))

    def _resolve_discussion(
        self, mr: MergeRequest, discussion_id: str, request: RecordedRequest
    ) -> Answer:
        discussion = next((d for d in mr.discussions if d["id"] == discussion_id), None)
        if discussion is None:
            raise fixture_error("error_404_not_found")
        resolved = str(request.query.get("resolved", "")).lower() in ("true", "1")
        for note in discussion["notes"]:
            note["resolved"] = resolved
        return json_answer(200, copy.deepcopy(discussion))

    def _post_note(self, mr: MergeRequest, request: RecordedRequest) -> Answer:
        body = _note_body(request)
        note = self._create_note(mr, body)
        self._notify("created", note)
        return json_answer(201, copy.deepcopy(note))

    def _note_by_id(
        self, mr: MergeRequest, method: str, note_id: str, request: RecordedRequest
    ) -> Answer:
        note = next((n for n in mr.notes if note_id.isdigit() and n["id"] == int(note_id)), None)
        if note is None:
            raise fixture_error("error_404_not_found")
        if method == "GET":
            return json_answer(200, copy.deepcopy(note))
        if note["system"] or note["author"]["id"] != self.user["id"]:
            raise fixture_error("error_403")  # only the author may edit a note
        note["body"] = _note_body(request)
        note["updated_at"] = now_iso()
        self._notify("updated", note)
        return json_answer(200, copy.deepcopy(note))

    def _notify(self, action: str, note: dict) -> None:
        if self.on_note is not None:
            self.on_note(action, copy.deepcopy(note))


# -- request parsing and lists -------------------------------------------------------------


def _allowed_methods(segments: list[str]) -> tuple[str, ...] | None:
    """The verbs of the route ``segments`` names, or None when there is no such route."""
    if segments == ["user"]:
        return ("GET",)
    if len(segments) == 5 and segments[0] == "projects" and segments[2:4] == ["members", "all"]:
        return ("GET",)
    if (
        len(segments) == 4
        and segments[0] == "projects"
        and segments[2:4] == ["repository", "compare"]
    ):
        return ("GET",)
    if len(segments) < 4 or segments[0] != "projects" or segments[2] != "merge_requests":
        return None
    tail = segments[4:]
    if tail in ([], ["versions"], ["diffs"]):
        return ("GET",)
    if tail == ["notes"]:
        return ("GET", "POST")
    if tail == ["discussions"]:
        return ("GET", "POST")
    if len(tail) == 2 and tail[0] == "discussions":
        return ("PUT",)
    if len(tail) == 2 and tail[0] == "notes":
        return ("GET", "PUT")
    return None


def _new_lines(patch: str) -> set[int]:
    lines, number = set(), 0
    for text in patch.splitlines():
        if text.startswith("@@"):
            number = int(text.split("+", 1)[1].split(",")[0].split(" ")[0])
        elif number and not text.startswith(("-", "\\")):
            lines.add(number)
            number += 1
    return lines


def _note_body(request: RecordedRequest) -> str:
    """The ``body`` parameter, from the query, a JSON body or a form body, as Grape reads it."""
    params = dict(request.query)
    if isinstance(request.json, dict):
        params.update(request.json)
    elif request.raw_body and "json" not in request.headers.get("content-type", ""):
        params.update(parse_qsl(request.raw_body.decode("utf-8", "replace")))
    body = params.get("body")
    if body is None:
        raise bad_request({"error": "body is missing"})
    if not isinstance(body, str):
        raise bad_request({"error": "body is invalid"})
    if not body.strip():
        raise fixture_error("error_400")
    if len(body) > NOTE_MAX:
        message = '400 Bad request - Note {:note=>["is too long (maximum is 1000000 characters)"]}'
        raise bad_request({"message": message})
    return body


def _sorted_notes(notes: list[dict], query: dict[str, str]) -> list[dict]:
    sort = query.get("sort", "desc")
    order_by = query.get("order_by", "created_at")
    if sort not in ("asc", "desc"):
        raise bad_request({"error": "sort does not have a valid value"})
    if order_by not in ("created_at", "updated_at"):
        raise bad_request({"error": "order_by does not have a valid value"})
    ordered = sorted(notes, key=lambda n: (n[order_by], n["id"]), reverse=sort == "desc")
    return copy.deepcopy(ordered)


def _int_param(query: dict[str, str], name: str, default: int) -> int:
    value = query.get(name)
    if value in (None, ""):
        return default
    if not value.lstrip("-").isdigit():
        raise bad_request({"error": f"{name} is invalid"})
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
