"""The Gitea client against a fake Gitea on a real socket (tests/fakes/gitea_server.py)."""

from __future__ import annotations

import pytest

from integrations.forges.gitea.api import GiteaClient, api_root, split_diff
from integrations.forges.gitea.errors import GiteaAuthError, GiteaNotFound, GiteaRateLimited
from tests.fakes.gitea_server import DEFAULT_TOKEN, DIFF
from tests.gitea.support import HEAD, REPO


@pytest.fixture
def client(fake_gitea):
    with GiteaClient(fake_gitea.url, DEFAULT_TOKEN, timeout=5) as client:
        yield client


def test_the_api_root_is_the_servers_api_v1():
    assert api_root("https://git.example.com/") == "https://git.example.com/api/v1"
    assert (
        api_root("https://git.example.com/gitea/api/v1") == "https://git.example.com/gitea/api/v1"
    )
    with pytest.raises(ValueError, match="server's address"):
        api_root("git.example.com")


def test_the_pull_request_is_read_with_a_token_header(fake_gitea, client):
    pr = client.pull_request(REPO, 2)
    assert (pr.head_sha, pr.source_branch, pr.target_branch, pr.author) == (
        HEAD,
        "test-patch-1",
        "main",
        "test",
    )
    sent = fake_gitea.requests[-1]
    assert sent.path == "/api/v1/repos/Test-CI/multi-line-secrets/pulls/2"
    assert sent.header("authorization") == f"token {DEFAULT_TOKEN}"


def test_files_come_from_the_diff_one_per_file(fake_gitea, client):
    readme, logo = client.files(REPO, 2)
    assert (readme.path, readme.status) == ("README.md", "modified")
    assert readme.patch == "@@ -1 +1 @@\n-Hello World\n+Hello, World!"
    assert (readme.additions, readme.deletions) == (1, 1)
    assert (logo.path, logo.status, logo.patch) == ("logo.png", "added", None)  # binary
    assert fake_gitea.requests[-1].path.endswith("/pulls/2.diff")


def test_a_rename_a_deletion_and_no_diff_at_all():
    text = (
        "diff --git a/old.py b/new.py\nsimilarity index 100%\nrename from old.py\nrename to new.py\n"
        "diff --git a/gone.txt b/gone.txt\ndeleted file mode 100644\n--- a/gone.txt\n+++ /dev/null\n"
        "@@ -1 +0,0 @@\n-bye\n"
    )
    renamed, removed = split_diff(text)
    assert (renamed.old_path, renamed.path, renamed.status, renamed.patch) == (
        "old.py",
        "new.py",
        "renamed",
        "",
    )
    assert (removed.status, removed.patch, removed.deletions) == (
        "removed",
        "@@ -1 +0,0 @@\n-bye",
        1,
    )
    assert split_diff("") == [] and len(split_diff(DIFF)) == 2


def test_the_sticky_comment_is_created_found_and_edited(fake_gitea, client):
    first = client.create_comment(REPO, 2, "Review\n<!-- dify-hub:review pr=2 -->")
    assert client.find_comment(REPO, 2, "<!-- dify-hub:review", author="dify-hub-bot") == first
    client.update_comment(REPO, first.id, "Again\n<!-- dify-hub:review pr=2 -->")
    assert [c["body"].split("\n")[0] for c in fake_gitea.comments(REPO, 2)] == ["Again"]


@pytest.mark.parametrize(
    ("login", "permission", "trusted", "allowed"),
    [
        ("Test-CI", None, {"OWNER"}, True),  # the owner of the repository
        ("dana", "write", {"COLLABORATOR"}, True),
        ("dana", "admin", {"MEMBER"}, True),
        ("dana", "read", {"OWNER", "MEMBER", "COLLABORATOR"}, False),
        ("drive-by", None, {"OWNER", "MEMBER", "COLLABORATOR"}, False),  # unknown: 404
        ("drive-by", None, {"OWNER", "NONE"}, True),  # widened to anyone
    ],
)
def test_who_may_ask_is_the_commenters_permission(
    fake_gitea, client, login, permission, trusted, allowed
):
    if permission:
        fake_gitea.permissions[login] = permission
    assert client.may_ask_for_review(REPO, login, trusted) is allowed


def test_errors_say_gitea_said_them(fake_gitea):
    with GiteaClient(fake_gitea.url, "wrong-token") as bad, pytest.raises(GiteaAuthError) as caught:
        bad.pull_request(REPO, 2)
    assert str(caught.value).startswith("Gitea answered 401 Unauthorized: the token is wrong")
    assert caught.value.source == "gitea" and "wrong-token" not in str(caught.value)
    with GiteaClient(fake_gitea.url, DEFAULT_TOKEN) as client:
        with pytest.raises(GiteaNotFound, match="The target couldn't be found"):
            client.pull_request(REPO, 99)
        fake_gitea.fail("GET", r"/pulls/2$", 429, {"message": "slow down"}, {"Retry-After": "7"})
        with pytest.raises(GiteaRateLimited) as limited:
            client.pull_request(REPO, 2)
    assert limited.value.retry_after == 7 and limited.value.retryable
