"""Histograms computed by the database: one COUNT per bucket in the same GROUP BY.

A run's duration and Dify's elapsed time are measured once, when the run ends, and kept
on the row; so the scrape can rebuild their distribution over the window from the rows
instead of every process observing them in memory (docs/operations.md says why).
Buckets are cumulative (`le`), as Prometheus expects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta

from django.db.models import Count, Q, Sum
from prometheus_client.utils import floatToGoString

# Seconds: a review or a digest takes from a few seconds to a few minutes; past an hour the
# run timeout has ended it.
BUCKETS = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)


def aggregates(field: str, as_value: Callable[[float], object] = float) -> dict:
    """Annotations giving `field`'s bucket counts, count and sum (nulls left out)."""
    found = {
        f"{field}__le{i}": Count("id", filter=Q(**{f"{field}__lte": as_value(bound)}))
        for i, bound in enumerate(BUCKETS)
    }
    found[f"{field}__count"] = Count(field)
    found[f"{field}__sum"] = Sum(field)
    return found


def as_duration(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


class Histogram:
    """Bucket counts added up over the rows of one label set."""

    def __init__(self) -> None:
        self.buckets = [0] * len(BUCKETS)
        self.count = 0
        self.total = 0.0

    def add(self, row: dict, field: str) -> None:
        for i in range(len(BUCKETS)):
            self.buckets[i] += row[f"{field}__le{i}"]
        self.count += row[f"{field}__count"]
        self.total += seconds(row[f"{field}__sum"])

    def samples(self) -> list[tuple[str, float]]:
        """(le, cumulative count) pairs ending with +Inf, as GaugeHistogramMetricFamily wants."""
        pairs = [(floatToGoString(b), float(n)) for b, n in zip(BUCKETS, self.buckets, strict=True)]
        return [*pairs, ("+Inf", float(self.count))]


def seconds(value: timedelta | float | None) -> float:
    if value is None:
        return 0.0
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def grouped(rows: Iterable[dict], key: str, field: str) -> dict[str, Histogram]:
    """One histogram per value of `key` (a label), over `field`'s aggregates."""
    found: dict[str, Histogram] = {}
    for row in rows:
        found.setdefault(row[key] or "", Histogram()).add(row, field)
    return found
