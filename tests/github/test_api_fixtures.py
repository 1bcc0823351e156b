"""One test per recorded GitHub API exchange (tests/fixtures/github/api/*.json): the fake
replays the recorded answer over a real socket and the client reads it as GitHub meant it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from integrations.forges.github.api import GitHubClient
from integrations.forges.github.errors import GitHubNotFound, GitHubRequestError
from tests.fakes.github_server import DEFAULT_TOKEN, FakeGitHub

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "github" / "api"


def exchange(name: str, status: int) -> dict:
    recorded = json.loads((FIXTURES / f"{name}.json").read_text())
    return next(x for x in recorded if x["status"] == status)


def replay(fake: FakeGitHub, method: str, pattern: str, recorded: dict) -> None:
    headers = {
        k: str(v)
        for k, v in recorded["headers"].items()
        if k.lower() in ("link", "location", "retry-after")
    }
    fake.fail(method, pattern, recorded["status"], recorded["response"], headers)


def test_fixtures_on_disk_are_all_tested():
    assert sorted(p.stem for p in FIXTURES.glob("*.json")) == [
        "branch-protection",
        "errors",
        "paginate-issues",
        "rename-repository",
    ]


def test_errors_a_validation_failure_quotes_githubs_words():
    with FakeGitHub() as fake, GitHubClient(fake.url, DEFAULT_TOKEN) as client:
        fake.add_pull_request("o/r", 1)
        replay(fake, "POST", r"/comments$", exchange("errors", 422))
        with pytest.raises(GitHubRequestError) as caught:
            client.create_comment("o/r", 1, "hi")
    assert 'GitHub said: "Validation Failed; Label color invalid"' in str(caught.value)
    assert caught.value.status == 422 and not caught.value.retryable


def test_rename_repository_a_moved_repository_is_named_and_not_followed():
    with FakeGitHub() as fake, GitHubClient(fake.url, DEFAULT_TOKEN) as client:
        fake.add_pull_request("o/r", 1)
        replay(fake, "GET", r"/pulls/1$", exchange("rename-repository", 301))
        with pytest.raises(GitHubRequestError) as caught:
            client.pull_request("o/r", 1)
        assert len(fake.requests) == 1  # the token was not sent to the new address
    assert caught.value.code == "redirect"
    assert "renamed or moved (it redirects to https://api.github.com/repositories/1000)" in str(
        caught.value
    )


def test_branch_protection_a_404_with_its_own_message_is_not_found():
    with FakeGitHub() as fake, GitHubClient(fake.url, DEFAULT_TOKEN) as client:
        fake.add_pull_request("o/r", 1)
        replay(fake, "GET", r"/pulls/1$", exchange("branch-protection", 404))
        with pytest.raises(GitHubNotFound, match='GitHub said: "Branch not protected"'):
            client.pull_request("o/r", 1)


def test_paginate_issues_the_recorded_next_link_is_followed_on_the_same_host():
    recorded = json.loads((FIXTURES / "paginate-issues.json").read_text())
    with FakeGitHub() as fake, GitHubClient(fake.url, DEFAULT_TOKEN) as client:
        fake.add_pull_request("o/r", 1)
        # The recorded pages in order, their links rewritten from api.github.com to the fake.
        for number, page in enumerate(recorded):
            link = page["headers"].get("link", "")
            link = link.replace("https://api.github.com", fake.url + "/api/v3")
            comments = [
                {"id": i["id"] + i["number"], "body": i["title"], "user": i["user"]}
                for i in page["response"]
            ]
            path = r"/issues/1/comments$" if number == 0 else r"/repositories/1000/issues$"
            fake.fail("GET", path, 200, comments, {"Link": link} if link else {})
        found = client.find_comment("o/r", 1, "Test issue")
    titles = [i["title"] for page in recorded for i in page["response"]]
    assert found is not None and found.body == titles[-1]
    assert len(fake.requests) == len(recorded)
