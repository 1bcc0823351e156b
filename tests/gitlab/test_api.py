"""GitLabClient against FakeGitLab over real sockets: every method, pagination, errors."""

from __future__ import annotations

import logging
import pickle
import re
import socket

import pytest

from integrations.gitlab.api import GitLabClient
from integrations.gitlab.errors import (
    GitLabAuthError,
    GitLabBadResponse,
    GitLabError,
    GitLabForbidden,
    GitLabNotFound,
    GitLabRateLimited,
    GitLabRequestError,
    GitLabServerError,
    GitLabTLSError,
    GitLabUnreachable,
)
from integrations.gitlab.types import FileDiff, MergeRequest, Note, User
from tests.fakes.chat_server import self_signed_cert
from tests.fakes.gitlab_server import DEFAULT_TOKEN, FakeGitLab

PID, PATH, IID = 1187, "payments/billing-service", 342
HEAD = "a" * 40
MARK = "<!-- dify-hub:review endpoint=payments mr=1187!342 -->"
REVIEWER = {"id": 388, "username": "tomas.berg", "name": "Tomas Berg"}


def files(count: int) -> list[dict]:
    return [
        {"path": f"src/module_{i:04d}.py", "diff": f"@@ -1 +1 @@\n-old {i}\n+new {i}\n"}
        for i in range(count)
    ]


@pytest.fixture
def gitlab():
    with FakeGitLab() as fake:
        fake.add_merge_request(head_sha=HEAD)
        yield fake


@pytest.fixture
def client(gitlab):
    with GitLabClient(gitlab.url, gitlab.token, timeout=5, connect_timeout=2) as c:
        yield c


def refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def assert_no_token(*things: object) -> None:
    for thing in things:
        assert DEFAULT_TOKEN not in str(thing)
        assert DEFAULT_TOKEN not in repr(thing)


# ---------------------------------------------------------------------------
# happy paths
# ---------------------------------------------------------------------------


def test_current_user_is_the_project_bot_and_sends_private_token(gitlab, client):
    user = client.current_user()

    assert user == User(
        id=9001, username="project_1187_bot_3f2a", name="dify-hub review bot", bot=True
    )
    sent = gitlab.requests[-1]
    assert (sent.method, sent.path) == ("GET", "/api/v4/user")
    assert sent.headers["private-token"] == DEFAULT_TOKEN
    assert sent.headers["user-agent"] == "dify-hub"
    assert sent.headers["accept"] == "application/json"
    assert "authorization" not in sent.headers


def test_merge_request_by_id(gitlab, client):
    mr = client.merge_request(PID, IID)

    assert isinstance(mr, MergeRequest)
    assert (mr.project_id, mr.iid, mr.state, mr.draft) == (PID, IID, "opened", False)
    assert mr.title == "Round invoice totals half-even before tax"
    assert (mr.source_branch, mr.target_branch) == ("fix/invoice-rounding", "main")
    assert (mr.author_id, mr.author_username, mr.author_name) == (417, "mira.kovac", "Mira Kovač")
    assert mr.sha == mr.head_sha == HEAD
    assert mr.base_sha == mr.start_sha and len(mr.base_sha) == 40
    assert mr.prepared_at is not None
    assert mr.detailed_merge_status == "mergeable"
    assert mr.web_url == f"{gitlab.url}/{PATH}/-/merge_requests/{IID}"
    assert gitlab.requests[-1].path == f"/api/v4/projects/{PID}/merge_requests/{IID}"


@pytest.mark.parametrize("project", [PATH, f"/{PATH}/", "Payments/Billing-Service"])
def test_project_by_path_is_url_encoded(gitlab, client, project):
    mr = client.merge_request(project, IID)

    assert mr.project_id == PID
    encoded = project.strip("/").replace("/", "%2F")
    assert gitlab.requests[-1].path == f"/api/v4/projects/{encoded}/merge_requests/{IID}"


def test_draft_merge_request(gitlab, client):
    gitlab.add_merge_request(PID, PATH, 343, draft=True, title="Draft: tidy up")

    mr = client.merge_request(PID, 343)

    assert mr.draft is True
    assert mr.detailed_merge_status == "draft_status"


def test_diff_not_ready_then_ready(gitlab, client):
    gitlab.diff_not_ready(PID, IID, times=2)

    early = client.merge_request(PID, IID)
    assert early.prepared_at is None
    assert (early.base_sha, early.start_sha, early.head_sha) == ("", "", "")
    assert early.sha == HEAD  # the source branch head is known before the diff
    assert early.detailed_merge_status == "preparing"
    assert client.diffs(PID, IID) == []

    ready = client.merge_request(PID, IID)
    assert ready.head_sha == HEAD and ready.prepared_at
    assert len(client.diffs(PID, IID)) == 2


def test_the_merge_request_follows_the_newest_push(gitlab, client):
    gitlab.push(PID, IID, "b" * 40, files(1))
    gitlab.push(PID, IID, "c" * 40)

    assert client.merge_request(PID, IID).head_sha == "c" * 40


def test_diffs_are_unified_with_file_headers(gitlab, client):
    diffs = client.diffs(PID, IID)

    assert [d.new_path for d in diffs] == ["billing/invoice.py", "billing/tests/test_invoice.py"]
    assert diffs[0].diff.startswith("--- a/billing/invoice.py\n+++ b/billing/invoice.py\n@@ ")
    assert diffs[1].new_file is True
    assert diffs[1].diff.startswith("--- /dev/null\n+++ b/billing/tests/test_invoice.py\n@@ -0,0")
    sent = gitlab.requests[-1]
    assert sent.path == f"/api/v4/projects/{PID}/merge_requests/{IID}/diffs"
    assert sent.query == {"unidiff": "true", "per_page": "100", "page": "1"}


def test_diffs_map_flags(gitlab, client):
    gitlab.push(
        PID,
        IID,
        "d" * 40,
        [
            {"old_path": "old.py", "new_path": "new.py", "renamed_file": True, "diff": ""},
            {"path": "gone.py", "deleted_file": True, "diff": "@@ -1 +0,0 @@\n-x\n"},
            {"path": "big.json", "too_large": True},
            {"path": "schema.sql", "collapsed": True},
            FileDiff("poetry.lock", "poetry.lock", "@@ -1 +1 @@\n-a\n+b\n", generated_file=True),
        ],
    )

    renamed, deleted, big, collapsed, lock = client.diffs(PID, IID)

    assert (renamed.old_path, renamed.new_path, renamed.renamed_file, renamed.diff) == (
        "old.py",
        "new.py",
        True,
        "",
    )
    assert (
        deleted.deleted_file and deleted.diff == "--- a/gone.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n"
    )
    assert big.too_large and not big.collapsed and big.diff == ""
    assert collapsed.collapsed and not collapsed.too_large and collapsed.diff == ""
    assert lock.generated_file and lock.diff.startswith("--- a/poetry.lock\n")


def test_diffs_follow_pagination_across_pages(gitlab, client):
    gitlab.push(PID, IID, "e" * 40, files(250))

    diffs = client.diffs(PID, IID)

    assert [d.new_path for d in diffs] == [f"src/module_{i:04d}.py" for i in range(250)]
    pages = [r.query["page"] for r in gitlab.requests_to("/diffs")]
    assert pages == ["1", "2", "3"]
    assert {r.query["per_page"] for r in gitlab.requests_to("/diffs")} == {"100"}


def test_diffs_stop_at_max_files(gitlab, client, monkeypatch):
    monkeypatch.setattr("integrations.gitlab.api.MAX_FILES", 150)
    gitlab.push(PID, IID, "f" * 40, files(250))

    diffs = client.diffs(PID, IID)

    assert len(diffs) == 150 and diffs[-1].new_path == "src/module_0149.py"
    assert [r.query["page"] for r in gitlab.requests_to("/diffs")] == ["1", "2"]


def test_find_note_reads_page_after_page_newest_first(gitlab, client):
    gitlab.add_note(PID, IID, f"{MARK}\nthe review")
    for i in range(205):
        gitlab.add_note(PID, IID, f"comment {i}", author=REVIEWER)

    note = client.find_note(PID, IID, MARK)

    assert note is not None and note.body.endswith("the review")
    sent = gitlab.requests_to("/notes")
    assert [r.query["page"] for r in sent] == ["1", "2", "3"]
    assert sent[0].query == {
        "sort": "desc",
        "order_by": "created_at",
        "per_page": "100",
        "page": "1",
    }


def test_find_note_returns_the_newest_non_system_match(gitlab, client):
    gitlab.add_note(PID, IID, f"{MARK}\nold review")
    gitlab.add_note(PID, IID, f"quoting the bot: {MARK}", author=REVIEWER)
    newest = gitlab.add_note(PID, IID, f"{MARK}\nnew review")
    gitlab.add_note(PID, IID, f"changed the description {MARK}", author=REVIEWER, system=True)
    gitlab.add_note(PID, IID, "unrelated", author=REVIEWER)

    by_bot = client.find_note(PID, IID, MARK, author_id=9001)
    anyone = client.find_note(PID, IID, MARK)

    assert by_bot is not None and by_bot.id == newest["id"] and by_bot.body.endswith("new review")
    assert anyone is not None and anyone.id == newest["id"]
    assert client.find_note(PID, IID, MARK, author_id=12345) is None
    assert client.find_note(PID, IID, "<!-- nothing -->") is None
    assert gitlab.requests_to("/notes")[0].query["sort"] == "desc"


def test_find_note_stops_reading_at_the_first_match(gitlab, client):
    for i in range(150):
        gitlab.add_note(PID, IID, f"chatter {i}", author=REVIEWER)
    mine = gitlab.add_note(PID, IID, f"{MARK}\nreview")

    found = client.find_note(PID, IID, MARK, author_id=9001)

    assert found is not None and found.id == mine["id"]
    assert len(gitlab.requests_to("/notes")) == 1  # newest first: page 1 had it


def test_create_note_posts_json_and_returns_the_note(gitlab, client):
    body = f"{MARK}\n\n### Review\n\nLooks good."

    note = client.create_note(PID, IID, body)

    assert note == Note(
        id=note.id,
        body=body,
        author_id=9001,
        author_username="project_1187_bot_3f2a",
        system=False,
        created_at=note.created_at,
        updated_at=note.updated_at,
    )
    sent = gitlab.requests[-1]
    assert (sent.method, sent.json) == ("POST", {"body": body})
    assert sent.headers["content-type"] == "application/json"
    assert [n["body"] for n in gitlab.notes_of(PID, IID)] == [body]


def test_update_note_edits_in_place(gitlab, client):
    first = client.create_note(PID, IID, f"{MARK}\nv1")

    edited = client.update_note(PID, IID, first.id, f"{MARK}\nv2")

    assert (edited.id, edited.body) == (first.id, f"{MARK}\nv2")
    assert gitlab.requests[-1].method == "PUT"
    assert gitlab.requests[-1].path.endswith(f"/notes/{first.id}")
    assert [n["body"] for n in gitlab.notes_of(PID, IID)] == [f"{MARK}\nv2"]


def test_update_note_of_someone_else_is_forbidden(gitlab, client):
    theirs = gitlab.add_note(PID, IID, "my own words", author=REVIEWER)

    with pytest.raises(GitLabForbidden) as info:
        client.update_note(PID, IID, theirs["id"], "overwritten")

    assert (info.value.code, info.value.status, info.value.retryable) == ("forbidden", 403, False)
    assert gitlab.notes_of(PID, IID)[0]["body"] == "my own words"


def test_update_unknown_note_is_not_found(client):
    with pytest.raises(GitLabNotFound) as info:
        client.update_note(PID, IID, 999999, "x")

    assert info.value.code == "not_found"
    assert "merge request or note does not exist" in str(info.value)


@pytest.mark.parametrize("suffix", ["", "/", "/api/v4", "/api/v4/", "//"])
def test_base_url_is_normalised(gitlab, suffix):
    with GitLabClient(gitlab.url + suffix, gitlab.token) as client:
        assert client.base_url == gitlab.url
        assert client.current_user().id == 9001


def test_gitlab_under_a_relative_url_root():
    with FakeGitLab(prefix="/gitlab") as fake:
        fake.add_merge_request()
        with GitLabClient(fake.url + "/api/v4/", fake.token) as client:
            assert client.merge_request(PID, IID).iid == IID
        assert fake.requests[-1].path == f"/gitlab/api/v4/projects/{PID}/merge_requests/{IID}"


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------

ERROR_CASES = [
    # status, fixture-ish body override, class, code, retryable, words in the message
    (401, None, GitLabAuthError, "unauthorized", False, "token is wrong, expired or revoked"),
    (403, None, GitLabForbidden, "forbidden", False, "Reporter role"),
    (404, None, GitLabNotFound, "not_found", False, "project does not exist"),
    (500, None, GitLabServerError, "server_error", True, "usually temporary"),
    (502, None, GitLabServerError, "server_error", True, "GitLab is not responding (502)"),
    (503, None, GitLabServerError, "server_error", True, "GitLab is not responding (503)"),
    (400, None, GitLabRequestError, "bad_request", False, "Note {:note=>"),
    (
        422,
        {"message": {"base": ["Merge request is locked"]}},
        GitLabRequestError,
        "bad_request",
        False,
        "Merge request is locked",
    ),
    (
        403,
        {
            "error": "insufficient_scope",
            "error_description": "The request requires higher privileges than provided by the access token.",
            "scope": "api",
        },
        GitLabForbidden,
        "forbidden",
        False,
        "api scope",
    ),
]


@pytest.mark.parametrize(
    "status, body, cls, code, retryable, words",
    ERROR_CASES,
    ids=[f"{c[0]}-{c[3]}-{i}" for i, c in enumerate(ERROR_CASES)],
)
def test_error_statuses_map_to_classes(gitlab, client, status, body, cls, code, retryable, words):
    gitlab.fail_next("POST", "/notes", status, body=body)

    with pytest.raises(cls) as info:
        client.create_note(PID, IID, "hello")

    error = info.value
    assert (error.code, error.status, error.retryable) == (code, status, retryable)
    assert error.retry_after is None
    assert str(error).startswith(f"GitLab answered {status} ")
    assert words in str(error)
    assert f"(POST /api/v4/projects/{PID}/merge_requests/{IID}/notes)" in str(error)
    assert_no_token(error, client)


def test_wrong_token_is_unauthorized(gitlab):
    with (
        GitLabClient(gitlab.url, "glpat-wrong-token-123") as client,
        pytest.raises(GitLabAuthError) as info,
    ):
        client.current_user()

    assert str(info.value) == (
        "GitLab answered 401 Unauthorized: the access token is wrong, expired or revoked (set a "
        'valid token with the api scope on the endpoint). GitLab said: "401 Unauthorized" '
        "(GET /api/v4/user)"
    )
    assert "glpat-wrong-token-123" not in str(info.value) + repr(info.value)


def test_rate_limited_with_retry_after(gitlab, client):
    gitlab.fail_next("GET", "/diffs", 429, retry_after=7)

    with pytest.raises(GitLabRateLimited) as info:
        client.diffs(PID, IID)

    error = info.value
    assert (error.code, error.status, error.retryable, error.retry_after) == (
        "rate_limited",
        429,
        True,
        7.0,
    )
    assert "retry in 7 s" in str(error) and 'GitLab said: "Retry later"' in str(error)
    assert_no_token(error)


def test_rate_limited_without_retry_after_uses_ratelimit_reset(gitlab, client):
    gitlab.fail_next("GET", "/user", 429, retry_after=30, headers={"Retry-After": None})

    with pytest.raises(GitLabRateLimited) as info:
        client.current_user()

    assert 27 <= info.value.retry_after <= 31  # from RateLimit-Reset, a Unix time


def test_unknown_project_and_unknown_merge_request(client):
    with pytest.raises(GitLabNotFound) as project:
        client.merge_request("nobody/nothing", 1)
    with pytest.raises(GitLabNotFound) as merge_request:
        client.merge_request(PID, 999)

    assert project.value.gitlab_message == "404 Project Not Found"
    assert "project does not exist" in str(project.value)
    assert merge_request.value.gitlab_message == "404 Not found"
    assert "merge request or note does not exist" in str(merge_request.value)


def test_wrong_base_url_says_so(gitlab):
    with (
        GitLabClient(gitlab.url + "/some/other/app", gitlab.token) as client,
        pytest.raises(GitLabNotFound) as info,
    ):
        client.current_user()

    assert "check the endpoint's base URL" in str(info.value)


def test_refused_port_is_unreachable():
    url = refused_url()
    with (
        GitLabClient(url, DEFAULT_TOKEN, connect_timeout=2) as client,
        pytest.raises(GitLabUnreachable) as info,
    ):
        client.current_user()

    error = info.value
    assert (error.code, error.retryable, error.status) == ("unreachable", True, None)
    assert f"could not connect to GitLab at {url}" in str(error)
    assert "nothing was sent" in str(error)
    assert_no_token(error)


def test_read_timeout(gitlab):
    gitlab.delay = 1.0
    with (
        GitLabClient(gitlab.url, gitlab.token, timeout=0.3) as client,
        pytest.raises(GitLabUnreachable) as info,
    ):
        client.merge_request(PID, IID)

    assert (info.value.code, info.value.retryable) == ("timeout", True)
    assert "did not answer within 0.3 s" in str(info.value)
    assert_no_token(info.value)


def test_timeout_on_post_warns_the_note_may_exist(gitlab):
    gitlab.delay = 1.0
    with (
        GitLabClient(gitlab.url, gitlab.token, timeout=0.3) as client,
        pytest.raises(GitLabUnreachable) as info,
    ):
        client.create_note(PID, IID, "hello")

    assert info.value.code == "timeout"
    assert "may still have been saved" in str(info.value)
    assert [n["body"] for n in gitlab.notes_of(PID, IID)] == ["hello"]  # GitLab did save it


def test_non_json_200_is_a_bad_response(gitlab, client):
    login_page = "<!DOCTYPE html><html><head><title>Sign in · GitLab</title></head></html>"
    gitlab.fail_next("GET", "/user", 200, body=login_page)

    with pytest.raises(GitLabBadResponse) as info:
        client.current_user()

    error = info.value
    assert (error.code, error.retryable, error.status) == ("bad_response", False, 200)
    assert "not with JSON (content type text/html" in str(error)


@pytest.mark.parametrize(
    "path, body, call",
    [
        ("/user", [{"id": 1}], lambda c: c.current_user()),
        ("/merge_requests/342", {"iid": "342"}, lambda c: c.merge_request(PID, IID)),
        ("/diffs", {"message": "not a list"}, lambda c: c.diffs(PID, IID)),
        ("/diffs", [{"diff": "@@"}], lambda c: c.diffs(PID, IID)),
        ("/notes", [{"id": 1, "body": "x", "author": None}], lambda c: c.find_note(PID, IID, "x")),
    ],
    ids=["user-list", "mr-iid-string", "diffs-object", "diff-no-paths", "note-no-author"],
)
def test_json_of_the_wrong_shape_is_a_bad_response(gitlab, client, path, body, call):
    gitlab.fail_next("GET", path, 200, body=body)

    with pytest.raises(GitLabBadResponse) as info:
        call(client)

    assert info.value.code == "bad_response" and not info.value.retryable
    assert "not what its API documents" in str(info.value) or "was expected" in str(info.value)


def test_redirect_is_not_followed(gitlab, client):
    gitlab.fail_next(
        "GET",
        "/user",
        301,
        body="This resource has been moved permanently",
        headers={"Location": "https://elsewhere.example.com/api/v4/user?private_token=leak"},
    )

    with pytest.raises(GitLabRequestError) as info:
        client.current_user()

    assert (info.value.code, info.value.status) == ("redirect", 301)
    assert "https://elsewhere.example.com/api/v4/user" in str(info.value)
    assert "leak" not in str(info.value)
    assert len(gitlab.requests) == 1


def test_tls_failure_with_a_self_signed_certificate(tmp_path):
    cert = self_signed_cert(tmp_path)
    with FakeGitLab(tls=cert) as fake:
        fake.add_merge_request()
        with (
            GitLabClient(fake.url, fake.token) as client,
            pytest.raises(GitLabTLSError) as info,
        ):
            client.current_user()
        with GitLabClient(fake.url, fake.token, verify=cert[0]) as trusting:
            assert trusting.current_user().id == 9001  # with the CA bundle set it works

    error = info.value
    assert (error.code, error.retryable) == ("tls_error", False)
    assert "CA bundle" in str(error)
    assert_no_token(error)


def test_token_echoed_by_a_server_is_redacted(gitlab, client):
    gitlab.fail_next("GET", "/user", 400, body={"message": f"token {DEFAULT_TOKEN} is malformed"})

    with pytest.raises(GitLabRequestError) as info:
        client.current_user()

    assert "token *** is malformed" in str(info.value)
    assert_no_token(info.value, info.value.gitlab_message, info.value.args)


def test_token_is_not_in_the_client_repr_or_the_logs(gitlab, client, caplog):
    caplog.set_level(logging.DEBUG)
    client.current_user()
    client.create_note(PID, IID, "hello")
    client.find_note(PID, IID, "hello")

    assert_no_token(client, vars(client).get("_session"))
    assert repr(client) == f"GitLabClient(base_url={gitlab.url!r}, token='***')"
    assert caplog.records and all(DEFAULT_TOKEN not in r.getMessage() for r in caplog.records)


def test_errors_survive_pickling(gitlab, client):
    gitlab.fail_next("GET", "/user", 429, retry_after=5)
    with pytest.raises(GitLabRateLimited) as info:
        client.current_user()

    copy = pickle.loads(pickle.dumps(info.value))

    assert type(copy) is GitLabRateLimited
    assert (copy.code, copy.status, copy.retryable, copy.retry_after) == (
        "rate_limited",
        429,
        True,
        5.0,
    )
    assert str(copy) == str(info.value)


@pytest.mark.parametrize(
    "cls, code, retryable",
    [
        (GitLabAuthError, "unauthorized", False),
        (GitLabForbidden, "forbidden", False),
        (GitLabNotFound, "not_found", False),
        (GitLabRateLimited, "rate_limited", True),
        (GitLabServerError, "server_error", True),
        (GitLabUnreachable, "unreachable", True),
        (GitLabTLSError, "tls_error", False),
        (GitLabRequestError, "bad_request", False),
        (GitLabBadResponse, "bad_response", False),
    ],
)
def test_error_classes_defaults(cls, code, retryable):
    error = cls("something went wrong")

    assert isinstance(error, GitLabError)
    assert (error.code, error.retryable, error.status, error.retry_after) == (
        code,
        retryable,
        None,
        None,
    )
    assert str(error) == "GitLab: something went wrong"  # every error says who said it
    assert error.source == "gitlab"


# ---------------------------------------------------------------------------
# arguments
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base_url",
    ["", "gitlab.example.com", "ftp://gitlab.example.com", "https://user:pw@gitlab.example.com"],
)
def test_bad_base_urls_are_refused(base_url):
    with pytest.raises(ValueError, match="The GitLab URL must"):
        GitLabClient(base_url, DEFAULT_TOKEN)


@pytest.mark.parametrize("token", ["", "   ", "glpat-abc\nX-Evil: 1"])
def test_bad_tokens_are_refused_without_echoing_them(token):
    with pytest.raises(ValueError) as info:
        GitLabClient("https://gitlab.example.com", token)

    assert token.strip() == "" or token not in str(info.value)


@pytest.mark.parametrize("project, iid", [(0, 1), ("", 1), (True, 1), (PID, 0), (PID, "342")])
def test_bad_project_or_iid_is_refused_before_any_request(gitlab, client, project, iid):
    with pytest.raises(ValueError):
        client.merge_request(project, iid)
    with pytest.raises(ValueError):
        client.find_note(project, iid, MARK)

    assert gitlab.requests == []


def test_message_names_the_request_path_with_the_encoded_project(gitlab, client):
    with pytest.raises(GitLabNotFound) as info:
        client.diffs("group/missing", 7)

    assert re.search(
        r"\(GET /api/v4/projects/group%2Fmissing/merge_requests/7/diffs\)$", str(info.value)
    )
