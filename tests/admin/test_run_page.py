"""A run's page opens with what happened: the status, who said the error, each recipient
with its status, where the time went, what the run is about, and the message as it was sent;
it refreshes itself until the run has ended."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.digests.firing import run_now
from integrations.models import Recipient, Run
from integrations.runs import engine
from integrations.runs.delivery import deliver_one
from tests.fakes import dify as fd
from tests.fakes.chat_server import RocketChatReceiver

pytestmark = pytest.mark.django_db


def page(client, run: Run) -> str:
    html = client.get(reverse("admin:integrations_run_change", args=[run.pk])).content.decode()
    return " ".join(html.split())


def test_a_partly_delivered_digest_names_the_recipient_that_failed(
    admin_client, make_digest, fake_dify
):
    with RocketChatReceiver() as grandma, RocketChatReceiver() as family:
        grandma.answer("invalid_channel")  # a permanent refusal: no retry
        recipients = [
            Recipient.objects.create(name="grandma", kind="rocketchat", webhook_url=grandma.url),
            Recipient.objects.create(name="family", kind="rocketchat", webhook_url=family.url),
        ]
        fake_dify.script("run", fd.success({"text": "**Sunny**, 24 °C <script>x()</script>"}))
        digest = make_digest(recipients=recipients, output_key="text")
        run = run_now(digest, requested_by="t", now=timezone.now())
        engine.execute(run.pk)
        assert '<meta http-equiv="refresh" content="3">' in page(admin_client, run)
        for delivery in run.deliveries.all():
            deliver_one(delivery.pk)
    run.refresh_from_db()
    assert run.status == Run.Status.PARTIALLY_DELIVERED
    text = page(admin_client, run)

    assert 'http-equiv="refresh"' not in text  # ended: no more reloading
    assert "Delivered to 1 of 2 recipients; not to grandma." in text
    grandma_delivery = run.deliveries.get(recipient_name="grandma")
    assert (
        '<span class="hub-summary-label">grandma</span> <span class="hub-summary-error">'
        f"The chat service said: {grandma_delivery.error}</span>"
    ) in text
    assert "HTTP 400" in grandma_delivery.error
    assert 'class="hub-chip hub-chip-bad"' in text and ">grandma: Failed</a>" in text
    assert 'class="hub-chip hub-chip-good"' in text and ">family: Delivered</a>" in text
    assert "Dify <b>" in text and "Delivering <b>" in text and "Total <b>" in text
    assert f'href="{reverse("admin:integrations_digest_change", args=[digest.pk])}"' in text
    # The message as the recipients got it: markdown rendered, the model's HTML escaped.
    assert "<strong>Sunny</strong>, 24 °C &lt;script&gt;x()&lt;/script&gt;" in text
    assert "<script>x()" not in text


def test_a_failed_run_says_dify_said_it(admin_client, make_run, fake_dify):
    fake_dify.script("run", fd.node_failed("Node LLM failed: quota exceeded"))
    run = make_run()
    engine.execute(run.pk)
    text = page(admin_client, run)
    # The message already says Dify said it: not said twice ("Dify said: Dify: …").
    assert "Dify: the workflow failed" in text and "quota exceeded" in text
    assert "Dify said" not in text
    assert "Recipients" not in text.split("What happened", 1)[1].split("</div> </div>", 1)[0]


def test_the_run_list_shows_deliveries_and_errors_and_filters_by_recipient(admin_client, make_run):
    from integrations.models import Delivery

    partly = make_run(
        status=Run.Status.PARTIALLY_DELIVERED,
        error_message="Delivered to 1 of 2 recipients; not to grandma.",
    )
    Delivery.objects.create(run=partly, recipient_name="family", kind="slack", status="delivered")
    Delivery.objects.create(run=partly, recipient_name="grandma", kind="slack", status="failed")
    other = make_run(status=Run.Status.SUCCEEDED)
    Delivery.objects.create(run=other, recipient_name="family", kind="slack", status="delivered")
    Recipient.objects.create(name="grandma", kind="rocketchat", webhook_url="https://x.example/h")

    listing = reverse("admin:integrations_run_changelist")
    text = " ".join(admin_client.get(listing).content.decode().split())
    assert '<span class="hub-bad" title="not to grandma">1/2</span>' in text
    assert '<span class="hub-good" title="">1/1</span>' in text
    assert "Delivered to 1 of 2 recipients; not to grandma." in text

    only = admin_client.get(listing, {"recipient": "grandma"}).context["cl"].result_list
    assert [run.pk for run in only] == [partly.pk]


def test_a_run_is_run_again_with_other_inputs(admin_client, make_run, fake_dify):
    fake_dify.script("run", fd.node_failed())
    run = make_run(inputs={"query": "Weather in Shanghai"})
    engine.execute(run.pk)
    url = reverse("admin:integrations_run_actions", kwargs={"pk": run.pk, "tool": "run_again"})
    assert f'href="{url}"' in page(admin_client, run)
    form = admin_client.get(url).content.decode()
    assert "Weather in Shanghai" in form  # the run's inputs, to change
    response = admin_client.post(url, {"inputs": '{"query": "Weather in Beijing"}'})
    new = Run.objects.exclude(pk=run.pk).get()
    assert response["Location"] == reverse("admin:integrations_run_change", args=[new.pk])
    assert (new.retry_of_id, new.inputs, new.kind) == (
        run.pk,
        {"query": "Weather in Beijing"},
        run.kind,
    )
    # Inputs the app's form does not allow are refused on the form, with nothing queued.
    assert admin_client.post(url, {"inputs": '{"nope": 1}'}).status_code == 200
    assert Run.objects.count() == 2


def test_one_delivery_is_sent_again_without_running_dify(admin_client, make_digest, fake_dify):
    with RocketChatReceiver() as family:
        recipient = Recipient.objects.create(
            name="family", kind="rocketchat", webhook_url=family.url
        )
        fake_dify.script("run", fd.success({"text": "Sunny."}))
        run = run_now(make_digest(recipients=[recipient]), requested_by="t", now=timezone.now())
        engine.execute(run.pk)
        delivery = run.deliveries.get()
        deliver_one(delivery.pk)
        url = reverse(
            "admin:integrations_delivery_actions", kwargs={"pk": delivery.pk, "tool": "send_again"}
        )
        admin_client.post(url)
        deliver_one(delivery.pk)
        assert [r.json["text"] for r in family.requests].count("Sunny.") == 2
    assert len(fake_dify.requests_to("/workflows/run")) == 1
    delivery.refresh_from_db()
    run.refresh_from_db()
    assert delivery.status == "delivered" and run.status == Run.Status.SUCCEEDED
