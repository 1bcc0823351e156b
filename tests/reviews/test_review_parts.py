"""Reviews in parts: a 20-file merge request over the diff budget is reviewed by one run per
part (each its own Dify run, tokens and status), and one summary with every part's review
under its files and all their line comments lands on the MR, against a fake GitLab and a fake
Dify, through the real engine."""

from __future__ import annotations

import pytest
from django.utils import timezone

from integrations.forges import chunks
from integrations.gitlab.types import FileDiff
from integrations.models import Run
from integrations.runs import engine, slots, stopping
from integrations.runs.rerun import RunNotFinal, retry_run
from tests.fakes import dify as fd
from tests.reviews.support import (
    FIRST_HEAD,
    IID,
    PROJECT_ID,
    SECOND_HEAD,
    deliver_all,
    delivery,
    execute,
)

pytestmark = pytest.mark.django_db

BUDGET = 1_000


def changed_file(n: int) -> dict:
    lines = "".join(f"+    value_{n}_{i} = compute({i})\n" for i in range(6))
    return {
        "old_path": f"app/module_{n:02}.py",
        "new_path": f"app/module_{n:02}.py",
        "diff": f"@@ -1,2 +1,8 @@ def f{n}():\n     start()\n{lines}     end()\n",
    }


FILES = [changed_file(n) for n in range(1, 21)]


def planned(max_parts: int = 5) -> chunks.Split:
    files = [FileDiff(f["old_path"], f["new_path"], f["diff"]) for f in FILES]
    return chunks.split(files, BUDGET, max_parts)


@pytest.fixture
def in_parts(endpoint, fake_gitlab):
    endpoint.review_in_parts = True
    endpoint.diff_budget = BUDGET
    endpoint.max_parts = 10
    # The standard inputs a workflow gets, rendered into a field the fake's form has.
    endpoint.input_mapping = {"language": "part {{ chunk }} of {{ chunks }}"}
    endpoint.save()
    fake_gitlab.push(PROJECT_ID, IID, FIRST_HEAD, files=FILES)
    return endpoint


@pytest.fixture
def accept(in_parts, post_hook):
    def post(name: str = "mr_open") -> Run:
        response = post_hook(in_parts, *delivery(name))
        assert response.status_code == 202, response.json()
        return Run.objects.get(pk=response.json()["run"])

    return post


def answer(part: chunks.Part, tokens: int = 100) -> fd.Behaviour:
    first = part.paths[0]
    return fd.success(
        {
            "review": f"Part with {len(part.paths)} files: fine.",
            "comments": [{"path": first, "line": 3, "severity": "low", "body": f"Name {first}."}],
        },
        total_tokens=tokens,
    )


def test_the_twenty_files_are_split_into_parts_that_each_fit():
    split = planned(max_parts=10)
    assert len(split.parts) > 1 and not split.omitted
    assert [p for part in split.parts for p in part.paths] == [f["new_path"] for f in FILES]
    assert all(len(part.bundle.text) <= BUDGET for part in split.parts)


def test_a_large_review_runs_in_parts_and_posts_one_summary(accept, review_dify, fake_gitlab):
    parts = planned(max_parts=10).parts
    review_dify.script("run", *(answer(p, tokens=100 + p.number) for p in parts))
    run = accept()

    # The review's turn starts the parts and waits; the same worker goes on with the parts.
    assert execute(run).action == "execute"
    assert run.status == Run.Status.QUEUED
    # The last part to end wakes the review (after its commit: test_the_last_part_wakes…).
    assert execute(run) == engine.DONE
    assert run.status == Run.Status.SUCCEEDED, run.error_message
    children = list(run.parts.order_by("part"))
    assert [c.part for c in children] == [p.number for p in parts]
    assert {c.kind for c in children} == {Run.Kind.REVIEW_PART}
    assert all(c.status == Run.Status.SUCCEEDED for c in children)
    # One Dify run per part, none for the review itself; each with its own run id.
    sent = review_dify.requests_to("/workflows/run")
    assert len(sent) == len(parts)
    assert len({c.dify_workflow_run_id for c in children}) == len(parts) and not (
        run.dify_workflow_run_id
    )
    for request, part in zip(sent, parts, strict=True):
        inputs = request.json["inputs"]
        assert inputs["language"] == f"part {part.number} of {len(parts)}"
        assert inputs["diff"] == part.bundle.text
        assert request.json["user"].endswith(f":part-{part.number}")
    assert run.total_tokens == sum(100 + p.number for p in parts)

    deliver_all(run)
    assert run.status == Run.Status.SUCCEEDED
    (note,) = fake_gitlab.notes_of(PROJECT_ID, IID)
    body = note["body"]
    assert f"Reviewed in {len(parts)} parts" in body
    for part in parts:
        files = ", ".join(f"`{path}`" for path in part.paths)
        assert f"### Part {part.number} of {len(parts)}: {files}" in body
    assert f"**Inline comments:** {len(parts)} low." in body
    lines = fake_gitlab.discussions_of(PROJECT_ID, IID)
    positions = sorted(
        (d["notes"][0]["position"]["new_path"], d["notes"][0]["position"]["new_line"])
        for d in lines
    )
    assert positions == sorted((p.paths[0], 3) for p in parts)


def test_a_failed_part_is_named_with_its_files_and_the_rest_is_posted(
    accept, review_dify, fake_gitlab
):
    parts = planned(max_parts=10).parts
    behaviours = [answer(p) for p in parts]
    behaviours[1] = fd.node_failed("Node LLM run failed: context window exceeded", title="LLM")
    review_dify.script("run", *behaviours)
    run = accept()
    execute(run)
    execute(run)
    assert run.status == Run.Status.SUCCEEDED
    failed = run.parts.get(part=2)
    assert failed.status == Run.Status.FAILED
    deliver_all(run)
    (note,) = fake_gitlab.notes_of(PROJECT_ID, IID)
    second = ", ".join(f"`{path}`" for path in parts[1].paths)
    assert (
        f"### Part 2 of {len(parts)}: {second}\n\n**Not reviewed:** failed (run #{failed.pk})"
        in (note["body"])
    )
    assert "context window exceeded" in note["body"]
    assert "1 of them could not be reviewed" in note["body"]


def test_retrying_the_review_runs_only_the_part_that_failed(accept, review_dify):
    parts = planned(max_parts=10).parts
    behaviours = [answer(p) for p in parts]
    behaviours[2] = fd.node_failed()
    review_dify.script("run", *behaviours)
    run = accept()
    execute(run)
    execute(run)
    deliver_all(run)
    before = len(review_dify.requests_to("/workflows/run"))

    review_dify.script("run", answer(parts[2]))
    again = retry_run(run)
    execute(again)
    execute(again)
    assert again.status == Run.Status.SUCCEEDED, again.error_message
    assert len(review_dify.requests_to("/workflows/run")) == before + 1  # the third part only
    reused = again.parts.exclude(part=3)
    assert all("reused from run #" in p.source for p in reused)
    assert again.parts.get(part=3).status == Run.Status.SUCCEEDED
    assert "Not reviewed" not in again.outputs["review"]


def test_a_part_is_retried_through_its_review(accept, review_dify):
    review_dify.script("run", *(answer(p) for p in planned(max_parts=10).parts))
    run = accept()
    execute(run)
    part = run.parts.get(part=1)
    with pytest.raises(RunNotFinal, match=f"part 1 of the review run #{run.pk}: retry that"):
        retry_run(part)


def test_when_every_part_fails_the_review_fails_saying_why(accept, review_dify, fake_gitlab):
    count = len(planned(max_parts=10).parts)
    review_dify.script("run", *(fd.node_failed() for _ in range(count)))
    run = accept()
    execute(run)
    execute(run)
    assert run.status == Run.Status.FAILED
    assert run.error_code == "parts_failed" and run.error_source == "dify"
    assert run.error_message.startswith("Every part of the review failed: part 1 (run #")
    assert not fake_gitlab.notes_of(PROJECT_ID, IID)


def test_files_beyond_the_maximum_number_of_parts_are_named(accept, review_dify, in_parts):
    in_parts.max_parts = 2
    in_parts.save()
    split = planned(max_parts=2)
    assert len(split.parts) == 2 and split.omitted
    review_dify.script("run", *(answer(p) for p in split.parts))
    run = accept()
    execute(run)
    execute(run)
    text = run.outputs["review"]
    assert "### Left out" in text
    path, why = split.omitted[0]
    assert f"- `{path}`: does not fit into 2 parts of {BUDGET} characters" in text
    sent = review_dify.requests_to("/workflows/run")
    assert all(f"b/{path}" not in request.json["inputs"]["diff"] for request in sent)


def test_the_review_waits_for_its_parts_without_holding_a_slot(accept, review_app):
    run = accept()
    # Only the review's own turn: the parts are created and queued, the review waits.
    Run.objects.filter(pk=run.pk).update(next_attempt_at=None)
    step = engine.attempt(_claimed(run, review_app))
    run.refresh_from_db()
    assert step.action == "execute" and run.status == Run.Status.QUEUED
    assert run.error_message.startswith(
        f"The hub: waiting for {run.parts.count()} of {run.parts.count()} parts"
    )
    assert all(p.status == Run.Status.QUEUED for p in run.parts.all())
    assert run.attempts == 0  # waiting for its parts costs the review no attempt
    assert not review_app.slots.filter(run_id__isnull=False).exists()


def test_the_last_part_to_end_wakes_the_review(
    accept, review_dify, review_app, django_capture_on_commit_callbacks
):
    parts = planned(max_parts=10).parts
    review_dify.script("run", *(answer(p) for p in parts))
    run = accept()
    Run.objects.filter(pk=run.pk).update(next_attempt_at=None)
    engine.attempt(_claimed(run, review_app))
    children = list(run.parts.order_by("part"))
    for n, child in enumerate(children, start=1):
        with django_capture_on_commit_callbacks(execute=True):
            engine.attempt(_claimed(child, review_app))
        run.refresh_from_db()
        woken = run.next_attempt_at is not None and run.next_attempt_at <= timezone.now()
        assert woken is (n == len(children)), n  # only once no part is left
    assert execute(run) == engine.DONE and run.status == Run.Status.SUCCEEDED


def test_stopping_the_waiting_review_cancels_its_parts(accept, review_dify, review_app):
    run = accept()
    Run.objects.filter(pk=run.pk).update(next_attempt_at=None)
    engine.attempt(_claimed(run, review_app))
    assert stopping.request_stop(run, by="alice") == "cancelled"
    part = run.parts.get(part=1)
    assert execute(part) == engine.DONE
    assert part.status == Run.Status.CANCELLED
    assert part.error_message == (
        f"The hub: the review this is part 1 of (run #{run.pk}) is cancelled, so this part "
        "is not reviewed."
    )
    assert not review_dify.requests_to("/workflows/run")


def test_a_newer_push_supersedes_the_review_and_its_parts(accept, review_dify, fake_gitlab):
    run = accept()
    Run.objects.filter(pk=run.pk).update(next_attempt_at=None)
    engine.attempt(_claimed(run, run.app))
    fake_gitlab.push(PROJECT_ID, IID, SECOND_HEAD, files=FILES)
    newer = accept("mr_update_new_commits")
    run.refresh_from_db()
    assert run.status == Run.Status.SUPERSEDED
    assert set(run.parts.values_list("status", flat=True)) == {Run.Status.SUPERSEDED}
    assert newer.status == Run.Status.QUEUED


def test_without_parts_the_large_diff_is_cut_and_the_rest_named(accept, review_dify, in_parts):
    in_parts.review_in_parts = False
    in_parts.save()
    review_dify.script("run", fd.success({"review": "One run."}))
    run = accept()
    execute(run)
    assert not run.parts.exists()
    (sent,) = review_dify.requests_to("/workflows/run")
    assert len(sent.json["inputs"]["diff"]) <= BUDGET
    assert run.inputs["language"] == "part  of "  # no parts: chunk and chunks are empty


def _claimed(run: Run, app) -> Run:
    claimed = slots.claim(app, holder="test")
    assert claimed is not None and claimed.pk == run.pk
    return claimed


def test_the_run_pages_link_the_review_and_its_parts(accept, review_dify, admin_client):
    parts = planned(max_parts=10).parts
    review_dify.script("run", *(answer(p, tokens=7) for p in parts))
    run = accept()
    execute(run)
    execute(run)
    page = " ".join(
        admin_client.get(f"/admin/integrations/run/{run.pk}/change/").content.decode().split()
    )
    first = run.parts.get(part=1)
    assert (
        f'<td>1</td><td><a href="/admin/integrations/run/{first.pk}/change/">#{first.pk}</a></td>'
        f"<td>Succeeded</td><td><code>{first.dify_workflow_run_id}</code></td><td>7</td>"
        f"<td>{', '.join(parts[0].paths)}</td>"
    ) in page
    part_page = admin_client.get(f"/admin/integrations/run/{first.pk}/change/").content.decode()
    assert f'part 1 of review <a href="/admin/integrations/run/{run.pk}/change/">#{run.pk}</a>' in (
        part_page
    )
