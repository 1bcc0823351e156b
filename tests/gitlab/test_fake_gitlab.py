"""FakeGitLab's own contract, checked with plain HTTP requests (no GitLabClient)."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.fakes.gitlab_server import DEFAULT_TOKEN, FakeGitLab, load_fixture

PID, PATH, IID = 1187, "payments/billing-service", 342
MR = f"/projects/{PID}/merge_requests/{IID}"
AUTH = {"PRIVATE-TOKEN": DEFAULT_TOKEN}
REVIEWER = {"id": 388, "username": "tomas.berg", "name": "Tomas Berg"}
ROOT = Path(__file__).resolve().parents[2]


def files(count: int) -> list[dict]:
    return [
        {"path": f"f{i:03d}.py", "diff": f"@@ -1 +1 @@\n-{i}\n+{i + 1}\n"} for i in range(count)
    ]


@pytest.fixture
def gitlab():
    with FakeGitLab() as fake:
        fake.add_merge_request(head_sha="a" * 40)
        yield fake


def get(gitlab, path, headers=AUTH, **params):
    return requests.get(gitlab.api_url + path, headers=headers, params=params, timeout=5)


def links(response) -> dict[str, str]:
    """rel -> page number from the Link header."""
    found = re.findall(r'<[^>]*[?&]page=(\d+)[^>]*>; rel="(\w+)"', response.headers.get("Link", ""))
    return {rel: page for page, rel in found}


# ---------------------------------------------------------------------------
# auth and routing
# ---------------------------------------------------------------------------


def test_user_is_the_project_bot_shaped_like_the_fixture(gitlab):
    response = get(gitlab, "/user")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert list(response.json()) == list(load_fixture("user_bot")["body"])
    assert response.json()["bot"] is True and response.json()["id"] == 9001


@pytest.mark.parametrize(
    "headers, params",
    [
        ({"PRIVATE-TOKEN": DEFAULT_TOKEN}, {}),
        ({"Authorization": f"Bearer {DEFAULT_TOKEN}"}, {}),
        ({}, {"private_token": DEFAULT_TOKEN}),
    ],
    ids=["private-token", "bearer", "query"],
)
def test_accepted_ways_to_send_the_token(gitlab, headers, params):
    assert get(gitlab, "/user", headers=headers, **params).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"PRIVATE-TOKEN": "glpat-wrong"}, {"Authorization": "Bearer glpat-wrong"}],
    ids=["none", "wrong", "wrong-bearer"],
)
def test_missing_or_wrong_token_is_401(gitlab, headers):
    for path in ("/user", MR, MR + "/diffs", MR + "/notes"):
        response = get(gitlab, path, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"message": "401 Unauthorized"}


def test_project_by_numeric_id_or_encoded_path(gitlab):
    by_id = get(gitlab, MR).json()
    by_path = get(gitlab, f"/projects/{PATH.replace('/', '%2F')}/merge_requests/{IID}").json()

    assert by_id == by_path
    assert by_id["references"]["full"] == f"{PATH}!{IID}"
    assert by_id["web_url"] == f"{gitlab.url}/{PATH}/-/merge_requests/{IID}"


def test_unknown_project_mr_and_routes(gitlab):
    project = get(gitlab, "/projects/999/merge_requests/1")
    missing_mr = get(gitlab, f"/projects/{PID}/merge_requests/9999")
    unencoded = get(gitlab, f"/projects/{PATH}/merge_requests/{IID}")
    no_route = get(gitlab, f"/projects/{PID}/issues")
    not_api = requests.get(gitlab.url + "/explore", timeout=5)

    assert (project.status_code, project.json()) == (404, {"message": "404 Project Not Found"})
    assert (missing_mr.status_code, missing_mr.json()) == (404, {"message": "404 Not found"})
    assert (unencoded.status_code, unencoded.json()) == (404, {"error": "404 Not Found"})
    assert (no_route.status_code, no_route.json()) == (404, {"error": "404 Not Found"})
    assert not_api.status_code == 404 and not_api.headers["Content-Type"].startswith("text/html")


def test_wrong_verb_is_405(gitlab):
    response = requests.delete(gitlab.api_url + MR, headers=AUTH, timeout=5)

    assert (response.status_code, response.json()) == (405, {"error": "405 Not Allowed"})


# ---------------------------------------------------------------------------
# merge request, versions, diffs
# ---------------------------------------------------------------------------


def test_merge_request_has_the_documented_shape(gitlab):
    body = get(gitlab, MR).json()

    assert list(body) == list(load_fixture("merge_request")["body"])
    assert (body["project_id"], body["iid"], body["sha"]) == (PID, IID, "a" * 40)
    assert body["diff_refs"]["head_sha"] == "a" * 40
    assert body["prepared_at"] and body["changes_count"] == "2"
    assert body["detailed_merge_status"] == "mergeable"


def test_diff_not_ready_then_ready(gitlab):
    gitlab.diff_not_ready(PID, IID, times=3)

    mr = get(gitlab, MR).json()
    versions = get(gitlab, MR + "/versions")
    diffs = get(gitlab, MR + "/diffs")

    assert (mr["prepared_at"], mr["diff_refs"], mr["changes_count"]) == (None, None, None)
    assert mr["detailed_merge_status"] == "preparing" and mr["sha"] == "a" * 40
    assert versions.json() == []
    assert diffs.json() == [] and diffs.headers["X-Total"] == "0"

    ready = get(gitlab, MR).json()
    assert ready["prepared_at"] and ready["diff_refs"]["head_sha"] == "a" * 40
    assert len(get(gitlab, MR + "/versions").json()) == 1
    assert len(get(gitlab, MR + "/diffs").json()) == 2


def test_push_creates_a_new_version_newest_first(gitlab):
    version = gitlab.push(PID, IID, "b" * 40, files(3))

    versions = get(gitlab, MR + "/versions").json()
    mr = get(gitlab, MR).json()
    diffs = get(gitlab, MR + "/diffs").json()

    assert [v["head_commit_sha"] for v in versions] == ["b" * 40, "a" * 40]
    assert versions[0] == version and versions[0]["id"] > versions[1]["id"]
    assert list(versions[0]) == list(load_fixture("versions")["body"][0])
    assert versions[0]["real_size"] == "3"
    assert mr["sha"] == mr["diff_refs"]["head_sha"] == "b" * 40
    assert [d["new_path"] for d in diffs] == ["f000.py", "f001.py", "f002.py"]


def test_diffs_pagination_headers(gitlab):
    gitlab.push(PID, IID, "c" * 40, files(5))

    first = get(gitlab, MR + "/diffs", per_page=2)
    middle = get(gitlab, MR + "/diffs", per_page=2, page=2)
    last = get(gitlab, MR + "/diffs", per_page=2, page=3)

    assert [d["new_path"] for d in middle.json()] == ["f002.py", "f003.py"]
    assert {
        k: middle.headers[k] for k in ("X-Page", "X-Per-Page", "X-Next-Page", "X-Prev-Page")
    } == {
        "X-Page": "2",
        "X-Per-Page": "2",
        "X-Next-Page": "3",
        "X-Prev-Page": "1",
    }
    assert (middle.headers["X-Total"], middle.headers["X-Total-Pages"]) == ("5", "3")
    assert links(middle) == {"prev": "1", "next": "3", "first": "1", "last": "3"}
    assert (first.headers["X-Prev-Page"], links(first)) == (
        "",
        {"next": "2", "first": "1", "last": "3"},
    )
    assert [d["new_path"] for d in last.json()] == ["f004.py"]
    assert (last.headers["X-Next-Page"], links(last)) == (
        "",
        {"prev": "2", "first": "1", "last": "3"},
    )
    assert f"{gitlab.api_url}{MR}/diffs?page=3&per_page=2" in middle.headers["Link"]


def test_per_page_default_is_20_and_max_is_100(gitlab):
    gitlab.push(PID, IID, "d" * 40, files(130))

    default = get(gitlab, MR + "/diffs")
    capped = get(gitlab, MR + "/diffs", per_page=500)
    beyond = get(gitlab, MR + "/diffs", per_page=100, page=9)

    assert (
        len(default.json()),
        default.headers["X-Per-Page"],
        default.headers["X-Total-Pages"],
    ) == (
        20,
        "20",
        "7",
    )
    assert (len(capped.json()), capped.headers["X-Per-Page"], capped.headers["X-Next-Page"]) == (
        100,
        "100",
        "2",
    )
    assert (
        beyond.json() == [] and beyond.headers["X-Next-Page"] == beyond.headers["X-Prev-Page"] == ""
    )


def test_unidiff_adds_file_headers_like_gitlab(gitlab):
    plain = get(gitlab, MR + "/diffs").json()
    unified = get(gitlab, MR + "/diffs", unidiff="true").json()

    assert plain[0]["diff"].startswith("@@ -1,6 +1,6 @@\n")
    assert (
        unified[0]["diff"]
        == "--- a/billing/invoice.py\n+++ b/billing/invoice.py\n" + plain[0]["diff"]
    )
    assert unified[1]["diff"].startswith("--- /dev/null\n+++ b/billing/tests/test_invoice.py\n@@")
    assert list(plain[0]) == list(load_fixture("diffs_page")["body"][0])
    assert (plain[1]["new_file"], plain[1]["a_mode"], plain[1]["b_mode"]) == (True, "0", "100644")


# ---------------------------------------------------------------------------
# notes
# ---------------------------------------------------------------------------


def test_post_note_answers_201_with_the_bot_as_author(gitlab):
    response = requests.post(
        gitlab.api_url + MR + "/notes", headers=AUTH, json={"body": "hello"}, timeout=5
    )
    form = requests.post(
        gitlab.api_url + MR + "/notes", headers=AUTH, data={"body": "form"}, timeout=5
    )

    note = response.json()
    assert response.status_code == 201 and form.status_code == 201
    assert list(note) == list(load_fixture("note")["body"])
    assert (note["body"], note["author"]["id"], note["system"]) == ("hello", 9001, False)
    assert (note["noteable_type"], note["noteable_iid"], note["project_id"]) == (
        "MergeRequest",
        IID,
        PID,
    )
    assert [n["body"] for n in gitlab.notes_of(PID, IID)] == ["hello", "form"]
    assert get(gitlab, MR).json()["user_notes_count"] == 2


def test_post_note_validation(gitlab):
    missing = requests.post(gitlab.api_url + MR + "/notes", headers=AUTH, json={}, timeout=5)
    blank = requests.post(
        gitlab.api_url + MR + "/notes", headers=AUTH, json={"body": "  "}, timeout=5
    )
    huge = requests.post(
        gitlab.api_url + MR + "/notes", headers=AUTH, json={"body": "x" * 1_000_001}, timeout=5
    )

    assert (missing.status_code, missing.json()) == (400, {"error": "body is missing"})
    assert (blank.status_code, blank.json()) == (400, load_fixture("error_400")["body"])
    assert huge.status_code == 400 and "is too long" in huge.json()["message"]
    assert gitlab.notes_of(PID, IID) == []


def test_put_note_only_for_the_bots_own_notes(gitlab):
    mine = gitlab.add_note(PID, IID, "v1")
    theirs = gitlab.add_note(PID, IID, "mine, not the bot's", author=REVIEWER)
    system = gitlab.add_note(PID, IID, "changed the title", author=REVIEWER, system=True)
    put = lambda note_id, body: requests.put(  # noqa: E731
        f"{gitlab.api_url}{MR}/notes/{note_id}", headers=AUTH, json={"body": body}, timeout=5
    )

    edited = put(mine["id"], "v2")
    forbidden = put(theirs["id"], "hijack")
    system_edit = put(system["id"], "hijack")
    unknown = put(424242, "x")

    assert edited.status_code == 200
    assert (edited.json()["id"], edited.json()["body"]) == (mine["id"], "v2")
    assert edited.json()["updated_at"] >= edited.json()["created_at"]
    assert (forbidden.status_code, forbidden.json()) == (403, {"message": "403 Forbidden"})
    assert system_edit.status_code == 403
    assert (unknown.status_code, unknown.json()) == (404, {"message": "404 Not found"})
    assert [n["body"] for n in gitlab.notes_of(PID, IID)] == [
        "v2",
        "mine, not the bot's",
        "changed the title",
    ]


def test_notes_sorting_and_pagination(gitlab):
    for i in range(25):
        gitlab.add_note(PID, IID, f"n{i}", author=REVIEWER)

    default = get(gitlab, MR + "/notes")
    ascending = get(gitlab, MR + "/notes", sort="asc", order_by="created_at", per_page=10, page=3)
    invalid = get(gitlab, MR + "/notes", sort="sideways")

    assert [n["body"] for n in default.json()][:3] == ["n24", "n23", "n22"]  # desc by default
    assert default.headers["X-Per-Page"] == "20" and default.headers["X-Next-Page"] == "2"
    assert [n["body"] for n in ascending.json()] == [f"n{i}" for i in range(20, 25)]
    assert (ascending.headers["X-Total"], ascending.headers["X-Next-Page"]) == ("25", "")
    assert (invalid.status_code, invalid.json()) == (
        400,
        {"error": "sort does not have a valid value"},
    )


def test_get_single_note(gitlab):
    note = gitlab.add_note(PID, IID, "hello")

    assert get(gitlab, f"{MR}/notes/{note['id']}").json() == note
    assert get(gitlab, f"{MR}/notes/1").status_code == 404


# ---------------------------------------------------------------------------
# scripted answers, recording, delay, threads
# ---------------------------------------------------------------------------


def test_fail_next_429_is_gitlabs_rack_attack_answer(gitlab):
    gitlab.fail_next("GET", "/diffs", 429, times=2, retry_after=12)
    before = time.time()

    first = get(gitlab, MR + "/diffs")
    second = get(gitlab, MR + "/diffs")
    third = get(gitlab, MR + "/diffs")

    assert (first.status_code, first.text, first.headers["Content-Type"]) == (
        429,
        "Retry later\n",
        "text/plain",
    )
    assert first.headers["Retry-After"] == "12"
    assert first.headers["RateLimit-Name"] == "throttle_authenticated_api"
    assert first.headers["RateLimit-Remaining"] == "0"
    assert before + 11 <= int(first.headers["RateLimit-Reset"]) <= time.time() + 13
    assert first.headers["RateLimit-ResetTime"].endswith(" GMT")
    assert second.status_code == 429 and third.status_code == 200


@pytest.mark.parametrize("status", [401, 403, 404, 500, 502, 503])
def test_fail_next_uses_gitlabs_real_body(gitlab, status):
    gitlab.fail_next("GET", "/user", status)

    response = get(gitlab, "/user")

    fixture = {401: "error_401", 403: "error_403", 404: "error_404_project", 500: "error_500"}
    fixture.update({502: "error_502", 503: "error_503"})
    expected = load_fixture(fixture[status])
    assert response.status_code == status
    assert (response.json() if isinstance(expected["body"], dict) else response.text) == expected[
        "body"
    ]
    assert response.headers["Content-Type"] == expected["headers"]["Content-Type"]


def test_fail_next_matches_method_and_regex(gitlab):
    gitlab.fail_next("POST", re.compile(r"/merge_requests/\d+/notes$"), 500)
    gitlab.fail_next(None, f"{PATH}/merge_requests/{IID}", 503)

    listed = get(gitlab, MR + "/notes")
    posted = requests.post(
        gitlab.api_url + MR + "/notes", headers=AUTH, json={"body": "x"}, timeout=5
    )
    by_path = get(gitlab, f"/projects/{PATH.replace('/', '%2F')}/merge_requests/{IID}")

    assert (listed.status_code, posted.status_code, by_path.status_code) == (200, 500, 503)
    assert get(gitlab, MR).status_code == 200
    assert gitlab.notes_of(PID, IID) == []


def test_fail_next_with_a_custom_body_and_headers(gitlab):
    gitlab.fail_next("GET", "/user", 200, body="<html><title>Sign in</title></html>")
    gitlab.fail_next("GET", "/user", 409, body={"message": "conflict"}, headers={"X-Extra": "1"})

    html = get(gitlab, "/user")
    conflict = get(gitlab, "/user")

    assert html.status_code == 200 and html.headers["Content-Type"].startswith("text/html")
    assert (conflict.status_code, conflict.json(), conflict.headers["X-Extra"]) == (
        409,
        {"message": "conflict"},
        "1",
    )


def test_requests_are_recorded(gitlab):
    requests.post(
        gitlab.api_url + MR + "/notes?x=1",
        headers={**AUTH, "X-Custom": "Yes"},
        json={"body": "recorded"},
        timeout=5,
    )

    sent = gitlab.requests[-1]
    assert (sent.method, sent.path, sent.api_path) == ("POST", f"/api/v4{MR}/notes", f"{MR}/notes")
    assert sent.query == {"x": "1"}
    assert sent.headers["private-token"] == DEFAULT_TOKEN and sent.headers["x-custom"] == "Yes"
    assert sent.json == {"body": "recorded"} and sent.raw_body == b'{"body": "recorded"}'
    assert gitlab.requests_to("/notes", "POST") == [sent]


def test_delay_holds_every_answer(gitlab):
    gitlab.delay = 0.3
    started = time.monotonic()

    response = get(gitlab, "/user")

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_concurrent_posts_get_distinct_notes(gitlab):
    def post(i: int) -> int:
        response = requests.post(
            gitlab.api_url + MR + "/notes", headers=AUTH, json={"body": f"n{i}"}, timeout=10
        )
        return response.json()["id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(post, range(40)))

    assert len(set(ids)) == 40
    assert sorted(n["body"] for n in gitlab.notes_of(PID, IID)) == sorted(
        f"n{i}" for i in range(40)
    )


def test_relative_url_root():
    with FakeGitLab(prefix="gitlab/") as fake:
        fake.add_merge_request()
        response = requests.get(fake.api_url + "/user", headers=AUTH, timeout=5)
        outside = requests.get(f"http://127.0.0.1:{fake.port}/api/v4/user", headers=AUTH, timeout=5)

    assert fake.api_url.endswith("/gitlab/api/v4")
    assert response.status_code == 200 and outside.status_code == 404


# ---------------------------------------------------------------------------
# standalone mode
# ---------------------------------------------------------------------------


def _lines(stream, sink: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        sink.put(line)


def _wait_for(sink: queue.Queue, pattern: str, timeout: float = 15.0) -> re.Match:
    deadline = time.monotonic() + timeout
    while True:
        line = sink.get(timeout=max(0.1, deadline - time.monotonic()))
        match = re.search(pattern, line)
        if match:
            return match


def test_standalone_serves_the_demo_mr_and_prints_notes():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.gitlab_server", "--port", "0", "--token", "glpat-demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    sink: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, sink), daemon=True).start()
    try:
        url = _wait_for(sink, r"serving on (http://127\.0\.0\.1:\d+)").group(1)
        headers = {"PRIVATE-TOKEN": "glpat-demo"}
        mr = requests.get(f"{url}/api/v4{MR}", headers=headers, timeout=5).json()
        diffs = requests.get(f"{url}/api/v4{MR}/diffs", headers=headers, timeout=5).json()
        posted = requests.post(
            f"{url}/api/v4{MR}/notes", headers=headers, json={"body": "review text"}, timeout=5
        )
        printed = _wait_for(sink, r"note (\d+) created on 1187!342 by project_1187_bot_3f2a")
        body_line = sink.get(timeout=5)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()

    assert (mr["iid"], mr["references"]["full"]) == (IID, f"{PATH}!{IID}")
    assert [d["new_path"] for d in diffs] == ["billing/invoice.py", "billing/tests/test_invoice.py"]
    assert posted.status_code == 201 and printed.group(1) == str(posted.json()["id"])
    assert body_line.strip() == "review text"
