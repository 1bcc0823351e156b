"""One test per GitLab API fixture (tests/fixtures/gitlab/api/*.json).

Each fixture is a documented GitLab answer (status, headers, body, source). The fake serves
it verbatim and the client must turn it into exactly the values written here; a new fixture
without a test fails ``test_every_fixture_has_its_own_test``.
"""

from __future__ import annotations

import pytest

from integrations.gitlab.api import GitLabClient
from integrations.gitlab.errors import (
    GitLabAuthError,
    GitLabForbidden,
    GitLabNotFound,
    GitLabRateLimited,
    GitLabRequestError,
    GitLabServerError,
)
from integrations.gitlab.types import FileDiff, MergeRequest, Note, User
from tests.fakes.gitlab_server import DEFAULT_TOKEN, FIXTURES, FakeGitLab, load_fixture

PID, IID = 1187, 342
BASE = "1405df66cbe219b0bf6355bc3d60361a8376b6b4"
HEAD1 = "0e3abf27faeea45c2bfbb2da116495c2120ed86a"
HEAD2 = "2f36b5091671a29e8f73e18a3723e66714617f9e"
MARK = "<!-- dify-hub:review endpoint=payments mr=1187!342 -->"
REVIEW = (
    f"{MARK}\n\n### Review of !342\n\nLooks good. One question: should `tax` keep rounding "
    "after `net`?\n\n<sub>dify-hub run #311</sub>"
)
BOT_NOTE = Note(
    id=1771204,
    body=REVIEW,
    author_id=9001,
    author_username="project_1187_bot_3f2a",
    system=False,
    created_at="2026-03-09T10:43:05.120Z",
    updated_at="2026-03-09T10:43:05.120Z",
)


@pytest.fixture
def gitlab():
    with FakeGitLab() as fake:
        fake.add_merge_request()
        yield fake


@pytest.fixture
def client(gitlab):
    with GitLabClient(gitlab.url, gitlab.token, timeout=5) as c:
        yield c


def error_of(gitlab, client, fixture, *, method="GET", path="/user", call=None):
    gitlab.replay(method, path, fixture)
    with pytest.raises(Exception) as info:
        (call or (lambda c: c.current_user()))(client)
    error = info.value
    assert DEFAULT_TOKEN not in str(error) + repr(error)
    assert error.status == load_fixture(fixture)["status"]
    return error


# ---------------------------------------------------------------------------
# successful answers
# ---------------------------------------------------------------------------


def test_user_bot(gitlab, client):
    gitlab.replay("GET", "/user", "user_bot")

    assert client.current_user() == User(
        id=9001, username="project_1187_bot_3f2a", name="dify-hub review bot", bot=True
    )


def test_merge_request(gitlab, client):
    gitlab.replay("GET", "/merge_requests/342", "merge_request")

    assert client.merge_request(PID, IID) == MergeRequest(
        project_id=1187,
        iid=342,
        title="Round invoice totals half-even before tax",
        description=(
            "Fixes #57: totals were rounded half-up, which drifts by a cent on some invoices."
            "\n\nAlso adds a regression test."
        ),
        state="opened",
        draft=False,
        web_url="https://gitlab.example.com/payments/billing-service/-/merge_requests/342",
        source_branch="fix/invoice-rounding",
        target_branch="main",
        author_username="mira.kovac",
        author_name="Mira Kovač",
        sha=HEAD2,
        base_sha=BASE,
        start_sha=BASE,
        head_sha=HEAD2,
        prepared_at="2026-03-09T10:02:14.318Z",
        author_id=417,
        detailed_merge_status="mergeable",
        reference="payments/billing-service!342",
    )


def test_merge_request_not_prepared(gitlab, client):
    gitlab.replay("GET", "/merge_requests/342", "merge_request_not_prepared")

    mr = client.merge_request(PID, IID)

    assert (mr.sha, mr.base_sha, mr.start_sha, mr.head_sha) == (HEAD1, "", "", "")
    assert mr.prepared_at is None
    assert mr.detailed_merge_status == "preparing"
    assert (mr.iid, mr.state, mr.author_id) == (342, "opened", 417)


def test_diffs_page(gitlab, client):
    gitlab.replay("GET", "/diffs", "diffs_page")

    diffs = client.diffs(PID, IID)

    assert [(d.old_path, d.new_path) for d in diffs] == [
        ("billing/invoice.py", "billing/invoice.py"),
        ("billing/tests/test_invoice.py", "billing/tests/test_invoice.py"),
        ("poetry.lock", "poetry.lock"),
        ("billing/migrations/0042_rates.sql", "billing/migrations/0042_rates.sql"),
        ("billing/fixtures/rates.json", "billing/fixtures/rates.json"),
    ]
    invoice, test, lock, migration, rates = diffs
    assert invoice.diff.startswith(
        "--- a/billing/invoice.py\n+++ b/billing/invoice.py\n@@ -1,6 +1,6 @@\n"
        "-from decimal import ROUND_HALF_UP, Decimal\n+from decimal import ROUND_HALF_EVEN, Decimal\n"
    )
    assert invoice.diff.endswith("     return net + tax\n")
    assert (invoice.new_file, invoice.deleted_file, invoice.renamed_file) == (False, False, False)
    assert test.new_file and test.diff.startswith(
        "--- /dev/null\n+++ b/billing/tests/test_invoice.py\n@@ -0,0 +1,8 @@\n"
    )
    assert lock.generated_file and not lock.collapsed and not lock.too_large
    assert migration == FileDiff(
        old_path="billing/migrations/0042_rates.sql",
        new_path="billing/migrations/0042_rates.sql",
        diff="",
        collapsed=True,
    )
    assert rates == FileDiff(
        old_path="billing/fixtures/rates.json",
        new_path="billing/fixtures/rates.json",
        diff="",
        too_large=True,
    )
    assert len(gitlab.requests_to("/diffs")) == 1  # x-next-page is empty: the only page


def test_note(gitlab, client):
    gitlab.replay("POST", "/notes", "note")

    assert client.create_note(PID, IID, REVIEW) == BOT_NOTE


def test_notes(gitlab, client):
    gitlab.replay("GET", "/notes", "notes", times=3)

    # Another user's note quoting the marker is not the bot's; system notes never count.
    assert client.find_note(PID, IID, "half-even") is None
    assert client.find_note(PID, IID, "tax rounding") == Note(
        id=1771161,
        body="Can the bot double-check the tax rounding too?",
        author_id=388,
        author_username="tomas.berg",
        system=False,
        created_at="2026-03-09T10:42:20.033Z",
        updated_at="2026-03-09T10:42:20.033Z",
    )
    assert client.find_note(PID, IID, MARK, author_id=9001) == BOT_NOTE


# ---------------------------------------------------------------------------
# error answers
# ---------------------------------------------------------------------------


def test_error_400(gitlab, client):
    error = error_of(
        gitlab,
        client,
        "error_400",
        method="POST",
        path="/notes",
        call=lambda c: c.create_note(PID, IID, " "),
    )

    assert type(error) is GitLabRequestError
    assert (error.code, error.retryable) == ("bad_request", False)
    assert error.gitlab_message == '400 Bad request - Note {:note=>["can\'t be blank"]}'


def test_error_401(gitlab, client):
    error = error_of(gitlab, client, "error_401")

    assert type(error) is GitLabAuthError
    assert (error.code, error.retryable, error.gitlab_message) == (
        "unauthorized",
        False,
        "401 Unauthorized",
    )
    assert str(error).startswith(
        "GitLab answered 401 Unauthorized: the access token is wrong, expired or revoked (set a "
        "valid token with the api scope on the endpoint)"
    )


def test_error_401_expired(gitlab, client):
    error = error_of(gitlab, client, "error_401_expired")

    assert type(error) is GitLabAuthError
    assert error.gitlab_message == (
        "invalid_token: Token is expired. You can either do re-authorization or token refresh."
    )


def test_error_403(gitlab, client):
    error = error_of(gitlab, client, "error_403")

    assert type(error) is GitLabForbidden
    assert (error.code, error.retryable, error.gitlab_message) == (
        "forbidden",
        False,
        "403 Forbidden",
    )
    assert "Reporter role" in str(error) and "api scope" in str(error)


def test_error_403_scope(gitlab, client):
    error = error_of(
        gitlab,
        client,
        "error_403_scope",
        method="PUT",
        path="/notes/1771204",
        call=lambda c: c.update_note(PID, IID, 1771204, "x"),
    )

    assert type(error) is GitLabForbidden
    assert error.gitlab_message == (
        "insufficient_scope: The request requires higher privileges than provided by the "
        "access token."
    )
    assert "a read_api token can read but cannot post or edit comments" in str(error)


def test_error_404_project(gitlab, client):
    error = error_of(
        gitlab,
        client,
        "error_404_project",
        path="/merge_requests/342",
        call=lambda c: c.merge_request(PID, IID),
    )

    assert type(error) is GitLabNotFound
    assert (error.code, error.gitlab_message) == ("not_found", "404 Project Not Found")
    assert "the project does not exist or the token's user cannot see it" in str(error)


def test_error_404_not_found(gitlab, client):
    error = error_of(
        gitlab,
        client,
        "error_404_not_found",
        path="/merge_requests/342",
        call=lambda c: c.merge_request(PID, IID),
    )

    assert type(error) is GitLabNotFound
    assert error.gitlab_message == "404 Not found"
    assert "the merge request or note does not exist" in str(error)


def test_error_404_route(gitlab, client):
    error = error_of(gitlab, client, "error_404_route")

    assert type(error) is GitLabNotFound
    assert error.gitlab_message == "404 Not Found"
    assert "this API path does not exist on the server (check the endpoint's base URL" in str(error)


def test_error_429(gitlab, client):
    error = error_of(gitlab, client, "error_429")

    assert type(error) is GitLabRateLimited
    assert (error.code, error.retryable, error.retry_after, error.gitlab_message) == (
        "rate_limited",
        True,
        37.0,
        "Retry later",
    )


def test_error_429_notes(gitlab, client):
    error = error_of(
        gitlab,
        client,
        "error_429_notes",
        method="POST",
        path="/notes",
        call=lambda c: c.create_note(PID, IID, "x"),
    )

    assert type(error) is GitLabRateLimited and error.retryable
    assert 17 <= error.retry_after <= 21  # RateLimit-Reset (a Unix time) = now + 20 s
    assert (
        error.gitlab_message == "This endpoint has been requested too many times. Try again later."
    )


def test_error_500(gitlab, client):
    error = error_of(gitlab, client, "error_500")

    assert type(error) is GitLabServerError
    assert (error.code, error.retryable, error.gitlab_message) == (
        "server_error",
        True,
        "500 Internal Server Error",
    )


def test_error_502(gitlab, client):
    error = error_of(gitlab, client, "error_502")

    assert type(error) is GitLabServerError and error.retryable
    assert error.gitlab_message == "GitLab is not responding (502)"


def test_error_503(gitlab, client):
    error = error_of(gitlab, client, "error_503")

    assert type(error) is GitLabServerError and error.retryable
    assert error.gitlab_message == "GitLab is not responding (503)"


# ---------------------------------------------------------------------------
# the fixture set itself
# ---------------------------------------------------------------------------

ALL = sorted(p.stem for p in FIXTURES.glob("*.json"))
# The client reads no diff versions (diff_refs on the MR carry the shas); the fake builds its
# /versions answers from this fixture, and tests/gitlab/test_fake_gitlab.py checks them.
FAKE_ONLY = {"versions"}


def test_every_fixture_has_its_own_test():
    assert ALL, "no fixtures found"
    missing = [n for n in ALL if f"test_{n}" not in globals() and n not in FAKE_ONLY]
    assert missing == []


@pytest.mark.parametrize("name", ALL)
def test_fixture_is_well_formed(name):
    fixture = load_fixture(name)

    assert set(fixture) >= {"description", "source", "status", "headers", "body"}
    assert fixture["source"] and fixture["description"]
    assert 200 <= fixture["status"] < 600
    assert any(k.lower() == "content-type" for k in fixture["headers"])
    if name.startswith("error_"):
        assert fixture["status"] >= 400
