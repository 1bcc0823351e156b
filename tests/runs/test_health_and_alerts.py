"""Recipients that keep failing are turned off; alert recipients hear about trouble, bundled.

Everything goes through the real delivery path (deliver_one over real sockets to local
receivers, a closed port for a dead recipient) and the real digest and webhook paths.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.digests.firing import claim_slot
from integrations.housekeeping import sweep
from integrations.models import Alert, Delivery, Recipient, Run
from integrations.runs import alerts, engine
from integrations.runs.delivery import deliver_one
from integrations.runs.rerun import RunNotFinal, redeliver, retry_run
from tests.digests.conftest import utc
from tests.fakes import dify as fd
from tests.fakes.chat_server import ChatServer, refused_url
from tests.reviews.support import delivery as hook_delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def watcher(db):
    """The alert recipient: a generic webhook receiver that records what it is told."""
    with ChatServer() as server:
        recipient = Recipient.objects.create(
            name="on-call", kind="webhook", webhook_url=server.url, receives_alerts=True
        )
        yield server, recipient


@pytest.fixture
def dead(db):
    return Recipient.objects.create(name="grandma", kind="rocketchat", webhook_url=refused_url())


@pytest.fixture(autouse=True)
def one_attempt(settings):
    settings.HUB_DELIVERY_MAX_ATTEMPTS = 1  # each delivery to a dead recipient fails at once


def send_to(recipient: Recipient, make_run) -> Delivery:
    """One manual run delivering to `recipient`, its delivery sent once."""
    run = make_run(status=Run.Status.DELIVERING, message={"text": "Good morning"})
    delivery = Delivery.objects.create(
        run=run, recipient=recipient, recipient_name=recipient.name, kind=recipient.kind
    )
    deliver_one(delivery.pk)
    delivery.refresh_from_db()
    return delivery


def alert_runs() -> list[Run]:
    return list(Run.objects.filter(kind=Run.Kind.ALERT).order_by("pk"))


def deliver_alerts(runs: list[Run]) -> None:
    for run in runs:
        for delivery in run.deliveries.all():
            deliver_one(delivery.pk)


def test_ten_failures_in_a_row_turn_a_recipient_off_and_the_watcher_is_told_once(
    dead, watcher, make_run, django_capture_on_commit_callbacks
):
    server, on_call = watcher
    for _ in range(9):
        assert send_to(dead, make_run).status == Delivery.Status.FAILED
    dead.refresh_from_db()
    assert dead.enabled and dead.consecutive_failures == 9 and alert_runs() == []

    send_to(dead, make_run)
    dead.refresh_from_db()
    assert not dead.enabled and dead.disabled_at is not None
    assert dead.disabled_reason.startswith("10 deliveries in a row failed; the last: ")
    assert "could not be reached" in dead.disabled_reason

    (alert_run,) = alert_runs()
    assert alert_run.app is None and alert_run.status == Run.Status.DELIVERING
    assert [d.recipient for d in alert_run.deliveries.all()] == [on_call]  # never grandma
    deliver_alerts([alert_run])
    (told,) = server.requests
    assert "recipient 'grandma' was turned off" in told.text
    assert "10 deliveries in a row failed" in told.text
    alert_run.refresh_from_db()
    assert alert_run.status == Run.Status.SUCCEEDED

    # Turned off: the next delivery fails at once, is not counted, and raises nothing new.
    later = send_to(dead, make_run)
    assert later.status == Delivery.Status.FAILED and "is disabled" in later.error
    dead.refresh_from_db()
    assert dead.consecutive_failures == 10 and len(alert_runs()) == 1


def test_a_delivered_message_resets_the_count(make_run, dead):
    with ChatServer() as server:
        flaky = Recipient.objects.create(name="flaky", kind="webhook", webhook_url=server.url)
        server.answer("server_error", times=3)
        for _ in range(3):
            send_to(flaky, make_run)
        flaky.refresh_from_db()
        assert flaky.consecutive_failures == 3 and "HTTP 500" in flaky.last_error
        assert send_to(flaky, make_run).status == Delivery.Status.DELIVERED
    flaky.refresh_from_db()
    assert flaky.consecutive_failures == 0 and flaky.enabled


def test_retried_attempts_count_once_per_delivery(make_run, dead, settings):
    settings.HUB_DELIVERY_MAX_ATTEMPTS = 3
    run = make_run(status=Run.Status.DELIVERING, message={"text": "hi"})
    delivery = Delivery.objects.create(
        run=run, recipient=dead, recipient_name=dead.name, kind=dead.kind
    )
    for _ in range(3):
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None)
        deliver_one(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 3
    dead.refresh_from_db()
    assert dead.consecutive_failures == 1


@pytest.mark.parametrize(
    ("own", "default", "turned_off_after"),
    [(3, 10, 3), (None, 2, 2), (0, 1, None), (None, 0, None)],
)
def test_the_limit_is_the_recipients_own_then_the_setting(
    make_run, dead, settings, own, default, turned_off_after
):
    settings.HUB_RECIPIENT_DISABLE_AFTER = default
    Recipient.objects.filter(pk=dead.pk).update(disable_after=own)
    for count in range(1, 5):
        send_to(dead, make_run)
        dead.refresh_from_db()
        if turned_off_after is not None and count >= turned_off_after:
            assert not dead.enabled
            assert dead.disabled_reason.startswith(f"{turned_off_after} deliveries in a row")
            return
        assert dead.enabled, count
    assert turned_off_after is None


def test_turning_it_on_again_starts_a_clean_slate(make_run, dead, admin_client, settings):
    settings.HUB_RECIPIENT_DISABLE_AFTER = 2
    send_to(dead, make_run)
    send_to(dead, make_run)
    dead.refresh_from_db()
    assert not dead.enabled

    page = admin_client.get(f"/admin/integrations/recipient/{dead.pk}/change/")
    assert b"2 deliveries in a row failed" in page.content
    response = admin_client.post(
        f"/admin/integrations/recipient/{dead.pk}/change/",
        {
            "name": dead.name,
            "kind": dead.kind,
            "webhook_url": "",
            "secret": "",
            "options": "{}",
            "enabled": "on",
            "disable_after": "",
        },
    )
    assert response.status_code == 302, response.content
    dead.refresh_from_db()
    assert dead.enabled and dead.consecutive_failures == 0
    assert dead.disabled_at is None and dead.disabled_reason == ""


def test_the_recipient_list_shows_health_at_a_glance(make_run, dead, admin_client, settings):
    settings.HUB_RECIPIENT_DISABLE_AFTER = 1
    send_to(dead, make_run)
    page = admin_client.get("/admin/integrations/recipient/").content.decode()
    assert "turned off by the hub" in page and "could not be reached" in page
    assert "Failures in a row" in page


def run_digest(digest, fake_dify, behaviour, slot) -> Run:
    fake_dify.script("run", behaviour)
    run, _ = claim_slot(digest, slot, slot)
    engine.execute(run.pk)
    run.refresh_from_db()
    return run


def test_a_failed_digest_tells_the_watcher_and_repeats_are_bundled(
    make_digest, fake_dify, watcher, dead, django_capture_on_commit_callbacks
):
    server, _ = watcher
    digest = make_digest(recipients=[dead], name="Morning weather")
    with django_capture_on_commit_callbacks(execute=True):
        first = run_digest(digest, fake_dify, fd.node_failed(), utc(2026, 11, 21, 7))
    assert first.status == Run.Status.FAILED
    (alert_run,) = alert_runs()
    deliver_alerts([alert_run])
    assert "digest 'Morning weather' is in trouble" in server.requests[0].text
    assert f"Run #{first.pk} failed: Dify" in server.requests[0].text

    with django_capture_on_commit_callbacks(execute=True):
        second = run_digest(digest, fake_dify, fd.node_failed(), utc(2026, 11, 22, 7))
    assert len(alert_runs()) == 1  # within 15 minutes: kept for the next message
    alert = Alert.objects.get(key=f"digest:{digest.pk}")
    assert alert.occurrences == 2 and len(alert.pending) == 1 and alert.due_at is not None
    assert sweep(timezone.now())["alerts"] == 0  # not due yet

    Alert.objects.filter(pk=alert.pk).update(
        last_sent_at=timezone.now() - timedelta(minutes=16),
        due_at=timezone.now() - timedelta(minutes=1),
    )
    assert sweep(timezone.now())["alerts"] == 1
    bundle = alert_runs()[1]
    deliver_alerts([bundle])
    assert f"Run #{second.pk} failed" in server.requests[1].text
    assert f"Run #{first.pk}" not in server.requests[1].text


def test_a_partly_delivered_digest_names_who_missed_it(
    make_digest, fake_dify, watcher, dead, rocketchat_recipient, django_capture_on_commit_callbacks
):
    server, _ = watcher
    digest = make_digest(recipients=[rocketchat_recipient, dead], name="Family")
    run = run_digest(digest, fake_dify, fd.success({"text": "Sunny"}), utc(2026, 11, 21, 7))
    with django_capture_on_commit_callbacks(execute=True):
        for delivery in run.deliveries.all():
            deliver_one(delivery.pk)
    run.refresh_from_db()
    assert run.status == Run.Status.PARTIALLY_DELIVERED
    deliver_alerts(alert_runs())
    (told,) = server.requests
    assert "reached only some recipients" in told.text and "not to grandma" in told.text


def test_an_alert_that_fails_raises_no_alert_about_itself(
    make_run, django_capture_on_commit_callbacks
):
    Recipient.objects.create(
        name="dead-pager", kind="webhook", webhook_url=refused_url(), receives_alerts=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        alerts.report("test:1", "something broke", "details")
        deliver_alerts(alert_runs())
    (run,) = alert_runs()
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert Alert.objects.count() == 1 and len(alert_runs()) == 1


def test_an_alert_run_is_sent_again_not_rerun(make_run, watcher):
    server, _ = watcher
    server.answer("server_error")
    alerts.report("test:2", "something broke", "details")
    deliver_alerts(alert_runs())
    (run,) = alert_runs()
    run.refresh_from_db()
    with pytest.raises(RunNotFinal, match="the hub's own alert"):
        retry_run(run)
    assert redeliver(run) == 1
    deliver_alerts([run])
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED and len(server.requests) == 2


def test_alert_recipients_can_be_named_in_settings(settings, db):
    with ChatServer() as server:
        Recipient.objects.create(name="ops", kind="webhook", webhook_url=server.url)
        settings.HUB_ALERT_RECIPIENTS = ["ops"]
        alerts.report("test:3", "something broke", "details")
        deliver_alerts(alert_runs())
        assert len(server.requests) == 1


def test_with_nobody_to_tell_the_alert_is_logged_and_kept(db, caplog):
    alerts.report("test:4", "something broke", "details")
    assert alert_runs() == []
    alert = Alert.objects.get(key="test:4")
    assert alert.last_sent_at is not None and alert.occurrences == 1
    assert "nobody to tell" in caplog.text


def test_a_burst_of_rejected_webhooks_tells_the_watcher(endpoint, post_hook, watcher, settings):
    server, _ = watcher
    settings.HUB_ALERT_REJECTIONS = 3
    for count in range(1, 5):
        response = post_hook(endpoint, *hook_delivery("mr_open", token="wrong-token-value"))
        assert response.status_code == 401
        assert len(alert_runs()) == (0 if count < 3 else 1), count
    deliver_alerts(alert_runs())
    (told,) = server.requests
    assert "endpoint 'team-reviews' is rejecting requests" in told.text
    assert "wrong X-Gitlab-Token" in told.text
    assert "wrong-token-value" not in told.text
    alert = Alert.objects.get(key=f"endpoint-rejecting:{endpoint.pk}")
    assert alert.window_hits == 4 and len(alert.pending) == 1  # the 4th waits its turn


def test_the_admin_lists_alerts_with_their_last_message(watcher, admin_client):
    alerts.report("test:5", "digest 'Family' is in trouble", "Run #1 failed")
    alerts.report("test:5", "digest 'Family' is in trouble", "Run #2 failed")
    (run,) = alert_runs()
    page = admin_client.get("/admin/integrations/alert/").content.decode()
    assert "digest &#x27;Family&#x27; is in trouble" in page
    assert f"/admin/integrations/run/{run.pk}/change/" in page
    assert admin_client.get("/admin/integrations/alert/add/").status_code == 403


def test_hub_check_reports_a_recipient_the_hub_turned_off(make_run, dead, settings):
    from integrations.cli import check_recipient

    settings.HUB_RECIPIENT_DISABLE_AFTER = 1
    send_to(dead, make_run)
    dead.refresh_from_db()
    finding = check_recipient(dead)
    assert not finding.ok
    assert "turned off by the hub: 1 delivery failed; the last: " in finding.text


def test_the_recipient_form_lists_each_kinds_options(admin_client):
    page = admin_client.get("/admin/integrations/recipient/add/").content.decode()
    assert "<b>Telegram</b>: chat_id (required), parse_mode" in page
    assert "<b>Email</b>: to (required), subject, reply_to" in page
    assert "<b>Slack</b>: none" in page
