"""The GitLab webhook URL through Django's full stack: every answer GitLab can get from it."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from integrations.models import ReviewEndpoint, Run, WebhookEvent
from tests.reviews.support import FIRST_HEAD, FIXTURES, SECOND_HEAD, SECRET, delivery

pytestmark = pytest.mark.django_db

IGNORED = sorted(
    path.stem
    for path in FIXTURES.glob("*.json")
    if not json.loads(path.read_text())["expect"]["accepted"]
)


def test_an_opened_mr_is_stored_queued_and_answered_202_without_any_io(
    endpoint, post_hook, fake_gitlab, review_dify
):
    headers, body = delivery("mr_open")
    response = post_hook(endpoint, headers, body)

    assert response.status_code == 202
    answer = response.json()
    assert answer["status"] == "accepted"
    event = WebhookEvent.objects.get(pk=answer["event"])
    run = Run.objects.get(pk=answer["run"])
    assert event.run == run and event.outcome == "accepted" and event.trigger == "open"
    assert event.event_name == "Merge Request Hook"
    assert event.idempotency_key == headers["Idempotency-Key"]
    assert event.merge_request_key == "1187!342" and event.head_sha == FIRST_HEAD
    assert event.payload == body
    assert "x-gitlab-token" not in event.headers and SECRET not in json.dumps(event.headers)
    assert event.headers["x-gitlab-instance"] == "https://gitlab.acme.internal"
    assert run.status == Run.Status.QUEUED and run.kind == Run.Kind.MERGE_REQUEST_REVIEW
    assert run.review_endpoint == endpoint and run.head_sha == FIRST_HEAD
    assert run.context["trigger"] == "open"
    assert run.context["merge_request"]["project_path"] == "payments/billing-service"
    assert run.source == "team-reviews: payments/billing-service!342 (open)"
    # The request did no GitLab or Dify I/O: the worker does that.
    assert fake_gitlab.requests == [] and review_dify.requests == []


def test_the_review_is_queued_only_after_the_event_is_committed(
    endpoint, post_hook, django_capture_on_commit_callbacks
):
    headers, body = delivery("mr_open")
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_hook(endpoint, headers, body)
    assert response.status_code == 202
    assert len(callbacks) == 1  # execute_run for the new run, sent once the event is stored


def test_the_same_idempotency_key_again_is_a_duplicate_that_starts_nothing(endpoint, post_hook):
    headers, body = delivery("mr_open")
    first = post_hook(endpoint, headers, body).json()
    again = post_hook(endpoint, headers, body)

    assert again.status_code == 200
    assert again.json() == {"status": "duplicate", "event": first["event"], "run": first["run"]}
    assert Run.objects.count() == 1
    event = WebhookEvent.objects.get()
    assert event.duplicate_count == 1 and event.last_duplicate_at is not None


def test_without_an_idempotency_key_a_resend_of_the_same_body_is_a_duplicate(endpoint, post_hook):
    headers, body = delivery("mr_open", Idempotency_Key=None)
    first = post_hook(endpoint, headers, body)
    again = post_hook(endpoint, headers, body)
    assert first.status_code == 202
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert WebhookEvent.objects.get().idempotency_key.startswith("sha256:")


def test_the_test_button_on_a_reviewed_head_starts_nothing_and_says_why(endpoint, post_hook):
    headers, body = delivery("mr_open")
    first = post_hook(endpoint, headers, body).json()
    # GitLab's "Test" sends the newest MR as an `open` event with a fresh Idempotency-Key.
    headers["Idempotency-Key"] = "0b7f3a52-test-button-fresh-key"
    response = post_hook(endpoint, headers, body)

    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "ignored" and answer["run"] == first["run"]
    assert "Commit 9f3c1a7b of !342 is being reviewed" in answer["reason"]
    event = WebhookEvent.objects.get(pk=answer["event"])
    assert event.outcome == "ignored" and event.run_id == first["run"]
    assert Run.objects.count() == 1


def test_a_reopen_of_a_head_already_reviewed_starts_nothing(endpoint, post_hook):
    run_id = post_hook(endpoint, *delivery("mr_open")).json()["run"]
    Run.objects.filter(pk=run_id).update(status=Run.Status.SUCCEEDED)
    headers, body = delivery("mr_reopen")
    body["object_attributes"]["last_commit"]["id"] = FIRST_HEAD

    answer = post_hook(endpoint, headers, body).json()
    assert answer["status"] == "ignored"
    assert "was already reviewed (run #" in answer["reason"]
    assert "comment /review" in answer["reason"]


def test_a_head_whose_review_failed_can_be_reviewed_again(endpoint, post_hook):
    run_id = post_hook(endpoint, *delivery("mr_open")).json()["run"]
    Run.objects.filter(pk=run_id).update(status=Run.Status.FAILED)
    headers, body = delivery("mr_reopen")
    body["object_attributes"]["last_commit"]["id"] = FIRST_HEAD

    response = post_hook(endpoint, headers, body)
    assert response.status_code == 202
    assert response.json()["run"] != run_id
    assert Run.objects.get(pk=run_id).dedupe_key is None  # the failed run let go of the key


def test_a_review_command_reviews_an_already_reviewed_head_again(endpoint, post_hook):
    run_id = post_hook(endpoint, *delivery("mr_update_new_commits")).json()["run"]
    Run.objects.filter(pk=run_id).update(status=Run.Status.SUCCEEDED)
    headers, body = delivery("note_review_command")
    assert body["merge_request"]["last_commit"]["id"] == SECOND_HEAD

    response = post_hook(endpoint, headers, body)
    assert response.status_code == 202
    run = Run.objects.get(pk=response.json()["run"])
    assert run.context["trigger"] == "review_command"
    assert run.context["merge_request"]["focus"] == "focus on error handling"


@pytest.mark.parametrize("old_status", [Run.Status.QUEUED, Run.Status.RUNNING])
def test_a_newer_push_supersedes_an_unfinished_older_review(endpoint, post_hook, old_status):
    old_id = post_hook(endpoint, *delivery("mr_open")).json()["run"]
    Run.objects.filter(pk=old_id).update(status=old_status)

    new_id = post_hook(endpoint, *delivery("mr_update_new_commits")).json()["run"]

    old = Run.objects.get(pk=old_id)
    assert old.status == Run.Status.SUPERSEDED and old.error_code == "superseded"
    assert old.error_message == f"Superseded by run #{new_id} (commit c41e0d2f)."
    assert old.finished_at is not None
    assert Run.objects.get(pk=new_id).status == Run.Status.QUEUED


def test_a_finished_review_is_not_superseded(endpoint, post_hook):
    old_id = post_hook(endpoint, *delivery("mr_open")).json()["run"]
    Run.objects.filter(pk=old_id).update(status=Run.Status.SUCCEEDED)
    post_hook(endpoint, *delivery("mr_update_new_commits"))
    assert Run.objects.get(pk=old_id).status == Run.Status.SUCCEEDED


def test_reviews_of_another_mr_are_left_alone(endpoint, post_hook):
    other_headers, other = delivery("mr_open", Idempotency_Key="other-mr-key")
    other["object_attributes"]["iid"] = 343
    other_id = post_hook(endpoint, other_headers, other).json()["run"]
    post_hook(endpoint, *delivery("mr_update_new_commits"))
    assert Run.objects.get(pk=other_id).status == Run.Status.QUEUED


@pytest.mark.parametrize("name", IGNORED)
def test_events_that_request_no_review_answer_200_and_keep_the_reason(endpoint, post_hook, name):
    headers, body = delivery(name)
    response = post_hook(endpoint, headers, body)

    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "ignored"
    event = WebhookEvent.objects.get(pk=answer["event"])
    expected = json.loads((FIXTURES / f"{name}.json").read_text())["expect"]
    assert event.outcome == "ignored"
    assert expected["reason_contains"] in event.reason == answer["reason"]
    assert event.payload == body
    assert Run.objects.count() == 0


def test_notes_by_the_bot_user_learnt_from_gitlab_are_ignored(endpoint, post_hook):
    ReviewEndpoint.objects.filter(pk=endpoint.pk).update(bot_user_id=77)
    headers, body = delivery("note_review_command")  # written by user 77
    answer = post_hook(endpoint, headers, body).json()
    assert answer["status"] == "ignored" and "bot" in answer["reason"]


def test_a_disabled_endpoint_keeps_the_event_and_starts_nothing(endpoint, post_hook):
    ReviewEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False)
    response = post_hook(endpoint, *delivery("mr_open"))
    assert response.status_code == 200
    assert "disabled" in response.json()["reason"]
    assert WebhookEvent.objects.get().outcome == "ignored"
    assert Run.objects.count() == 0


def test_target_branch_filter(endpoint, post_hook):
    ReviewEndpoint.objects.filter(pk=endpoint.pk).update(target_branches=["release/*"])
    answer = post_hook(endpoint, *delivery("mr_open")).json()
    assert answer["status"] == "ignored"
    assert "main" in answer["reason"] and "release/*" in answer["reason"]


# --- requests GitLab should never have sent: 4xx, nothing stored but a counter --------------


def test_an_unknown_slug_is_404(db, client):
    response = client.post("/hooks/gitlab/nope/", data=b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json() == {"error": "No GitLab endpoint 'nope' in this hub."}


def test_only_post_is_allowed(endpoint, client):
    response = client.get(f"/hooks/gitlab/{endpoint.slug}/")
    assert response.status_code == 405 and response["Allow"] == "POST"


@pytest.mark.parametrize(
    ("token", "reason"),
    [(None, "missing X-Gitlab-Token"), ("wrong-token-value", "wrong X-Gitlab-Token")],
)
def test_a_missing_or_wrong_token_is_401_and_only_counted(endpoint, post_hook, token, reason):
    response = post_hook(endpoint, *delivery("mr_open", token=token))

    assert response.status_code == 401
    assert response.json()["error"].startswith(reason)
    assert WebhookEvent.objects.count() == 0 and Run.objects.count() == 0
    endpoint.refresh_from_db()
    assert endpoint.rejected_count == 1 and endpoint.last_rejected_reason.startswith(reason)
    assert "wrong-token-value" not in endpoint.last_rejected_reason


def test_malformed_json_is_400_and_the_event_is_kept_as_invalid(endpoint, post_hook):
    headers, _ = delivery("mr_open")
    response = post_hook(endpoint, headers, None, raw=b'{"object_kind": "merge_request",')

    assert response.status_code == 400
    assert response.json()["error"].startswith("Malformed JSON")
    event = WebhookEvent.objects.get()
    assert event.outcome == "invalid" and event.payload is None
    assert event.reason.startswith("Malformed JSON")


def test_json_that_is_not_an_object_is_400(endpoint, post_hook):
    headers, _ = delivery("mr_open")
    response = post_hook(endpoint, headers, None, raw=b"[1, 2]")
    assert response.status_code == 400
    assert response.json()["error"] == "The JSON body must be an object, not list."


def test_a_body_that_is_not_json_is_415(endpoint, post_hook):
    headers, _ = delivery("mr_open")
    response = post_hook(endpoint, headers, None, raw=b"a=1", content_type="text/plain")
    assert response.status_code == 415
    assert WebhookEvent.objects.get().outcome == "invalid"


def test_a_body_over_the_limit_is_413(endpoint, post_hook, settings):
    settings.HUB_WEBHOOK_MAX_BYTES = 2048
    headers, body = delivery("mr_open")
    body["object_attributes"]["description"] = "x" * 4096
    response = post_hook(endpoint, headers, body)
    assert response.status_code == 413
    assert WebhookEvent.objects.count() == 0


# --- Standard Webhooks signatures -----------------------------------------------------------

SIGNING_SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def signed(headers: dict, body: dict, *, at: float | None = None) -> tuple[dict, bytes]:
    raw = json.dumps(body).encode()
    timestamp = str(int(at if at is not None else time.time()))
    webhook_id = headers["Idempotency-Key"]
    # Signed by the reference library directly, as GitLab's own implementation would.
    moment = datetime.fromtimestamp(int(timestamp), UTC)
    signature = Webhook(SIGNING_SECRET).sign(webhook_id, moment, raw.decode())
    return (
        {
            **headers,
            "webhook-id": webhook_id,
            "webhook-timestamp": timestamp,
            "webhook-signature": signature,
        },
        raw,
    )


@pytest.fixture
def signing_endpoint(endpoint):
    endpoint.signing_secret = SIGNING_SECRET
    endpoint.save()
    return endpoint


def test_a_valid_signature_is_accepted(signing_endpoint, post_hook):
    headers, raw = signed(*delivery("mr_open"))
    response = post_hook(signing_endpoint, headers, None, raw=raw)
    assert response.status_code == 202
    stored = WebhookEvent.objects.get().headers
    assert "webhook-signature" not in stored and stored["webhook-id"] == headers["webhook-id"]


def test_with_a_signing_secret_the_token_may_be_left_out(signing_endpoint, post_hook):
    headers, raw = signed(*delivery("mr_open", token=None))
    assert post_hook(signing_endpoint, headers, None, raw=raw).status_code == 202


@pytest.mark.parametrize("problem", ["tampered", "old", "missing", "wrong_token"])
def test_a_bad_signature_is_401(signing_endpoint, post_hook, problem):
    headers, body = delivery("mr_open", token="wrong-token" if problem == "wrong_token" else SECRET)
    at = time.time() - 3600 if problem == "old" else None
    headers, raw = signed(headers, body, at=at)
    if problem == "tampered":
        raw = raw.replace(b"Retry failed", b"Retry FAILED")
    if problem == "missing":
        del headers["webhook-signature"]
    response = post_hook(signing_endpoint, headers, None, raw=raw)
    assert response.status_code == 401
    assert WebhookEvent.objects.count() == 0
    signing_endpoint.refresh_from_db()
    assert signing_endpoint.rejected_count == 1


def test_no_fixture_is_left_out_of_the_ignored_list():
    accepted = {
        p.stem
        for p in Path(FIXTURES).glob("*.json")
        if json.loads(p.read_text())["expect"]["accepted"]
    }
    assert accepted and len(IGNORED) >= 15
    assert not accepted & set(IGNORED)


# --- Hostile or odd requests ----------------------------------------------------------------


@pytest.mark.parametrize("depth", [40, 5000])
def test_deeply_nested_json_is_a_400_kept_as_an_invalid_event(endpoint, post_hook, depth):
    headers, _ = delivery("mr_open")
    raw = ('{"a":' * depth + "1" + "}" * depth).encode()
    response = post_hook(endpoint, headers, None, raw=raw)

    assert response.status_code == 400
    assert "nested deeper than 32 levels" in response.json()["error"]
    event = WebhookEvent.objects.get()
    assert event.outcome == "invalid" and event.payload is None
    assert not Run.objects.exists()


def test_the_url_without_its_trailing_slash_is_answered_not_redirected(endpoint, client):
    from tests.reviews.support import as_django_headers

    headers, body = delivery("mr_open")
    response = client.post(
        f"/hooks/gitlab/{endpoint.slug}",
        data=json.dumps(body),
        content_type="application/json",
        **as_django_headers(headers),
    )
    assert response.status_code == 202  # GitLab counts a 301 as a failed delivery
    assert Run.objects.get().status == Run.Status.QUEUED


def test_a_reopened_mr_from_an_old_gitlab_starts_a_review(endpoint, post_hook):
    response = post_hook(endpoint, *delivery("mr_reopen_legacy_state"))
    assert response.status_code == 202
    assert WebhookEvent.objects.get().trigger == "reopen"
