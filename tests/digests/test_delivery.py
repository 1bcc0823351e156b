"""From a succeeded digest run to messages in chat rooms, against local receivers."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from integrations.digests.firing import claim_slot
from integrations.models import Delivery, Recipient, Run
from integrations.runs import engine
from integrations.runs.delivery import deliver_one, settle
from integrations.runs.rerun import NotRedeliverable, redeliver
from tests.digests.conftest import utc
from tests.fakes import dify as fd
from tests.fakes.chat_server import refused_url

pytestmark = pytest.mark.django_db
SLOT = utc(2026, 11, 21, 7)


def run_digest(digest, fake_dify=None, outputs=None) -> Run:
    if fake_dify is not None and outputs is not None:
        fake_dify.script("run", fd.success(outputs))
    run, _ = claim_slot(digest, SLOT, SLOT)
    engine.execute(run.pk)
    run.refresh_from_db()
    return run


def deliver_all(run: Run) -> dict[int, float | None]:
    return {d.pk: deliver_one(d.pk) for d in run.deliveries.all()}


def test_the_output_reaches_rocketchat_with_title_and_footer(
    make_digest, rocketchat, rocketchat_recipient, fake_dify
):
    digest = make_digest(
        recipients=[rocketchat_recipient], title="Weather, {{ weekday }}", footer="dify-hub"
    )
    run = run_digest(digest, fake_dify, {"text": "Sunny, **18 °C**."})
    assert run.status == Run.Status.DELIVERING
    assert run.message == {
        "title": "Weather, Saturday",
        "text": "Sunny, **18 °C**.",
        "footer": "dify-hub",
    }
    assert deliver_all(run) == {run.deliveries.get().pk: None}

    (received,) = rocketchat.requests
    assert received.json["alias"] == "Weather"
    assert "Sunny, *18 °C*." in received.json["text"]
    assert "Weather, Saturday" in received.json["text"]
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED
    delivery = run.deliveries.get()
    assert delivery.status == Delivery.Status.DELIVERED
    (attempt,) = delivery.attempt_rows.all()
    assert attempt.http_status == 200 and attempt.error == ""
    assert '"success":true' in attempt.response_body.replace(" ", "")
    rocketchat_recipient.refresh_from_db()
    assert rocketchat_recipient.last_success_at is not None


def test_one_dead_recipient_does_not_hold_up_the_others(
    make_digest, rocketchat, rocketchat_recipient, fake_dify, settings
):
    settings.HUB_DELIVERY_MAX_ATTEMPTS = 2
    dead = Recipient.objects.create(name="dead", kind="rocketchat", webhook_url=refused_url())
    digest = make_digest(recipients=[rocketchat_recipient, dead])
    run = run_digest(digest, fake_dify, {"text": "hello"})
    delays = deliver_all(run)
    good, bad = (
        run.deliveries.get(recipient=rocketchat_recipient),
        run.deliveries.get(recipient=dead),
    )
    assert delays[good.pk] is None and delays[bad.pk] > 0
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.status == Delivery.Status.DELIVERED
    assert bad.status == Delivery.Status.PENDING and "retrying" in bad.error
    run.refresh_from_db()
    assert run.status == Run.Status.DELIVERING

    assert deliver_one(bad.pk) is None  # second and last attempt
    bad.refresh_from_db()
    assert bad.status == Delivery.Status.FAILED
    assert bad.error.startswith("Gave up after 2 attempts")
    assert bad.attempt_rows.count() == 2
    run.refresh_from_db()
    assert run.status == Run.Status.PARTIALLY_DELIVERED
    assert run.error_message == "Delivered to 1 of 2 recipients; not to dead."
    assert run.error_source == "chat"
    dead.refresh_from_db()
    assert dead.last_error and refused_url() not in dead.last_error
    # The run is settled once: the recipient that got the message is stamped, the dead one
    # not, and settling again changes nothing.
    rocketchat_recipient.refresh_from_db()
    assert rocketchat_recipient.last_success_at is not None and dead.last_success_at is None
    finished = run.finished_at
    assert settle(run.pk) is None
    run.refresh_from_db()
    assert run.finished_at == finished and run.status == Run.Status.PARTIALLY_DELIVERED


def test_a_permanent_error_fails_the_delivery_at_once(
    make_digest, rocketchat, rocketchat_recipient, fake_dify
):
    rocketchat.answer("invalid_channel")
    digest = make_digest(recipients=[rocketchat_recipient])
    run = run_digest(digest, fake_dify, {"text": "hello"})
    assert deliver_all(run) == {run.deliveries.get().pk: None}
    delivery = run.deliveries.get()
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 1
    (attempt,) = delivery.attempt_rows.all()
    assert attempt.http_status == 400 and attempt.permanent
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert run.error_message == "No recipient received the message."


def test_a_transient_error_is_retried_and_then_delivered(
    make_digest, rocketchat, rocketchat_recipient, fake_dify
):
    rocketchat.answer("server_error")
    digest = make_digest(recipients=[rocketchat_recipient])
    run = run_digest(digest, fake_dify, {"text": "hello"})
    delivery = run.deliveries.get()
    assert deliver_one(delivery.pk) > 0
    assert deliver_one(delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED
    assert [a.http_status for a in delivery.attempt_rows.all()] == [500, 200]
    assert len(rocketchat.requests) == 2


def test_a_long_message_is_sent_in_parts_and_a_retry_resumes_at_the_failed_part(
    make_digest, rocketchat, rocketchat_recipient, fake_dify
):
    long_text = "\n\n".join(f"Paragraph {i}: " + "x" * 900 for i in range(9))  # > 5000 chars
    rocketchat.answer("success", "server_error")
    digest = make_digest(recipients=[rocketchat_recipient])
    run = run_digest(digest, fake_dify, {"text": long_text})
    delivery = run.deliveries.get()
    assert deliver_one(delivery.pk) > 0
    delivery.refresh_from_db()
    assert delivery.parts_sent == 1 and delivery.parts_total >= 2
    assert deliver_one(delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED
    assert delivery.parts_sent == delivery.parts_total
    texts = [r.json["text"] for r in rocketchat.requests]
    # Part 1 was sent once, part 2 twice (the failed try and its retry), nothing duplicated.
    assert len(texts) == delivery.parts_total + 1
    assert texts[1] == texts[2]
    assert "Paragraph 8" in texts[-1]


def test_a_redelivered_task_does_not_send_twice(
    make_digest, rocketchat, rocketchat_recipient, fake_dify
):
    digest = make_digest(recipients=[rocketchat_recipient])
    run = run_digest(digest, fake_dify, {"text": "hello"})
    delivery = run.deliveries.get()
    deliver_one(delivery.pk)
    deliver_one(delivery.pk)
    assert len(rocketchat.requests) == 1


def test_disabled_recipients_get_nothing_and_no_recipient_fails_the_run(
    make_digest, rocketchat_recipient, fake_dify
):
    Recipient.objects.filter(pk=rocketchat_recipient.pk).update(enabled=False)
    digest = make_digest(recipients=[rocketchat_recipient])
    run = run_digest(digest, fake_dify, {"text": "hello"})
    assert run.status == Run.Status.FAILED
    assert run.error_code == "no_recipients"
    assert run.outputs == {"text": "hello"}


def test_no_output_to_pick_keeps_the_run_and_its_delivery_can_be_retried_alone(
    make_digest, rocketchat, rocketchat_recipient, fake_dify
):
    digest = make_digest(recipients=[rocketchat_recipient])
    run = run_digest(digest, fake_dify, {"echo": "sun", "http_body": "{}"})
    # Dify succeeded: the run says so, and keeps the outputs; nothing was sent.
    assert run.status == Run.Status.SUCCEEDED
    assert run.error_code == "no_output" and run.error_source == "hub"
    assert "the app returned `echo` and `http_body`; set 'Output to send'" in run.error_message
    (delivery,) = run.deliveries.all()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.error == run.error_message and delivery.error_source == "hub"
    assert rocketchat.requests == []
    # The app's outputs are known now: the digest as it is no longer passes its checks.
    digest.app.refresh_from_db()
    assert digest.app.output_names == ["echo", "http_body"]
    with pytest.raises(ValidationError) as invalid:
        digest.full_clean()
    assert "`echo` and `http_body`" in invalid.value.message_dict["output_key"][0]
    # Before the fix, a retry of the delivery says why it cannot send.
    with pytest.raises(NotRedeliverable, match="still nothing to send"):
        redeliver(run)

    digest.output_key = "echo"
    digest.full_clean()
    digest.save()
    posts_before = len(fake_dify.requests_to("/v1/workflows/run"))
    run = Run.objects.get(pk=run.pk)  # as the admin, the API and the CLI load it
    assert redeliver(run) == 1
    run.refresh_from_db()
    assert run.status == Run.Status.DELIVERING and run.message["text"] == "sun"
    deliver_all(run)
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED and run.error_code == ""
    assert rocketchat.requests[0].json["text"].endswith("sun")
    assert len(fake_dify.requests_to("/v1/workflows/run")) == posts_before  # Dify not re-run


def test_a_delivery_that_gave_up_is_sent_again_with_the_same_bytes(
    make_digest, rocketchat, rocketchat_recipient, fake_dify, settings
):
    settings.HUB_DELIVERY_MAX_ATTEMPTS = 2
    digest = make_digest(recipients=[rocketchat_recipient])
    run = run_digest(digest, fake_dify, {"text": "hello"})
    rocketchat.answer("server_error", times=2)
    deliver_all(run)
    deliver_all(run)
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED and run.error_code == "delivery_failed"
    delivery = run.deliveries.get()
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 2

    assert redeliver(run) == 1
    deliver_all(run)
    run.refresh_from_db()
    delivery.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED
    assert delivery.status == Delivery.Status.DELIVERED and delivery.attempts == 3
    first, _, third = rocketchat.requests
    assert first.body == third.body  # the parts built once are what is sent again
    with pytest.raises(NotRedeliverable, match="no failed delivery"):
        redeliver(run)


def test_the_chosen_output_is_sent(make_digest, rocketchat, rocketchat_recipient, fake_dify):
    digest = make_digest(recipients=[rocketchat_recipient], output_key="weather")
    run = run_digest(digest, fake_dify, {"weather": "sun", "joke": "a joke"})
    deliver_all(run)
    assert rocketchat.requests[0].json["text"] == "sun"


def test_a_failed_dify_run_sends_nothing(make_digest, rocketchat, rocketchat_recipient, fake_dify):
    fake_dify.script("run", fd.node_failed())
    digest = make_digest(recipients=[rocketchat_recipient])
    run = run_digest(digest)
    assert run.status == Run.Status.FAILED
    assert not run.deliveries.exists()
    assert rocketchat.requests == []


def test_a_recipient_kind_that_no_longer_exists_fails_the_delivery_visibly(
    make_digest, rocketchat_recipient, fake_dify
):
    digest = make_digest(recipients=[rocketchat_recipient])
    run = run_digest(digest, fake_dify, {"text": "hello"})
    Recipient.objects.filter(pk=rocketchat_recipient.pk).update(kind="carrier-pigeon")
    delivery = run.deliveries.get()
    assert deliver_one(delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert "carrier-pigeon" in delivery.error
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
