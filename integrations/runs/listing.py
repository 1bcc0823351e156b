"""Which runs to list, newest first: the filters shared by the REST API and `hub runs`."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery

from integrations.models import Delivery, DeliveryAttempt, Digest, ReviewEndpoint, Run

ORDERING = ("-created_at", "-id")


def filter_runs(
    runs: QuerySet[Run],
    *,
    status: str | None = None,
    kind: str | None = None,
    source: str | None = None,
    since: datetime | None = None,
) -> QuerySet[Run]:
    if status:
        runs = runs.filter(status=status)
    if kind:
        runs = runs.filter(kind=kind)
    if source:
        runs = runs.filter(source_filter(source))
    if since is not None:
        runs = runs.filter(created_at__gte=since)
    return runs


def source_filter(name: str) -> Q:
    """A digest's or review endpoint's name, or a run's exact source text.

    The names are looked up first so the run query compares indexed ids, not joined names.
    """
    digests = list(Digest.objects.filter(name=name).values_list("pk", flat=True))
    endpoints = list(ReviewEndpoint.objects.filter(name=name).values_list("pk", flat=True))
    condition = Q(source=name)
    if digests:
        condition |= Q(digest_id__in=digests)
    if endpoints:
        condition |= Q(review_endpoint_id__in=endpoints)
    return condition


def for_presenting(runs: QuerySet[Run]) -> QuerySet[Run]:
    """Load what `present_run` reads along with the runs: no query per run or delivery."""
    last_status = (
        DeliveryAttempt.objects.filter(delivery=OuterRef("pk"))
        .order_by("-id")
        .values("http_status")[:1]
    )
    deliveries = Delivery.objects.annotate(last_http_status=Subquery(last_status)).order_by("id")
    return runs.select_related("app").prefetch_related(Prefetch("deliveries", deliveries))


def parse_since(text: str) -> datetime:
    """An ISO 8601 date or date-time; without a UTC offset it is read as UTC.

    Raises ValueError with a message meant for the user.
    """
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        hint = (
            " (a '+' in a URL reads as a space: write the offset as %2B08:00)"
            if " " in value
            else ""
        )
        raise ValueError(
            f"'{text[:50]}' is not an ISO 8601 date or date-time such as 2026-05-01 or "
            f"2026-05-01T08:00:00Z{hint}."
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00 is before the first representable instant
        raise ValueError(f"'{text[:50]}' is out of range.") from None
