"""One test per Gitea answer in tests/fixtures/gitea/api/: the reviews and review comments
recorded from gitea.com (by Forgejo's migration tests), and three labelled derived answers
(see that folder's README.md). The fake Gitea serves each over a real socket and the
product's client must read from it what Gitea meant.

The last test checks the fake's own answers against the recordings: every field the client
reads and the recording carries, the fake carries too, with the same type.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from integrations.forges.gitea.api import GiteaClient
from integrations.forges.github.types import Comment
from integrations.forges.inline import InlineComment
from tests.fakes.gitea_server import DEFAULT_TOKEN, FakeGitea

API = Path(__file__).resolve().parent.parent / "fixtures" / "gitea" / "api"
REPO = "gitea/test_repo"
PULL = r"/repos/gitea/test_repo/pulls/7"


def recorded(name: str) -> dict:
    return json.loads((API / f"{name}.json").read_text(encoding="utf-8"))


def replay(fake: FakeGitea, pattern: str, name: str, *, times: int = 1) -> dict:
    fixture = recorded(name)
    fake.fail(fixture["method"], pattern, fixture["status"], fixture["body"], times=times)
    return fixture


@pytest.fixture
def gitea():
    with FakeGitea() as fake, GiteaClient(fake.url, DEFAULT_TOKEN, timeout=5) as client:
        yield fake, client


def test_reviews(gitea):
    fake, client = gitea
    replay(fake, PULL + r"/reviews$", "reviews")
    replay(fake, PULL + r"/reviews/1770/comments$", "review_comments")
    replay(fake, PULL + r"/reviews/(1771|1772)/comments$", "review_comments_none", times=2)

    comments = client.review_comments(REPO, 7)

    # Every review's comments are asked for, in the order Gitea listed the reviews.
    asked = [r.path.removeprefix("/api/v1/repos/gitea/test_repo/pulls/7") for r in fake.requests]
    assert asked == [
        "/reviews",
        "/reviews/1770/comments",
        "/reviews/1771/comments",
        "/reviews/1772/comments",
    ]
    assert comments == [
        Comment(
            id=116561,
            body="is one `\\newline` to less?",
            author="6543",
            url="https://gitea.com/gitea/test_repo/pulls/7#issuecomment-116561",
        )
    ]


def test_review_comments(gitea):
    fake, client = gitea
    fake.fail("GET", PULL + r"/reviews$", 200, [recorded("reviews")["body"][0]])
    replay(fake, PULL + r"/reviews/1770/comments$", "review_comments")

    (comment,) = client.review_comments(REPO, 7)

    assert (comment.id, comment.author) == (116561, "6543")
    assert comment.url.endswith("/pulls/7#issuecomment-116561")
    assert recorded("review_comments")["body"][0]["position"] == 4  # the line in the new file


def test_review_comments_none(gitea):
    fake, client = gitea
    fake.fail("GET", PULL + r"/reviews$", 200, [recorded("reviews")["body"][1]])
    replay(fake, PULL + r"/reviews/1771/comments$", "review_comments_none")

    assert client.review_comments(REPO, 7) == []


def test_derived_create_review(gitea):
    fake, client = gitea
    fixture = replay(fake, PULL + r"/reviews$", "derived.create_review")
    commit = fixture["body"]["commit_id"]

    review = client.create_review(REPO, 7, commit, [InlineComment("README.md", 3, "Newline?")])

    assert review == 1770
    sent = fake.requests[-1].json
    assert (sent["event"], sent["commit_id"]) == ("COMMENT", commit)
    assert sent["comments"][0]["new_position"] == 3 and sent["comments"][0]["path"] == "README.md"


@pytest.mark.parametrize(("name", "allowed"), [("write", True), ("read", False)])
def test_derived_collaborator_permission(gitea, name, allowed):
    fake, client = gitea
    replay(fake, r"/collaborators/6543/permission$", f"derived.collaborator_permission_{name}")

    assert client.may_ask_for_review(REPO, "6543", {"COLLABORATOR"}) is allowed


# The fixture name -> the test that feeds it to the client.
TESTED = {
    "reviews": test_reviews,
    "review_comments": test_review_comments,
    "review_comments_none": test_review_comments_none,
    "derived.create_review": test_derived_create_review,
    "derived.collaborator_permission_write": test_derived_collaborator_permission,
    "derived.collaborator_permission_read": test_derived_collaborator_permission,
}
NAMES = sorted(p.stem for p in API.glob("*.json"))


def test_every_fixture_has_its_own_test():
    assert NAMES and sorted(TESTED) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_fixture_names_its_source(name):
    fixture = recorded(name)
    assert {"description", "source", "method", "path", "status", "headers", "body"} <= set(fixture)
    assert name.startswith("derived.") == fixture["description"].startswith("DERIVED")


def ask(fake: FakeGitea, method: str, path: str, body: dict | None = None):
    request = urllib.request.Request(
        f"{fake.url}/api/v1{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": f"token {DEFAULT_TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 (a local fake)
        return json.loads(answer.read())


def same(fake_item: dict, recorded_item: dict, keys: list[str]) -> None:
    for key in keys:
        assert key in fake_item, key
        assert type(fake_item[key]) is type(recorded_item[key]), key


def test_the_fakes_answers_carry_what_the_client_reads_as_recorded():
    """Fields the client reads: review ``id``; comment ``id``, ``body``, ``user.login``,
    ``html_url``; permission ``permission``."""
    with FakeGitea() as fake:
        fake.add_pull_request(REPO, 7)
        fake.permissions["6543"] = "write"
        line = {"path": "README.md", "body": "x", "new_position": 1, "old_position": 0}
        review = ask(fake, "POST", "/repos/gitea/test_repo/pulls/7/reviews", {"comments": [line]})
        reviews = ask(fake, "GET", "/repos/gitea/test_repo/pulls/7/reviews")
        comments = ask(
            fake, "GET", f"/repos/gitea/test_repo/pulls/7/reviews/{review['id']}/comments"
        )
        permission = ask(fake, "GET", "/repos/gitea/test_repo/collaborators/6543/permission")

    same(review, recorded("derived.create_review")["body"], ["id"])
    same(reviews[0], recorded("reviews")["body"][0], ["id"])
    rec = recorded("review_comments")["body"][0]
    same(comments[0], rec, ["id", "body", "user", "html_url", "pull_request_review_id"])
    same(comments[0]["user"], rec["user"], ["login"])
    assert comments[0]["html_url"].endswith(
        f"/gitea/test_repo/pulls/7#issuecomment-{comments[0]['id']}"
    )
    rec_perm = recorded("derived.collaborator_permission_write")["body"]
    same(permission, rec_perm, ["permission", "role_name", "user"])
