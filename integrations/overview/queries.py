"""The overview's queries: a constant handful, whatever the number of runs.

Every query over runs or events starts from an indexed time range (the week's runs by
created_at, the day's failures by (status, created_at), events by received_at) and groups in
SQL; what comes back is bounded by the number of apps, digests, endpoints and hours, not of
runs. benchmarks/overview.py measures the page at 1M runs on PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    Func,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Abs, Floor, Ln, Trunc

from integrations.models import (
    Delivery,
    DifyApp,
    Digest,
    Recipient,
    ReviewEndpoint,
    Run,
    WebhookEvent,
)
from integrations.overview.stats import BUCKETS_PER_E, SHORTEST

GROUPS = ("app_id", "digest_id", "review_endpoint_id")
# Run fields a row of the overview never shows: large JSON, left in the database.
HEAVY = ("inputs", "query", "outputs", "message", "context")


class Seconds(Func):
    """finished_at - started_at in seconds, as a float (the run's "Took")."""

    output_field = FloatField()
    # date_part, not EXTRACT: EXTRACT returns numeric since PostgreSQL 14, and ln() of a
    # numeric costs ten times ln() of a double over the week's runs.
    template = "date_part('epoch', (%(expressions)s))"
    arg_joiner = " - "

    def __init__(self) -> None:
        super().__init__(F("finished_at"), F("started_at"))

    def as_sqlite(self, compiler, connection, **extra):
        # SQLite keeps datetimes as text; julianday() reads them (to ~10 µs).
        return super().as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
            **extra,
        )


def week_counts(since_week: datetime, cuts: list[datetime]) -> list[dict]:
    """The week's runs counted per (app, digest, endpoint, status, period, duration bucket)
    with their tokens: the three tables, their percentiles and the tokens chart in one scan
    (periods.py numbers the periods; the bucket is None for a run that has not ended)."""
    period = Case(
        *(When(created_at__gte=cut, then=Value(index)) for index, cut in enumerate(cuts)),
        default=Value(len(cuts)),
    )
    # ln(|s| + SHORTEST) is NULL for a run not ended, and defined even for a clock that
    # stepped back (stats.bucket_of is the same in Python).
    bucket = Floor(Ln(Abs(Seconds()) + Value(SHORTEST)) * Value(float(BUCKETS_PER_E)))
    return list(
        Run.objects.filter(created_at__gte=since_week)
        .annotate(period=period, bucket=bucket)
        .values(*GROUPS, "status", "period", "bucket")
        .annotate(runs=Count("*"), tokens=Sum("total_tokens"))
        .order_by()
    )


def hourly_counts(since_day: datetime) -> list[dict]:
    """The last 24 hours' runs per hour (in the hub's TIME_ZONE) and status."""
    return list(
        Run.objects.filter(created_at__gte=since_day)
        .annotate(hour=Trunc("created_at", "hour"))
        .values("hour", "status")
        .annotate(runs=Count("*"))
        .order_by()
    )


FAILED = (Run.Status.FAILED, Run.Status.PARTIALLY_DELIVERED)


def recent_failures(since_day: datetime, limit: int) -> tuple[list[Run], int]:
    """The newest runs that failed or reached only some recipients, each with its
    deliveries that did not arrive (`undelivered`), and how many such runs there were."""
    failed = Run.objects.filter(created_at__gte=since_day, status__in=FAILED)
    undelivered = Delivery.objects.exclude(status=Delivery.Status.DELIVERED).only(
        "run_id", "recipient_name", "kind", "status", "error"
    )
    runs = list(
        failed.select_related("app", "digest", "review_endpoint")
        .defer(*HEAVY)
        .prefetch_related(Prefetch("deliveries", undelivered, to_attr="undelivered"))
        .order_by("-created_at", "-id")[:limit]
    )
    return runs, failed.count()


def digests_with_last_run() -> list[Digest]:
    """Every digest with `last_run` (None if it never ran): its newest run with all its
    deliveries, so a row says which recipient it reached and which not, and why."""
    newest = Run.objects.filter(digest=OuterRef("pk")).order_by("-created_at", "-id")
    digests = list(
        Digest.objects.select_related("app")
        .only("name", "cron", "timezone", "enabled", "app__name")
        .annotate(last_run_id=Subquery(newest.values("pk")[:1]))
    )
    ids = [digest.last_run_id for digest in digests if digest.last_run_id]
    deliveries = Delivery.objects.only("run_id", "recipient_name", "status", "error")
    runs = Run.objects.defer(*HEAVY).prefetch_related(Prefetch("deliveries", deliveries))
    last = {run.pk: run for run in runs.filter(pk__in=ids)} if ids else {}
    for digest in digests:
        digest.last_run = last.get(digest.last_run_id)
    return digests


def recipients() -> list[Recipient]:
    # Only the health fields: the URL and secret are encrypted, and decrypting is not free.
    return list(
        Recipient.objects.only(
            "name",
            "kind",
            "enabled",
            "consecutive_failures",
            "disabled_at",
            "disabled_reason",
            "last_success_at",
            "last_error",
            "last_error_at",
        )
    )


def events_by_outcome(since_week: datetime, since_day: datetime) -> list[dict]:
    return list(
        WebhookEvent.objects.filter(received_at__gte=since_week)
        .values("outcome")
        .annotate(week=Count("*"), day=Count("pk", filter=Q(received_at__gte=since_day)))
        .order_by("outcome")
    )


def app_names() -> dict[int, str]:
    return dict(DifyApp.objects.values_list("pk", "name"))


def endpoint_names() -> dict[int, str]:
    return dict(ReviewEndpoint.objects.values_list("pk", "name"))
