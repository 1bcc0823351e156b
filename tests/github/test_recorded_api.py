"""One test per recorded GitHub answer in tests/fixtures/github/api/recorded/ (PyGithub's
ReplayData, captured from api.github.com): the fake GitHub serves the recorded status and body
over a real socket, and the product's client must read from it exactly what GitHub meant.

The last tests check the fake's own answers against the recordings: every field the client
reads and the recording carries, the fake carries too, with the same type.
"""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from integrations.forges.github.api import GitHubClient
from integrations.forges.github.app_auth import AppClient, app_jwt
from integrations.forges.github.errors import GitHubNotFound
from integrations.forges.github.types import Comment, FileDiff, User
from integrations.forges.inline import InlineComment
from tests.fakes.github_server import DEFAULT_TOKEN, FakeGitHub
from tests.github.support import PRIVATE_KEY, PUBLIC_KEY

RECORDED = Path(__file__).resolve().parent.parent / "fixtures" / "github" / "api" / "recorded"
REPO = "PyGithub/PyGithub"


def recorded(name: str) -> dict:
    return json.loads((RECORDED / f"{name}.json").read_text(encoding="utf-8"))


def replay(fake: FakeGitHub, pattern: str, name: str) -> dict:
    """The fake answers the next matching request with the recording's status and body."""
    fixture = recorded(name)
    fake.fail(fixture["method"], pattern, fixture["status"], fixture["body"])
    return fixture


@pytest.fixture
def github():
    with FakeGitHub() as fake, GitHubClient(fake.url, DEFAULT_TOKEN, timeout=5) as client:
        yield fake, client


def test_create_review(github):
    fake, client = github
    fixture = replay(fake, r"/repos/PyGithub/PyGithub/pulls/538/reviews$", "create_review")
    commit = fixture["body"]["commit_id"]

    review = client.create_review(REPO, 538, commit, [InlineComment("setup.py", 3, "Typo.")])

    assert review == 105368184
    sent = fake.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/api/v3/repos/PyGithub/PyGithub/pulls/538/reviews")
    assert sent.json["commit_id"] == commit and sent.json["event"] == "COMMENT"


def test_review_comments(github):
    fake, client = github
    replay(fake, r"/repos/PyGithub/PyGithub/pulls/31/comments$", "review_comments")

    comments = client.review_comments(REPO, 31)

    assert comments == [
        Comment(
            id=197784357,
            body="Test Case Dissmiss Review",
            author="eamanu",
            url="https://github.com/PyGithub/PyGithub/pull/31#discussion_r197784357",
        ),
        Comment(
            id=1580134,
            body="Review comment created for PyGithub\n",
            author="jacquev6",
            url="https://github.com/PyGithub/PyGithub/pull/31#discussion_r1580134",
        ),
    ]
    assert len(fake.requests) == 1  # the recording has no Link rel="next": the only page


def test_compare(github):
    fake, client = github
    replay(fake, r"/repos/PyGithub/PyGithub/compare/v0\.6\.\.\.v0\.7$", "compare")

    files = client.compare(REPO, "v0.6", "v0.7")

    assert [(f.path, f.old_path, f.status, f.additions, f.deletions) for f in files] == [
        ("ReferenceOfClasses.md", "ReferenceOfClasses.md", "modified", 1, 1),
        ("github/Github.py", "github/Github.py", "modified", 2, 2),
        ("github/Requester.py", "github/Requester.py", "modified", 14, 3),
        ("setup.py", "setup.py", "modified", 9, 1),
    ]
    body = recorded("compare")["body"]
    assert [f.patch for f in files] == [f["patch"] for f in body["files"]]
    assert all(isinstance(f, FileDiff) and f.patch.startswith("@@ -") for f in files)


def test_installation_token():
    fixture = recorded("installation_token")
    with FakeGitHub() as fake:
        fake.fail("POST", r"/app/installations/36541767/access_tokens$", 201, fixture["body"])
        with AppClient(fake.url, 424242, PRIVATE_KEY, timeout=5) as app:
            token, expiry = app.installation_token(36541767)
        sent = fake.requests[-1]

    # PyGithub replaced the token with this placeholder; the expiry is as GitHub sent it:
    # one hour after the answer's Date (Thu, 08 Jun 2023 07:39:25 GMT).
    assert token == "private_token_removed"
    assert expiry == datetime(2023, 6, 8, 8, 39, 25, tzinfo=UTC).timestamp()
    assert fixture["headers"]["Date"] == "Thu, 08 Jun 2023 07:39:25 GMT"
    assert sent.header("authorization").startswith("Bearer ey")  # the app's JWT


def test_installation_token_not_found():
    fixture = recorded("installation_token_not_found")
    with FakeGitHub() as fake:
        fake.fail("POST", r"/access_tokens$", fixture["status"], fixture["body"])
        with (
            AppClient(fake.url, 424242, PRIVATE_KEY, timeout=5) as app,
            pytest.raises(GitHubNotFound) as caught,
        ):
            app.installation_token(40432121)

    assert caught.value.status == 404 and not caught.value.retryable
    assert 'GitHub said: "Not Found"' in str(caught.value)


def test_user(github):
    fake, client = github
    replay(fake, r"/user$", "user")

    assert client.current_user() == User(id=327146, login="jacquev6", type="User")


# ---------------------------------------------------------------------------------------
# the fixture set, and the fake against the recordings
# ---------------------------------------------------------------------------------------


def test_every_recorded_fixture_has_its_own_test():
    names = sorted(p.stem for p in RECORDED.glob("*.json"))
    assert names and [n for n in names if f"test_{n}" not in globals()] == []


@pytest.mark.parametrize("name", sorted(p.stem for p in RECORDED.glob("*.json")))
def test_recorded_fixture_names_its_source(name):
    fixture = recorded(name)
    assert {"description", "source", "method", "path", "status", "headers", "body"} <= set(fixture)
    assert fixture["source"].startswith("PyGithub/PyGithub tests/ReplayData/")


def ask(fake: FakeGitHub, method: str, path: str, token: str, body: dict | None = None):
    """The fake's own answer to one request, over a real socket (status, decoded JSON)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        fake.url + "/api/v3" + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 (a local fake)
        return answer.status, json.loads(answer.read())


def same(fake_item: dict, recorded_item: dict, keys: list[str]) -> None:
    for key in keys:
        assert key in fake_item, key
        assert type(fake_item[key]) is type(recorded_item[key]), key


def test_the_fakes_answers_carry_what_the_client_reads_as_recorded():
    """Fields the client reads: review ``id``; comment ``id``, ``body``, ``user.login``,
    ``html_url``; compare ``files[].filename``, ``status``, ``patch``, ``additions``,
    ``deletions``; token ``token``, ``expires_at``; user ``id``, ``login``, ``type``."""
    base, head = "a" * 40, "b" * 40
    with FakeGitHub() as fake:
        fake.enable_app(424242, "dify-hub-reviews", PUBLIC_KEY, {1})
        fake.add_pull_request("o/r", 1)
        repo = fake.repos["o/r"]
        repo.compares[(base, head)] = list(repo.files[1])
        line = {"path": "README.md", "line": 1, "side": "RIGHT", "body": "x"}
        _, review = ask(
            fake, "POST", "/repos/o/r/pulls/1/reviews", DEFAULT_TOKEN, {"comments": [line]}
        )
        _, comments = ask(fake, "GET", "/repos/o/r/pulls/1/comments", DEFAULT_TOKEN)
        _, compare = ask(fake, "GET", f"/repos/o/r/compare/{base}...{head}", DEFAULT_TOKEN)
        _, user = ask(fake, "GET", "/user", DEFAULT_TOKEN)
        jwt = app_jwt(424242, PRIVATE_KEY, time.time())
        status, token = ask(fake, "POST", "/app/installations/1/access_tokens", jwt, {})

    same(review, recorded("create_review")["body"], ["id"])
    rec_comment = recorded("review_comments")["body"][0]
    same(comments[0], rec_comment, ["id", "body", "user", "html_url"])
    same(comments[0]["user"], rec_comment["user"], ["login"])
    rec_file = recorded("compare")["body"]["files"][0]
    same(compare["files"][0], rec_file, ["filename", "status", "patch", "additions", "deletions"])
    same(user, recorded("user")["body"], ["id", "login", "type"])
    assert status == recorded("installation_token")["status"]
    same(token, recorded("installation_token")["body"], ["token", "expires_at"])
