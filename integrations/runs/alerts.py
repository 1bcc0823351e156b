"""Telling people about trouble: a digest that failed or reached only some recipients, a
recipient the hub turned off, an endpoint that keeps rejecting requests.

Each problem has a key (what it is about) and one Alert row. The first occurrence goes out
at once; later ones are kept as lines and go out together once HUB_ALERT_INTERVAL (15 min)
has passed since the last message, so that an outage is one message per quarter hour, not
a flood. A message is an alert run (no Dify app) with one delivery per alert recipient:
retried, recorded and browsed like any other. Alert runs raise no alerts themselves, and
the recipient an alert is about never receives it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from integrations.hub_language import hub_language
from integrations.models import Alert, Delivery, Recipient, Run
from integrations.runs import dispatch
from integrations.runs.outputs import OutputError

log = logging.getLogger(__name__)

MAX_LINES = 10  # per message; the rest are counted ("and 12 more")


def report(key: str, title: str, line: str, *, about_recipient: int | None = None) -> None:
    """Record one occurrence of a problem; send it now, or with the next bundle."""
    now = timezone.now()
    with transaction.atomic():
        alert = _locked(key, title)
        alert.occurrences += 1
        alert.last_seen_at = now
        if len(alert.pending) < MAX_LINES:
            alert.pending = [*alert.pending, line]
        else:
            alert.dropped += 1
        alert.title = title[:200]
        if alert.last_sent_at is None or now - alert.last_sent_at >= _interval():
            _send(alert, now, about_recipient)
        elif alert.due_at is None:
            alert.due_at = alert.last_sent_at + _interval()
        alert.save()


def burst(key: str, title: str, line: str, *, threshold: int) -> None:
    """Count an occurrence that is only a problem when it repeats: report it once
    `threshold` of them fall within one interval (and every one after, bundled)."""
    now = timezone.now()
    with transaction.atomic():
        alert = _locked(key, title)
        if alert.window_started_at is None or now - alert.window_started_at >= _interval():
            alert.window_started_at, alert.window_hits = now, 0
        alert.window_hits += 1
        alert.save(update_fields=["window_started_at", "window_hits"])
        hits = alert.window_hits
    if hits >= threshold:
        report(key, title, line)


def send_due(now: datetime) -> int:
    """Send the bundles whose interval has passed (the minutely housekeeping calls this)."""
    sent = 0
    for pk in Alert.objects.filter(due_at__lte=now).values_list("pk", flat=True)[:100]:
        with transaction.atomic():
            alert = Alert.objects.select_for_update().filter(pk=pk, due_at__lte=now).first()
            if alert is None or not alert.pending:
                continue
            _send(alert, now, None)
            alert.save()
            sent += 1
    return sent


def _locked(key: str, title: str) -> Alert:
    alert, _ = Alert.objects.get_or_create(key=key, defaults={"title": title[:200]})
    return Alert.objects.select_for_update().get(pk=alert.pk)


def _interval() -> timedelta:
    return timedelta(seconds=settings.HUB_ALERT_INTERVAL)


def alert_recipients(exclude: int | None = None) -> list[Recipient]:
    """Who hears about trouble: recipients marked so, and those HUB_ALERT_RECIPIENTS names."""
    chosen = Q(receives_alerts=True)
    if settings.HUB_ALERT_RECIPIENTS:
        chosen |= Q(name__in=settings.HUB_ALERT_RECIPIENTS)
    recipients = Recipient.objects.filter(chosen, enabled=True)
    if exclude is not None:
        recipients = recipients.exclude(pk=exclude)
    return list(recipients)


def _send(alert: Alert, now: datetime, about_recipient: int | None) -> None:
    """Turn the pending lines into an alert run with a delivery per alert recipient."""
    lines, dropped = alert.pending, alert.dropped
    alert.pending, alert.dropped, alert.last_sent_at, alert.due_at = [], 0, now, None
    recipients = alert_recipients(exclude=about_recipient)
    if not recipients:
        log.warning("alert '%s' has nobody to tell (no alert recipients): %s", alert.title, lines)
        return
    run = Run.objects.create(
        kind=Run.Kind.ALERT,
        source=f"alert: {alert.title}"[:255],
        status=Run.Status.DELIVERING,
        message=_message(alert.title, lines, dropped),
        started_at=now,
    )
    deliveries = Delivery.objects.bulk_create(
        Delivery(run=run, recipient=r, recipient_name=r.name, kind=r.kind) for r in recipients
    )
    for delivery in deliveries:
        dispatch.deliver(delivery.pk)
    alert.last_run = run


def _message(title: str, lines: list[str], dropped: int) -> dict:
    """The message, in the hub's language (the lines were written in it when raised)."""
    text = "\n".join(f"- {line}" for line in lines)
    minutes = round(settings.HUB_ALERT_INTERVAL / 60)
    with hub_language():
        if dropped:
            text += "\n- " + gettext("… and %(count)s more like these.") % {"count": dropped}
        return {
            "title": gettext("dify-hub: %(title)s") % {"title": title},
            "text": text,
            "footer": gettext(
                "dify-hub alert. The same problem is told at most once every %(minutes)s min."
            )
            % {"minutes": minutes},
        }


def stored_message(run: Run) -> dict:
    """An alert run's message (for sending it again): the one stored when it was raised."""
    if not run.message:
        raise OutputError("the alert's message is gone")
    return run.message
