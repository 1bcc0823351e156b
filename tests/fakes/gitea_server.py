"""A fake Gitea (or Forgejo) REST API under ``/api/v1``, on the fake GitHub's machinery.

It answers as Gitea's API does (``routers/api/v1``): ``Authorization: token …`` only; errors
as ``{"message", "url"}``; ``/pulls/{index}.diff`` as plain text (the files list carries no
patch); comments unpaginated; ``/collaborators/{user}/permission`` with ``read``, ``write``,
``admin`` or ``owner`` (404 for a user it does not know). Pull requests start from the
pull_request object of a real Gitea delivery (tests/fixtures/gitea/webhooks/
gitea.HookPullRequestUpdated.json), which is the API's shape.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from tests.fakes.base import RecordedRequest
from tests.fakes.github_server import FakeGitHub, Repository

WEBHOOKS = Path(__file__).resolve().parent.parent / "fixtures" / "gitea" / "webhooks"
DEFAULT_TOKEN = "6d5b3f0f1c2a4e8b9d7c6a5b4e3f2a1b0c9d8e7f"
SWAGGER = "https://gitea.example.com/api/swagger"
DIFF = """diff --git a/README.md b/README.md
index 5e1c309..8ab686e 100644
--- a/README.md
+++ b/README.md
@@ -1 +1 @@
-Hello World
+Hello, World!
diff --git a/logo.png b/logo.png
new file mode 100644
index 0000000..d6fc9e1
Binary files /dev/null and b/logo.png differ
"""


class FakeGitea(FakeGitHub):
    api_prefix = "/api/v1"
    auth_schemes = ("token",)

    def __init__(self, token: str = DEFAULT_TOKEN, *, bot_login: str = "dify-hub-bot") -> None:
        super().__init__(token, bot_login=bot_login)
        self.user = {"id": 7, "login": bot_login, "username": bot_login, "is_admin": False}
        self.diffs: dict[tuple[str, int], str] = {}
        self.permissions: dict[str, str] = {}  # login -> read | write | admin | owner

    def pull_request_template(self) -> dict:
        payload = json.loads((WEBHOOKS / "gitea.HookPullRequestUpdated.json").read_text())
        return copy.deepcopy(payload["pull_request"])

    def add_pull_request(
        self, repository: str, number: int, *, diff: str = DIFF, **fields: Any
    ) -> dict:
        pr = super().add_pull_request(repository, number, files=[], **fields)
        pr["html_url"] = f"{self.base_url}/{repository}/pulls/{number}"
        self.diffs[(repository.lower(), number)] = diff
        return pr

    def extra_route(self, request: RecordedRequest, repo: Repository, rest: str):
        if m := re.fullmatch(r"/pulls/(\d+)/reviews(?:/(\d+)/comments)?", rest):
            return self._reviews(request, repo, int(m[1]), m[2])
        if request.method != "GET":
            return None
        if m := re.fullmatch(r"/pulls/(\d+)\.diff", rest):
            diff = self.diffs.get((repo.full_name.lower(), int(m[1])))
            if diff is None:
                return _not_found()
            return 200, diff.encode(), {"Content-Type": "text/plain; charset=utf-8"}
        if m := re.fullmatch(r"/collaborators/([^/]+)/permission", rest):
            permission = self.permissions.get(m[1])
            if permission is None:
                return (
                    404,
                    {"message": f"user does not exist [uid: 0, name: {m[1]}]", "url": SWAGGER},
                    {},
                )
            return (
                200,
                {"permission": permission, "role_name": permission, "user": {"login": m[1]}},
                {},
            )
        if re.fullmatch(r"/issues/(\d+)/comments", rest):  # Gitea lists them all at once
            number = int(rest.split("/")[2])
            thread = repo.comments.get(number)
            return (200, copy.deepcopy(thread), {}) if thread is not None else _not_found()
        return None

    def _reviews(self, request: RecordedRequest, repo: Repository, number: int, review_id):
        """Gitea keeps line comments per review; ``new_position`` is the new file's line."""
        if number not in repo.pulls:
            return _not_found()
        reviews = repo.reviews.setdefault(number, [])
        if request.method == "POST" and review_id is None:
            body = request.json if isinstance(request.json, dict) else {}
            with self.lock:
                self._comment_id += 1
                review = {
                    "id": self._comment_id,
                    "user": dict(self.user),
                    "body": body.get("body", ""),
                    "state": "COMMENT",
                    "commit_id": body.get("commit_id"),
                }
                reviews.append(review)
                pull_url = f"{self.base_url}/{repo.full_name}/pulls/{number}"
                for c in body.get("comments") or []:
                    self._comment_id += 1
                    # As gitea.com answers (tests/fixtures/gitea/api/review_comments.json):
                    # the comment's page is the pull request's, anchored on the comment.
                    repo.line_comments.setdefault(number, []).append(
                        {
                            "id": self._comment_id,
                            "pull_request_review_id": review["id"],
                            "body": c["body"],
                            "path": c["path"],
                            "position": c.get("new_position"),
                            "user": dict(self.user),
                            "html_url": f"{pull_url}#issuecomment-{self._comment_id}",
                            "pull_request_url": pull_url,
                        }
                    )
            return 200, review, {}
        if request.method != "GET":
            return None
        if review_id is None:
            return 200, copy.deepcopy(reviews), {}
        comments = [
            c
            for c in repo.line_comments.get(number, [])
            if c["pull_request_review_id"] == int(review_id)
        ]
        return 200, copy.deepcopy(comments), {}

    def answer(self, request: RecordedRequest) -> tuple[int, Any, dict[str, str]]:
        status, body, headers = super().answer(request)
        if status in (401, 404) and isinstance(body, dict) and "documentation_url" in body:
            # Gitea's words and shape, not GitHub's.
            words = "token is required" if status == 401 else "The target couldn't be found."
            body = {"message": words, "url": SWAGGER}
        return status, body, headers


def _not_found() -> tuple[int, Any, dict]:
    return 404, {"message": "The target couldn't be found.", "url": SWAGGER}, {}
