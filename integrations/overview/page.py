"""The overview's blocks for one user: each block only for who may view its model
(a Viewer sees runs and webhook events, not digests, recipients or apps)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from integrations.digests import schedule
from integrations.models import Digest, Run, WebhookEvent
from integrations.overview import minutely, queries
from integrations.overview.charts import Chart
from integrations.overview.moments import Moment, moment
from integrations.overview.periods import boundaries, periods
from integrations.overview.stats import rollup
from integrations.overview.tables import (
    StatRow,
    recipient_rows,
    runs_per_hour,
    stat_rows,
    tokens_per_day,
)

DAY, WEEK = timedelta(days=1), timedelta(days=7)
FAILURES_SHOWN, NEXT_SHOWN = 15, 8


@dataclass
class Clock:
    """Now, and the zone the page writes times in: the viewer's (integrations/viewer_zone.py),
    by default the hub's TIME_ZONE."""

    now: datetime
    zone: object = field(default_factory=timezone.get_current_timezone)
    zone_name: str = field(default_factory=timezone.get_current_timezone_name)

    def __call__(self, at: datetime | None) -> Moment | None:
        return moment(at, self.zone)


@dataclass
class Failure:
    run: Run
    when: Moment
    what: str
    undelivered: list


@dataclass
class NextFire:
    digest: Digest
    local: str  # in the digest's own zone
    when: Moment


@dataclass
class Overview:
    zone_name: str
    failures: list[Failure] | None = None
    failures_total: int = 0
    failures_url: str = ""
    show_deliveries: bool = False
    runs_chart: Chart | None = None
    tokens_chart: Chart | None = None
    next_digests: list[NextFire] | None = None
    apps: list[StatRow] | None = None
    digests: list[StatRow] | None = None
    endpoints: list[StatRow] | None = None
    recipients: list | None = None
    events: list[dict] | None = None
    beat_url: str = ""
    figures_at: Moment | None = None  # the minute the tables and the tokens chart are of


def build_overview(user, now: datetime) -> Overview:
    clock = Clock(now)
    page = Overview(zone_name=clock.zone_name)
    may = _Permissions(user)
    # The week's runs grouped once: the tokens chart and the three tables come from these.
    counts = week_counts(clock) if may("view_run") else []
    page.figures_at = clock(figures_minute(now))
    if may("view_run"):
        _failures(page, clock, show_deliveries=may("view_delivery"))
        page.runs_chart = runs_per_hour(queries.hourly_counts(now - DAY), clock)
        page.tokens_chart = tokens_per_day(counts, clock)
    digests = queries.digests_with_last_run() if may("view_digest") else []
    if may("view_digest"):
        page.next_digests = next_fires(digests, clock)
    tables = rollup(counts)
    if may("view_run", "view_difyapp"):
        page.apps = stat_rows(tables["app"], queries.app_names(), "difyapp")
    if may("view_run", "view_digest"):
        page.digests = digest_rows(tables["digest"], digests, clock)
    if may("view_run", "view_reviewendpoint"):
        page.endpoints = stat_rows(tables["endpoint"], queries.endpoint_names(), "reviewendpoint")
    if may("view_recipient"):
        page.recipients = recipient_rows(queries.recipients(), clock)
    if may("view_webhookevent"):
        page.events = event_rows(queries.events_by_outcome(now - WEEK, now - DAY))
    if user.is_superuser:
        page.beat_url = reverse("admin:django_celery_beat_periodictask_changelist")
    return page


class _Permissions:
    def __init__(self, user) -> None:
        self.user = user

    def __call__(self, *codenames: str) -> bool:
        return all(self.user.has_perm(f"integrations.{name}") for name in codenames)


def figures_minute(now: datetime) -> datetime:
    """The minute the week's figures are of (minutely.py: computed once in it)."""
    return now.replace(second=0, microsecond=0)


def week_counts(clock: Clock) -> list[dict]:
    """queries.week_counts' rows, each with its period's day and `recent` flag: as of the
    current minute, computed once in it for every viewer of the same zone."""
    minute = figures_minute(clock.now)
    cuts = boundaries(minute, clock.zone)
    meaning = periods(cuts, minute, clock.zone)
    rows = minutely.of_minute(
        clock.zone_name, minute, lambda: queries.week_counts(minute - WEEK, cuts)
    )
    for row in rows:
        period = meaning[row["period"]]
        row["day"], row["recent"] = period.day, period.recent
    return rows


def _failures(page: Overview, clock: Clock, *, show_deliveries: bool) -> None:
    since = clock.now - DAY
    runs, page.failures_total = queries.recent_failures(since, FAILURES_SHOWN)
    page.failures = [
        Failure(run, clock(run.created_at), _what(run), run.undelivered) for run in runs
    ]
    page.show_deliveries = show_deliveries
    query = {"status__in": ",".join(queries.FAILED), "created_at__gte": since.isoformat()}
    page.failures_url = f"{reverse('admin:integrations_run_changelist')}?{urlencode(query)}"


def _what(run: Run) -> str:
    if run.digest:
        return gettext("digest %(name)s") % {"name": run.digest.name}
    if run.review_endpoint:
        kind, endpoint = run.get_kind_display().lower(), run.review_endpoint.name
        return gettext("%(kind)s on %(endpoint)s") % {"kind": kind, "endpoint": endpoint}
    return run.source


def digest_rows(tables: dict, digests: list[Digest], clock: Clock) -> list[StatRow]:
    rows = stat_rows(tables, {digest.pk: digest for digest in digests}, "digest")
    for row in rows:
        row.last_run = row.obj.last_run
        row.last_run_when = clock(row.last_run.created_at) if row.last_run else None
    return rows


def next_fires(digests: list[Digest], clock: Clock) -> list[NextFire]:
    """The enabled digests by their next slot, written in each digest's own zone."""
    found = []
    for digest in digests:
        if not digest.enabled:
            continue
        try:
            slots = schedule.next_slots(digest.cron, digest.timezone, clock.now, 1)
            zone = schedule.parse_zone(digest.timezone)
        except schedule.ScheduleError:
            continue
        if slots:
            local = f"{slots[0].astimezone(zone):%a %d %b %H:%M %Z}"
            found.append(NextFire(digest, local, clock(slots[0].astimezone(UTC))))
    found.sort(key=lambda fire: fire.when.at)
    return found[:NEXT_SHOWN]


def event_rows(counts: list[dict]) -> list[dict]:
    """Every outcome, in the model's order, with its 24 h and 7 d counts (0 if none)."""
    found = {row["outcome"]: row for row in counts}
    base = reverse("admin:integrations_webhookevent_changelist")
    return [
        {
            "outcome": value,
            "label": label,
            "day": found.get(value, {}).get("day", 0),
            "week": found.get(value, {}).get("week", 0),
            "url": f"{base}?{urlencode({'outcome__exact': value})}",
        }
        for value, label in WebhookEvent.Outcome.choices
    ]
