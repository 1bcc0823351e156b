"""The GitHub client against a fake GitHub on a real socket (tests/fakes/github_server.py)."""

from __future__ import annotations

import time

import pytest

from integrations.forges.common import REVIEW_MARKER
from integrations.forges.github.api import COMMENT_LIMIT, GitHubClient, api_url, repository_path
from integrations.forges.github.errors import (
    GitHubAuthError,
    GitHubBadResponse,
    GitHubForbidden,
    GitHubNotFound,
    GitHubRateLimited,
    GitHubServerError,
    GitHubUnreachable,
)
from tests.fakes.github_server import DEFAULT_TOKEN, FakeGitHub, file_entry

REPO = "Codertocat/Hello-World"


@pytest.fixture
def github():
    with FakeGitHub() as fake:
        fake.add_pull_request(REPO, 2)
        yield fake


@pytest.fixture
def client(github):
    with GitHubClient(github.url, DEFAULT_TOKEN, timeout=5) as client:
        yield client


def test_the_api_root_for_github_com_and_an_enterprise_server():
    assert api_url("https://github.com/") == "https://api.github.com"
    assert api_url("https://api.github.com") == "https://api.github.com"
    assert api_url("https://git.example.com") == "https://git.example.com/api/v3"
    assert api_url("https://git.example.com/api/v3/") == "https://git.example.com/api/v3"
    with pytest.raises(ValueError, match="server's address"):
        api_url("git.example.com")
    with pytest.raises(ValueError, match="credentials"):
        api_url("https://user:pw@git.example.com")


@pytest.mark.parametrize("bad", ["Hello-World", "a/b/c", "../x", "a/..", "a b/c", ""])
def test_a_repository_must_be_owner_slash_name(bad):
    with pytest.raises(ValueError, match="OWNER/NAME"):
        repository_path(bad)


def test_the_pull_request_is_read_as_github_sends_it(github, client):
    pr = client.pull_request(REPO, 2)
    assert (pr.number, pr.state, pr.draft, pr.author) == (2, "open", False, "Codertocat")
    assert (pr.source_branch, pr.target_branch) == ("changes", "master")
    assert pr.head_sha == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    sent = github.requests[-1]
    assert sent.path == "/api/v3/repos/Codertocat/Hello-World/pulls/2"
    assert sent.header("authorization") == f"Bearer {DEFAULT_TOKEN}"
    assert sent.header("x-github-api-version") == "2022-11-28"
    assert sent.header("accept") == "application/vnd.github+json"


def test_files_are_read_page_by_page_following_link_to_another_path(github, client):
    many = [file_entry(f"src/f{i}.py", f"@@ -0,0 +1 @@\n+x = {i}") for i in range(230)]
    many.append(file_entry("logo.png", None, status="added"))  # binary: no patch
    github.add_pull_request(REPO, 7, files=many)
    files = client.files(REPO, 7)
    assert [f.path for f in files] == [f"src/f{i}.py" for i in range(230)] + ["logo.png"]
    assert files[0].patch == "@@ -0,0 +1 @@\n+x = 0" and files[0].additions == 1
    assert files[-1].patch is None
    pages = github.requests_to("/files")
    assert [r.query.get("page", "1") for r in pages] == ["1", "2", "3"]
    assert pages[1].path.startswith("/api/v3/repositories/")  # as api.github.com links


def test_a_next_link_to_another_host_is_not_followed(github, client):
    github.fail(
        "GET",
        r"/pulls/2/files$",
        200,
        [{"filename": "a.py", "status": "added", "patch": "+a"}],
        {"Link": '<https://evil.example/steal?page=2>; rel="next"'},
    )
    assert [f.path for f in client.files(REPO, 2)] == ["a.py"]
    assert len(github.requests) == 1


def test_the_sticky_comment_is_created_found_and_edited(github, client):
    first = client.create_comment(REPO, 2, f"Review\n{REVIEW_MARKER} pr=2 -->")
    client.create_comment(REPO, 2, "a person's comment")
    found = client.find_comment(REPO, 2, REVIEW_MARKER, author="dify-hub-bot")
    assert found == first
    assert client.find_comment(REPO, 2, REVIEW_MARKER, author="someone-else") is None
    edited = client.update_comment(REPO, first.id, f"Second pass\n{REVIEW_MARKER} pr=2 -->")
    assert edited.id == first.id
    assert [c["body"].split("\n")[0] for c in github.comments(REPO, 2)] == [
        "Second pass",
        "a person's comment",
    ]


def test_a_body_over_githubs_limit_is_refused_before_sending(github, client):
    with pytest.raises(ValueError, match=str(COMMENT_LIMIT)):
        client.create_comment(REPO, 2, "x" * (COMMENT_LIMIT + 1))
    assert github.requests == []


def test_a_wrong_token_is_an_auth_error_that_never_shows_the_token(github):
    with (
        GitHubClient(github.url, "ghp_wrongTokenValue123") as bad,
        pytest.raises(GitHubAuthError) as caught,
    ):
        bad.current_user()
    text = str(caught.value)
    assert text.startswith(
        "GitHub answered 401 Unauthorized: the token is wrong, expired or revoked"
    )
    assert 'GitHub said: "Bad credentials"' in text and "(GET /api/v3/user)" in text
    assert "ghp_wrongTokenValue123" not in text + repr(caught.value) + repr(bad)
    assert caught.value.source == "github" and not caught.value.retryable


def test_a_pull_request_the_token_cannot_see_is_not_found(client):
    with pytest.raises(GitHubNotFound, match="private repository the token has no access to"):
        client.pull_request("someone/private", 1)


def test_the_primary_rate_limit_waits_until_the_reset(github, client):
    reset = int(time.time()) + 120
    github.fail(
        "GET",
        r"/pulls/2$",
        403,
        {"message": "API rate limit exceeded for user ID 9100001.", "documentation_url": "x"},
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )
    with pytest.raises(GitHubRateLimited) as caught:
        client.pull_request(REPO, 2)
    assert caught.value.retryable and 100 < caught.value.retry_after <= 121
    assert "hourly request limit is used up" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "headers", "wait"),
    [(403, {"Retry-After": "30"}, 30), (429, {}, 60), (403, {}, 60)],
    ids=["retry-after", "429-bare", "403-message-only"],
)
def test_the_secondary_rate_limit_honours_retry_after_else_a_minute(
    github, client, status, headers, wait
):
    body = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}
    github.fail("POST", r"/comments$", status, body, headers)
    with pytest.raises(GitHubRateLimited) as caught:
        client.create_comment(REPO, 2, "hi")
    assert caught.value.retry_after == wait
    assert "secondary rate limit" in str(caught.value)


def test_a_missing_permission_is_named(github, client):
    github.fail(
        "POST",
        r"/comments$",
        403,
        {"message": "Resource not accessible by personal access token"},
        {"X-Accepted-GitHub-Permissions": "issues=write; pull_requests=write"},
    )
    with pytest.raises(GitHubForbidden, match=r"lacks a permission this call needs \(issues=write"):
        client.create_comment(REPO, 2, "hi")


def test_server_errors_are_retryable_and_html_is_a_bad_response(github, client):
    github.fail(
        "GET", r"/pulls/2$", 502, b"<html>Bad gateway</html>", {"Content-Type": "text/html"}
    )
    with pytest.raises(GitHubServerError) as caught:
        client.pull_request(REPO, 2)
    assert caught.value.retryable
    github.fail("GET", r"/pulls/2$", 200, b"<html>login</html>", {"Content-Type": "text/html"})
    with pytest.raises(GitHubBadResponse, match="not with JSON"):
        client.pull_request(REPO, 2)
    github.fail("GET", r"/pulls/2$", 200, {"number": "two"})
    with pytest.raises(GitHubBadResponse, match="not what its API documents"):
        client.pull_request(REPO, 2)


def test_nobody_listening_is_unreachable_and_says_nothing_was_sent():
    with FakeGitHub() as fake:
        url = fake.url
    with (
        GitHubClient(url, DEFAULT_TOKEN, connect_timeout=1) as client,
        pytest.raises(GitHubUnreachable) as caught,
    ):
        client.current_user()
    assert "nothing was sent" in str(caught.value) and caught.value.retryable
