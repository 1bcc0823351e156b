"""A review run from webhook to note, in-process, against a fake GitLab and a fake Dify."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.gitlab.note import marker
from integrations.models import Delivery, Recipient, ReviewEndpoint, Run
from integrations.runs import engine, recovery, slots, stopping
from integrations.runs.delivery import deliver_one, posted_here
from integrations.runs.rerun import redeliver
from tests.fakes import dify as fd
from tests.reviews.support import (
    FILES,
    FIRST_HEAD,
    IID,
    PROJECT_ID,
    REVIEW_TEXT,
    SECOND_HEAD,
    deliver_all,
    delivery,
    execute,
)
from tests.threads import worker_thread

pytestmark = pytest.mark.django_db


@pytest.fixture
def accept(endpoint, post_hook):
    def post(name: str = "mr_open") -> Run:
        response = post_hook(endpoint, *delivery(name))
        assert response.status_code == 202, response.json()
        return Run.objects.get(pk=response.json()["run"])

    return post


def test_an_opened_mr_gets_its_review_as_a_note(accept, review_dify, fake_gitlab, endpoint):
    review_dify.script("run", fd.success({"review": REVIEW_TEXT}))
    run = accept()

    assert execute(run) == engine.DONE
    # The thread that ran the review posted its note too (no task of its own).
    assert run.status == Run.Status.SUCCEEDED
    (sent,) = review_dify.requests_to("/workflows/run")
    inputs = sent.json["inputs"]
    # Fitted to the app's form: only declared names, max_length kept, the mapping applied.
    assert set(inputs) == {"title", "diff", "changed_files", "focus", "language"}
    assert inputs["title"] == run.inputs["title"] and len(inputs["title"]) == 40
    assert inputs["language"] == "en" and inputs["focus"] == ""
    assert "+++ b/billing/capture.py" in inputs["diff"]
    assert "poetry.lock" not in inputs["diff"]  # lock files are left out of the diff
    assert inputs["changed_files"] == "M billing/capture.py\nM poetry.lock"
    # The GitLab calls went to the endpoint's own URL with its token.
    assert {r.headers["private-token"] for r in fake_gitlab.requests} == {fake_gitlab.token}

    (note_delivery,) = run.deliveries.all()
    assert note_delivery.kind == "gitlab_note"
    assert note_delivery.recipient_name == "Note on payments/billing-service!342"
    assert note_delivery.status == Delivery.Status.DELIVERED
    (note,) = fake_gitlab.notes_of(PROJECT_ID, IID)
    assert note["body"].startswith(marker("team-a", "1187!342"))
    assert REVIEW_TEXT in note["body"]
    assert "### Review of payments/billing-service!342: Retry failed card captures" in note["body"]
    assert f"commit {FIRST_HEAD[:8]} · dify-hub run #{run.pk}" in note["body"]
    endpoint.refresh_from_db()
    assert endpoint.bot_user_id == fake_gitlab.user["id"]  # learnt from GET /user


def test_a_re_review_edits_the_same_note_in_place(accept, review_dify, fake_gitlab):
    review_dify.script("run", fd.success({"review": "First review."}))
    first = accept()
    execute(first)
    deliver_all(first)

    fake_gitlab.push(PROJECT_ID, IID, SECOND_HEAD)
    review_dify.script("run", fd.success({"review": "Second review."}))
    second = accept("mr_update_new_commits")
    execute(second)
    deliver_all(second)

    assert second.status == Run.Status.SUCCEEDED
    (note,) = fake_gitlab.notes_of(PROJECT_ID, IID)
    assert "Second review." in note["body"] and "First review." not in note["body"]
    assert (
        fake_gitlab.requests_to("/notes", "POST")
        and len(fake_gitlab.requests_to(f"/notes/{note['id']}", "PUT")) == 1
    )


def test_a_retried_delivery_finds_its_note_instead_of_posting_twice(
    accept, review_dify, fake_gitlab
):
    review_dify.script("run", fd.success({"review": REVIEW_TEXT}))
    run = accept()
    execute(run)
    deliver_all(run)
    # As if the worker died after GitLab saved the note but before the hub recorded it.
    Delivery.objects.filter(run=run).update(status=Delivery.Status.PENDING, parts_sent=0)

    deliver_all(run)
    assert len(fake_gitlab.notes_of(PROJECT_ID, IID)) == 1


def test_notes_by_other_users_with_a_copied_marker_are_left_alone(
    accept, review_dify, fake_gitlab, endpoint
):
    ReviewEndpoint.objects.filter(pk=endpoint.pk).update(bot_user_id=fake_gitlab.user["id"])
    quote = f"> {marker('team-a', '1187!342')}\n> quoted the bot"
    fake_gitlab.add_note(PROJECT_ID, IID, quote, author={"id": 77, "username": "pnatarajan"})
    review_dify.script("run", fd.success({"review": REVIEW_TEXT}))
    run = accept()
    execute(run)
    deliver_all(run)

    notes = fake_gitlab.notes_of(PROJECT_ID, IID)
    assert [n["body"] for n in notes][0] == quote
    assert len(notes) == 2 and REVIEW_TEXT in notes[1]["body"]


def test_the_run_waits_for_gitlab_to_prepare_the_diff(accept, review_dify, fake_gitlab):
    fake_gitlab.diff_not_ready(PROJECT_ID, IID, times=2)
    review_dify.script("run", fd.success({"review": REVIEW_TEXT}))
    run = accept()

    for wait in (1, 2):
        step = execute(run)
        assert step.action == "execute" and 0 < step.countdown <= 2
        assert run.status == Run.Status.QUEUED and run.attempts == 0
        assert run.waits == wait
        assert "GitLab is still preparing the diff of !342 at 9f3c1a7b" in run.error_message
        assert review_dify.requests == []

    assert execute(run) == engine.DONE
    assert run.status == Run.Status.SUCCEEDED and run.attempts == 1
    assert len(review_dify.requests_to("/workflows/run")) == 1


def test_a_diff_that_never_gets_ready_fails_with_advice(accept, fake_gitlab, settings):
    fake_gitlab.diff_not_ready(PROJECT_ID, IID, times=100)
    run = accept()
    for _ in range(settings.HUB_GITLAB_DIFF_WAITS):
        assert execute(run).action == "execute"
    assert execute(run) == engine.DONE
    assert run.status == Run.Status.FAILED and run.error_code == "diff_not_ready"
    assert "after 4 looks" in run.error_message and "/review" in run.error_message


@pytest.mark.parametrize(
    ("status", "code", "words"),
    [
        (401, "unauthorized", "401 Unauthorized"),
        (403, "forbidden", "403 Forbidden"),
        (404, "not_found", "404"),
    ],
)
def test_gitlab_refusing_the_token_fails_the_run_in_plain_words(
    accept, fake_gitlab, status, code, words
):
    run = accept()
    fake_gitlab.fail_next("GET", f"/merge_requests/{IID}", status)
    assert execute(run) == engine.DONE
    assert run.status == Run.Status.FAILED and run.error_code == code
    assert run.error_source == "gitlab" and run.attempts == 1
    assert run.error_message.startswith(f"GitLab answered {status}")
    assert words in run.error_message
    assert fake_gitlab.token not in run.error_message


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_gitlab_being_busy_or_down_is_retried(accept, review_dify, fake_gitlab, status):
    run = accept()
    fake_gitlab.fail_next("GET", f"/merge_requests/{IID}", status, retry_after=1)
    step = execute(run)
    assert step.action == "execute" and step.countdown >= (1 if status == 429 else 0)
    assert run.status == Run.Status.QUEUED and run.error_source == "gitlab"
    assert str(status) in run.error_message

    review_dify.script("run", fd.success({"review": REVIEW_TEXT}))
    assert execute(run) == engine.DONE
    assert run.status == Run.Status.SUCCEEDED and run.attempts == 2


def test_a_head_that_moved_on_supersedes_the_review_before_dify_is_called(
    accept, review_dify, fake_gitlab
):
    run = accept()
    fake_gitlab.push(PROJECT_ID, IID, SECOND_HEAD)
    assert execute(run) == engine.DONE
    assert run.status == Run.Status.SUPERSEDED and run.error_code == "head_moved"
    assert "moved on to commit c41e0d2f" in run.error_message
    assert review_dify.requests == []
    # No review of the newer head was asked for (its hook never came): says what to do.
    assert run.error_message.endswith(
        "no review of c41e0d2f has been asked for (its push did not reach the hub, or the "
        "endpoint's triggers leave new commits out): comment /review to review it."
    )


def test_a_superseded_review_names_the_run_that_reviews_the_newer_head(
    accept, review_dify, fake_gitlab
):
    run = accept()
    fake_gitlab.push(PROJECT_ID, IID, SECOND_HEAD)
    # The newer push's review, accepted while this one was already being prepared (intake
    # supersedes only what has not started).
    newer = Run.objects.create(
        kind=run.kind,
        source="the newer push",
        app=run.app,
        review_endpoint=run.review_endpoint,
        merge_request_key=run.merge_request_key,
        head_sha=SECOND_HEAD,
        status=Run.Status.RUNNING,
    )
    execute(run)
    assert run.status == Run.Status.SUPERSEDED
    assert run.error_message.endswith(f"run #{newer.pk} reviews the newer state.")


def test_a_push_the_api_does_not_show_yet_is_waited_for_not_superseded(
    accept, review_dify, fake_gitlab
):
    # The update hook announces SECOND_HEAD (oldrev FIRST_HEAD) before GitLab's API has it.
    review_dify.script("run", fd.success({"review": REVIEW_TEXT}))
    run = accept("mr_update_new_commits")
    step = execute(run)
    assert step.action == "execute" and run.status == Run.Status.QUEUED
    assert "GitLab's API does not show !342 at c41e0d2f yet" in run.error_message

    fake_gitlab.push(PROJECT_ID, IID, SECOND_HEAD)
    assert execute(run) == engine.DONE
    assert run.status == Run.Status.SUCCEEDED and run.attempts == 1


def test_an_mr_merged_before_the_review_started_cancels_it(accept, review_dify, fake_gitlab):
    fake_gitlab.add_merge_request(PROJECT_ID, head_sha=FIRST_HEAD, state="merged")
    run = accept()
    assert execute(run) == engine.DONE
    assert run.status == Run.Status.CANCELLED and run.error_code == "merge_request_merged"
    assert review_dify.requests == []


def test_a_review_without_the_chosen_output_posts_nothing_until_the_endpoint_is_fixed(
    accept, review_dify, fake_gitlab
):
    review_dify.script("run", fd.success({"text": "the review, under another name"}))
    run = accept()
    execute(run)
    assert run.status == Run.Status.SUCCEEDED and run.error_code == "no_output"
    assert "no output named `review`" in run.error_message
    assert "'Output with the review'" in run.error_message
    assert run.deliveries.get().status == Delivery.Status.FAILED
    assert fake_gitlab.notes_of(PROJECT_ID, IID) == []

    endpoint = run.review_endpoint
    endpoint.output_key = "text"
    endpoint.save()
    redeliver(Run.objects.get(pk=run.pk))
    deliver_one(run.deliveries.get().pk)
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED and run.error_code == ""
    (note,) = fake_gitlab.notes_of(PROJECT_ID, IID)
    assert "the review, under another name" in note["body"]
    assert len(review_dify.requests_to("/workflows/run")) == 1


def test_a_note_gitlab_refuses_fails_the_delivery_and_the_run(accept, review_dify, fake_gitlab):
    review_dify.script("run", fd.success({"review": REVIEW_TEXT}))
    run = accept()
    fake_gitlab.fail_next("POST", "/notes", 403)
    execute(run)
    assert run.status == Run.Status.FAILED
    (failed,) = run.deliveries.all()
    assert failed.status == Delivery.Status.FAILED and "403" in failed.error
    assert failed.attempt_rows.get().http_status == 403


def test_a_note_gitlab_cannot_take_yet_is_retried(accept, review_dify, fake_gitlab):
    review_dify.script("run", fd.success({"review": REVIEW_TEXT}))
    run = accept()
    fake_gitlab.fail_next("POST", "/notes", 502)
    execute(run)  # the review's thread tries the note once, then queues a retry
    assert run.status == Run.Status.DELIVERING
    (pending,) = run.deliveries.all()
    assert pending.status == Delivery.Status.PENDING and pending.attempts == 1
    assert pending.next_attempt_at is not None
    assert deliver_one(pending.pk) is None
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED
    assert len(fake_gitlab.notes_of(PROJECT_ID, IID)) == 1


def test_a_note_whose_worker_died_before_posting_it_is_sent_by_the_sweep(
    accept, review_dify, fake_gitlab
):
    review_dify.script("run", fd.success({"review": REVIEW_TEXT}))
    run = accept()
    Run.objects.filter(pk=run.pk).update(next_attempt_at=None)
    claimed = slots.claim(run.app, holder="celery@gone:7")
    with posted_here() as notes:
        engine.attempt(claimed)
    # The worker died here, after the review was stored and before its thread posted the
    # note: the note is pending, and no message was sent for it.
    (note,) = Delivery.objects.filter(run_id=run.pk)
    assert notes == [note.pk] and note.status == Delivery.Status.PENDING
    assert fake_gitlab.notes_of(PROJECT_ID, IID) == []

    assert recovery.recover(timezone.now())["deliveries"] == 0  # not yet overdue
    later = timezone.now() + recovery.LOST_AFTER + timedelta(seconds=1)
    assert recovery.recover(later)["deliveries"] == 1  # its message is sent now
    deliver_one(note.pk)
    assert len(fake_gitlab.notes_of(PROJECT_ID, IID)) == 1
    assert Run.objects.get(pk=run.pk).status == Run.Status.SUCCEEDED


def test_chat_recipients_get_the_review_too(
    accept, review_dify, fake_gitlab, endpoint, rocketchat, django_capture_on_commit_callbacks
):
    recipient = Recipient.objects.create(name="team", kind="rocketchat", webhook_url=rocketchat.url)
    endpoint.recipients.add(recipient)
    review_dify.script("run", fd.success({"review": REVIEW_TEXT}))
    run = accept()
    with django_capture_on_commit_callbacks() as sent:
        execute(run)
    assert len(sent) == 1  # one message to the broker: the chat post's task
    # The note went out with the review; the chat post waits for a task of its own.
    statuses = dict(run.deliveries.values_list("kind", "status"))
    assert statuses == {"gitlab_note": "delivered", "rocketchat": "pending"}
    assert rocketchat.requests == []
    deliver_all(run)
    assert run.status == Run.Status.SUCCEEDED
    assert "Looks good." in rocketchat.requests[0].json["text"]


def test_without_note_or_recipients_the_review_is_kept_on_the_run(
    accept, review_dify, fake_gitlab, endpoint
):
    ReviewEndpoint.objects.filter(pk=endpoint.pk).update(post_note=False)
    review_dify.script("run", fd.success({"review": REVIEW_TEXT}))
    run = accept()
    execute(run)
    assert run.status == Run.Status.SUCCEEDED and run.message["text"] == REVIEW_TEXT
    assert not run.deliveries.exists() and fake_gitlab.notes_of(PROJECT_ID, IID) == []


def test_an_app_never_checked_has_its_input_form_read_first(accept, review_dify, review_app):
    type(review_app).objects.filter(pk=review_app.pk).update(
        input_form=[], checked_at=None, form_loaded_at=None
    )
    review_dify.script("run", fd.success({"review": REVIEW_TEXT}))
    run = accept()
    execute(run)
    assert run.status == Run.Status.SUCCEEDED
    assert len(review_dify.requests_to("/parameters")) == 1
    review_app.refresh_from_db()
    assert [f.variable for f in review_app.fields][:2] == ["title", "diff"]


@pytest.mark.django_db(transaction=True)
def test_a_review_superseded_while_dify_runs_posts_nothing(accept, review_dify, fake_gitlab):
    review_dify.script("run", fd.slow(1.5, ping_interval=0.2, outputs={"review": "stale"}))
    old = accept()
    worker = worker_thread(engine.execute, old.pk)
    worker.start()
    assert _wait_until(lambda: Run.objects.get(pk=old.pk).dify_task_id)

    fake_gitlab.push(PROJECT_ID, IID, SECOND_HEAD)
    newer = accept("mr_update_new_commits")
    worker.join(10)

    old.refresh_from_db()
    assert old.status == Run.Status.SUPERSEDED
    assert old.error_message == f"Superseded by run #{newer.pk} (commit c41e0d2f)."
    assert not old.deliveries.exists() and fake_gitlab.notes_of(PROJECT_ID, IID) == []
    assert stopping.send_stop(old.pk)  # what the stop_dify_run task does
    assert review_dify.requests_to(f"/workflows/tasks/{old.dify_task_id}/stop")


def _wait_until(check, timeout: float = 5.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def test_a_retry_of_a_review_that_gave_up_waiting_waits_afresh(
    accept, review_dify, fake_gitlab, settings
):
    from integrations.runs.rerun import retry_run

    fake_gitlab.diff_not_ready(PROJECT_ID, IID, times=settings.HUB_GITLAB_DIFF_WAITS + 1)
    run = accept()
    while execute(run) != engine.DONE:
        pass
    assert run.status == Run.Status.FAILED and run.error_code == "diff_not_ready"

    review_dify.script("run", fd.success({"review": REVIEW_TEXT}))
    retry = retry_run(run)
    assert retry.waits == 0
    assert execute(retry) == engine.DONE  # GitLab is ready now
    assert retry.status == Run.Status.SUCCEEDED


@pytest.mark.parametrize(
    ("level", "widened", "status"),
    [
        (30, False, Run.Status.SUCCEEDED),
        (20, False, Run.Status.CANCELLED),
        (None, False, Run.Status.CANCELLED),
        (None, True, Run.Status.SUCCEEDED),
    ],
    ids=["developer", "reporter", "not-a-member", "widened-to-anyone"],
)
def test_review_comments_count_from_developers_and_above(
    accept, review_dify, fake_gitlab, endpoint, level, widened, status
):
    if level is None:
        fake_gitlab.members.pop(77, None)  # the commenter of note_review_command
    else:
        fake_gitlab.members[77] = level
    if widened:
        endpoint.review_command_from = ["OWNER", "MEMBER", "COLLABORATOR", "NONE"]
        endpoint.save()
    fake_gitlab.push(PROJECT_ID, IID, SECOND_HEAD)  # the head the comment was made on
    review_dify.script("run", fd.success({"review": REVIEW_TEXT}))
    run = accept("note_review_command")
    execute(run)
    assert run.status == status
    if status == Run.Status.CANCELLED:
        assert run.error_code == "not_trusted"
        assert (
            "@pnatarajan is not a member of the project with Developer access" in run.error_message
        )
        assert not review_dify.requests_to("/workflows/run")


def test_line_comments_become_diff_discussions_once_and_stale_ones_are_resolved(
    accept, review_dify, fake_gitlab
):
    first = {
        "path": "billing/capture.py",
        "line": 11,
        "severity": "high",
        "body": "Cap the retries.",
        "suggestion": "    for attempt in range(3):",
    }
    review_dify.script(
        "run",
        fd.success(
            {
                "review": REVIEW_TEXT,
                "comments": [
                    first,
                    {"path": "billing/capture.py", "line": 2, "body": "Off the diff."},
                ],
            }
        ),
    )
    run = accept()
    execute(run)
    assert sorted(d.kind for d in run.deliveries.all()) == ["gitlab_lines", "gitlab_note"]
    deliver_all(run)
    assert run.status == Run.Status.SUCCEEDED
    (discussion,) = fake_gitlab.discussions_of(PROJECT_ID, IID)
    (line,) = discussion["notes"]
    version = fake_gitlab.versions_of(PROJECT_ID, IID)[0]
    assert line["position"] == {
        "position_type": "text",
        "base_sha": version["base_commit_sha"],
        "start_sha": version["start_commit_sha"],
        "head_sha": FIRST_HEAD,
        "new_path": "billing/capture.py",
        "old_path": "billing/capture.py",
        "new_line": 11,
    }
    assert line["body"].startswith(
        "**high** · Cap the retries.\n\n```suggestion:-0+0\n    for attempt in range(3):\n```"
    )
    (note,) = fake_gitlab.notes_of(PROJECT_ID, IID)
    assert (
        "**Inline comments:** 1 high." in note["body"] and "line 2: Off the diff." in note["body"]
    )

    # A re-review after a push: the same comment is not repeated; once the review no longer
    # raises it, its discussion is resolved.
    fake_gitlab.push(PROJECT_ID, IID, SECOND_HEAD)
    review_dify.script("run", fd.success({"review": "Second look.", "comments": [first]}))
    second = accept("mr_update_new_commits")
    execute(second)
    deliver_all(second)
    assert len(fake_gitlab.discussions_of(PROJECT_ID, IID)) == 1
    assert second.deliveries.get(kind="gitlab_lines").attempt_rows.get().response_body == (
        "0 line comments posted, 1 already there"
    )


def test_a_comment_the_next_review_no_longer_raises_is_resolved(accept, review_dify, fake_gitlab):
    old = {"path": "billing/capture.py", "line": 11, "body": "Cap the retries."}
    new = {"path": "billing/capture.py", "line": 12, "body": "Catch only timeouts."}
    review_dify.script(
        "run",
        fd.success({"review": REVIEW_TEXT, "comments": [old]}),
        fd.success({"review": "Better.", "comments": [new]}),
    )
    first = accept()
    execute(first)
    deliver_all(first)
    fake_gitlab.push(PROJECT_ID, IID, SECOND_HEAD)
    second = accept("mr_update_new_commits")
    execute(second)
    deliver_all(second)
    resolved = {
        d["notes"][0]["body"].split("\n")[0]: d["notes"][0]["resolved"]
        for d in fake_gitlab.discussions_of(PROJECT_ID, IID)
    }
    assert resolved == {"Cap the retries.": True, "Catch only timeouts.": False}
    assert second.deliveries.get(kind="gitlab_lines").attempt_rows.get().response_body == (
        "1 line comments posted, 1 stale ones resolved"
    )


def test_resolving_stale_comments_can_be_switched_off(accept, review_dify, fake_gitlab, endpoint):
    endpoint.resolve_stale_comments = False
    endpoint.save()
    review_dify.script(
        "run",
        fd.success(
            {
                "review": REVIEW_TEXT,
                "comments": [{"path": "billing/capture.py", "line": 11, "body": "A."}],
            }
        ),
        fd.success(
            {"review": "B.", "comments": [{"path": "billing/capture.py", "line": 12, "body": "B."}]}
        ),
    )
    first = accept()
    execute(first)
    deliver_all(first)
    fake_gitlab.push(PROJECT_ID, IID, SECOND_HEAD)
    second = accept("mr_update_new_commits")
    execute(second)
    deliver_all(second)
    kept = [d["notes"][0]["resolved"] for d in fake_gitlab.discussions_of(PROJECT_ID, IID)]
    assert kept == [False, False]  # the first one, no longer raised, is left open


def test_a_re_review_gets_its_round_the_last_summary_and_only_what_changed(
    accept, review_dify, fake_gitlab, endpoint
):
    endpoint.input_mapping = {
        "language": "round {{ review_round }} | {{ previous_review }} | {{ new_diff }}"
    }
    endpoint.save()
    review_dify.script(
        "run",
        fd.success({"review": "First: cap the retries."}),
        fd.success({"review": "Second look."}),
    )
    first = accept()
    execute(first)
    deliver_all(first)
    assert first.inputs["language"].startswith("round 1 |  | diff --git a/billing/capture.py")

    changed = dict(
        FILES[0],
        diff="@@ -10,3 +10,4 @@ def capture(card):\n-    return psp.capture(card)\n+    return psp.capture(card, retries=3)\n",
    )
    fake_gitlab.push(PROJECT_ID, IID, SECOND_HEAD, files=[changed, FILES[1]])
    second = accept("mr_update_new_commits")
    execute(second)
    round_, previous, new_diff = second.inputs["language"].split(" | ", 2)
    assert (round_, previous) == ("round 2", "First: cap the retries.")
    assert "+    return psp.capture(card, retries=3)" in new_diff and "poetry.lock" not in new_diff
    assert fake_gitlab.requests_to("/repository/compare", "GET")[0].query["from"] == FIRST_HEAD


@pytest.mark.parametrize("new_part_when_large", [True, False])
def test_a_large_re_review_can_send_only_the_new_part_as_the_diff(
    accept, review_dify, fake_gitlab, endpoint, new_part_when_large
):
    endpoint.new_part_when_large = new_part_when_large
    endpoint.diff_budget = 1_000  # the second push's big file does not fit
    endpoint.save()
    util = {
        "old_path": "billing/util.py",
        "new_path": "billing/util.py",
        "diff": "@@ -1 +1 @@\n-a = 1\n+a = 2\n",
    }
    fake_gitlab.push(PROJECT_ID, IID, FIRST_HEAD, files=[FILES[0], FILES[1], util])
    review_dify.script("run", fd.success({"review": "First."}), fd.success({"review": "Second."}))
    first = accept()
    execute(first)
    deliver_all(first)
    big = {
        "old_path": "billing/big.py",
        "new_path": "billing/big.py",
        "new_file": True,
        "diff": "@@ -0,0 +1,200 @@\n" + "".join(f"+line {i}\n" for i in range(200)),
    }
    changed = dict(
        FILES[0],
        diff="@@ -10,3 +10,4 @@ def capture(card):\n-    return psp.capture(card)\n+    return psp.capture(card, retries=3)\n",
    )
    fake_gitlab.push(PROJECT_ID, IID, SECOND_HEAD, files=[changed, FILES[1], util, big])
    second = accept("mr_update_new_commits")
    execute(second)
    (_, sent) = review_dify.requests_to("/workflows/run")
    diff = sent.json["inputs"]["diff"]
    assert "retries=3" in diff
    # Unchanged since the last review, util.py is left out only when the new part is sent.
    assert ("billing/util.py" in diff) is (not new_part_when_large)
    assert ("billing/util.py" in second.context["diff_lines"]) is (not new_part_when_large)
