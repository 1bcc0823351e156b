"""One test per recorded GitLab answer in tests/fixtures/gitlab/api/recorded/ (captured from
gitlab.com by danger, danger-js and Forgejo's migration tests; two labelled exceptions, a
doc example and a derived answer, see that folder's README.md). The fake GitLab replays each
verbatim over a real socket and the product's client must read from it what GitLab meant.

The last test checks the fake's own answers against the recordings: every field the client
reads and the recording carries, the fake carries too, with the same type.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

import pytest

from integrations.gitlab.api import GitLabClient
from integrations.gitlab.types import Discussion, FileDiff, MergeRequest
from tests.fakes.gitlab_server import FIXTURES, FakeGitLab, load_fixture

RECORDED = FIXTURES / "recorded"


def recorded(name: str) -> dict:
    return load_fixture(f"recorded/{name}")


@pytest.fixture
def gitlab():
    with FakeGitLab() as fake:
        yield fake


@pytest.fixture
def client(gitlab):
    with GitLabClient(gitlab.url, gitlab.token, timeout=5) as c:
        yield c


def test_discussions(gitlab, client):
    gitlab.replay("GET", "/merge_requests/1/discussions", "recorded/discussions")

    found = client.discussions("k0nserv/danger-test", 1)

    assert len(found) == 9
    assert [d.id for d in found[:2]] == [
        "772cab3ed2af72d55752feee795f283b7014227e",
        "c2e766b9d48d07fa4eebc2051259d205b5a05700",
    ]
    assert found[1] == Discussion(
        id="c2e766b9d48d07fa4eebc2051259d205b5a05700",
        body="Added ~392754 label",
        author_id=483414,
        resolved=False,
    )
    # The two diff discussions: the first note's body and author, unresolved.
    assert found[7] == Discussion(
        id="095785b5ee924c3e2f5fbcb0e17ce7b7f473eb9a",
        body="Comment with position",
        author_id=407759,
        resolved=False,
    )
    assert found[8].id == "f5fd1ab23556baa6683b4b3b36ec4455f8b500f4"
    assert found[8].body.startswith('<table data-meta="generated_by_danger">')
    assert (found[8].author_id, found[8].resolved) == (407759, False)
    assert len(gitlab.requests_to("/discussions")) == 1  # X-Next-Page is empty


def test_compare(gitlab, client):
    gitlab.replay("GET", "/repository/compare", "recorded/compare")
    base, head = (
        "50cd5d9b776848cf23f1fd1ec52789dbdf946185",
        "28531ab43666b5fdf37e0a70db3bcbf7d3f92183",
    )

    files = client.compare("gitlab-org/gitlab-foss", base, head)

    diff = recorded("compare")["body"]["diffs"][0]["diff"]
    assert files == [
        FileDiff(
            old_path="danger/roulette/Dangerfile", new_path="danger/roulette/Dangerfile", diff=diff
        )
    ]
    assert diff.startswith("@@ -1,5 +1,7 @@\n # frozen_string_literal: true\n \n+require")
    sent = gitlab.requests_to("/repository/compare")[0]
    assert sent.query == {"from": base, "to": head, "unidiff": "true"}
    assert sent.path == "/api/v4/projects/gitlab-org%2Fgitlab-foss/repository/compare"


def test_merge_request(gitlab, client):
    gitlab.replay("GET", "/merge_requests/1", "recorded/merge_request")

    assert client.merge_request(61363672, 1) == MergeRequest(
        project_id=61363672,
        iid=1,
        title="Test branch",
        description="do not merge this PR",
        state="opened",
        draft=False,
        web_url="https://gitlab.com/forgejo/test_repo/-/merge_requests/1",
        source_branch="feat/test",
        target_branch="master",
        author_username="oliverpool",
        author_name="oliverpool",
        sha="9f733b96b98a4175276edf6a2e1231489c3bdd23",
        base_sha="c59c9b451acca9d106cc19d61d87afe3fbbb8b83",
        start_sha="c59c9b451acca9d106cc19d61d87afe3fbbb8b83",
        head_sha="9f733b96b98a4175276edf6a2e1231489c3bdd23",
        prepared_at="2024-09-03T08:15:46.361Z",
        author_id=2005797,
        detailed_merge_status="mergeable",
        reference="forgejo/test_repo!1",
    )


def test_derived_create_discussion(gitlab, client):
    gitlab.replay("POST", "/merge_requests/1/discussions", "recorded/derived.create_discussion")
    position = recorded("discussions")["body"][7]["notes"][0]["position"]

    made = client.create_discussion("k0nserv/danger-test", 1, "Comment with position", position)

    assert made == Discussion(
        id="095785b5ee924c3e2f5fbcb0e17ce7b7f473eb9a",
        body="Comment with position",
        author_id=407759,
        resolved=False,
    )
    sent = gitlab.requests_to("/discussions", "POST")[0].json
    assert sent == {"body": "Comment with position", "position": position}


def test_doc_member_all(gitlab, client):
    gitlab.replay("GET", "/members/all/1", "recorded/doc.member_all")

    assert client.access_level(1187, 1) == 30


# ---------------------------------------------------------------------------------------
# the fixture set, and the fake against the recordings
# ---------------------------------------------------------------------------------------

NAMES = sorted(p.stem for p in RECORDED.glob("*.json"))


def test_every_recorded_fixture_has_its_own_test():
    assert NAMES
    assert [n for n in NAMES if f"test_{n.replace('.', '_')}" not in globals()] == []


@pytest.mark.parametrize("name", NAMES)
def test_recorded_fixture_names_its_source(name):
    fixture = recorded(name)
    assert {"description", "source", "method", "path", "status", "headers", "body"} <= set(fixture)
    assert any(k.lower() == "content-type" for k in fixture["headers"])
    labelled = name.split(".")[0] in ("derived", "doc")
    assert labelled == fixture["description"].startswith(("DERIVED", "DOC EXAMPLE"))


def ask(fake: FakeGitLab, path: str, query: dict | None = None):
    url = f"{fake.url}/api/v4{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    request = urllib.request.Request(url, headers={"PRIVATE-TOKEN": fake.token})
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 (a local fake)
        return json.loads(answer.read())


def same(fake_item: dict, recorded_item: dict, keys: list[str]) -> None:
    for key in keys:
        assert key in fake_item, key
        assert type(fake_item[key]) is type(recorded_item[key]), key


def test_the_fakes_answers_carry_what_the_client_reads_as_recorded(gitlab, client):
    pid, iid = 1187, 342
    mr = gitlab.add_merge_request()
    refs = mr["diff_refs"]
    gitlab.push(
        pid, iid, "f" * 40, files=[{"path": "billing/invoice.py", "diff": "@@ -1 +1 @@\n-a\n+b\n"}]
    )
    new = client.merge_request(pid, iid)
    position = {
        "position_type": "text",
        "base_sha": new.base_sha,
        "start_sha": new.start_sha,
        "head_sha": new.head_sha,
        "new_path": "billing/invoice.py",
        "old_path": "billing/invoice.py",
        "new_line": 1,
    }
    client.create_discussion(pid, iid, "x", position)
    gitlab.members[417] = 30

    discussion = ask(gitlab, f"/projects/{pid}/merge_requests/{iid}/discussions")[0]
    single = ask(gitlab, f"/projects/{pid}/merge_requests/{iid}")
    member = ask(gitlab, f"/projects/{pid}/members/all/417")
    query = {"from": refs["head_sha"], "to": "f" * 40, "unidiff": "true"}
    compare = ask(gitlab, f"/projects/{pid}/repository/compare", query)

    rec = recorded("discussions")["body"][7]
    same(discussion, rec, ["id", "notes"])
    same(discussion["notes"][0], rec["notes"][0], ["id", "body", "author", "resolved", "system"])
    same(discussion["notes"][0]["author"], rec["notes"][0]["author"], ["id", "username"])
    rec_mr = recorded("merge_request")["body"]
    keys = ["project_id", "iid", "title", "description", "state", "draft", "web_url", "sha"]
    keys += ["source_branch", "target_branch", "author", "diff_refs", "prepared_at"]
    same(single, rec_mr, [*keys, "detailed_merge_status", "references"])
    same(single["diff_refs"], rec_mr["diff_refs"], ["base_sha", "start_sha", "head_sha"])
    same(single["references"], rec_mr["references"], ["full"])
    same(member, recorded("doc.member_all")["body"], ["access_level"])
    same(compare, recorded("compare")["body"], ["diffs"])
    flags = ["old_path", "new_path", "diff", "new_file", "renamed_file", "deleted_file"]
    same(compare["diffs"][0], recorded("compare")["body"]["diffs"][0], flags)
