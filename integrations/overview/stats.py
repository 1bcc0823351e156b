"""Runs, success rates, tokens and duration percentiles from rows grouped in SQL.

The database counts durations in buckets of a logarithmic scale (BUCKETS_PER_E buckets per
factor e, so each bucket is about 13 % wide) instead of sorting them; a percentile is read
off that histogram, interpolated inside its bucket, within about 6 % of the exact value.
Why not PostgreSQL's percentile_cont: an exact percentile sorts every duration of every
group, and exact percentiles do not add up, so the per-app, per-digest and per-endpoint
tables would each need their own sort of the week's runs. Histograms add up: one scan grouped
by (app, digest, endpoint) feeds all three tables, on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

BUCKETS_PER_E = 8
SHORTEST = 0.01  # seconds, added to every duration so that 0 has a logarithm

# Run.Status values. A success rate counts the runs that reached an end of their own:
# cancelled, superseded and skipped runs are neither successes nor failures.
SUCCEEDED = "succeeded"
SETTLED = frozenset({"succeeded", "partially_delivered", "failed"})


def bucket_of(seconds: float) -> int:
    """The histogram bucket of a duration (what queries.py computes in SQL)."""
    return math.floor(math.log(abs(seconds) + SHORTEST) * BUCKETS_PER_E)


def percentile(histogram: Mapping[int, int], q: float) -> float | None:
    """The q-quantile (0 < q < 1) of the durations counted in `histogram`, in seconds."""
    total = sum(histogram.values())
    if not total:
        return None
    rank, seen = q * total, 0
    for bucket in sorted(histogram):
        count = histogram[bucket]
        if count and seen + count >= rank:
            # Geometric interpolation: the buckets are even on a log scale.
            return _seconds(bucket + (rank - seen) / count)
        seen += count
    return _seconds(max(histogram) + 1)


def _seconds(position: float) -> float:
    return max(math.exp(position / BUCKETS_PER_E) - SHORTEST, 0.0)


@dataclass
class Tally:
    """One row's numbers for one window (24 h or 7 d)."""

    runs: int = 0
    succeeded: int = 0
    settled: int = 0
    tokens: int = 0
    durations: Counter = field(default_factory=Counter)

    def count(self, status: str, runs: int, tokens: int | None) -> None:
        self.runs += runs
        self.tokens += tokens or 0
        if status in SETTLED:
            self.settled += runs
            self.succeeded += runs if status == SUCCEEDED else 0

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.settled if self.settled else None

    @property
    def p50(self) -> float | None:
        return percentile(self.durations, 0.5)

    @property
    def p95(self) -> float | None:
        return percentile(self.durations, 0.95)


@dataclass
class Windows:
    day: Tally = field(default_factory=Tally)
    week: Tally = field(default_factory=Tally)

    def windows(self, recent: bool) -> Iterable[Tally]:
        return (self.day, self.week) if recent else (self.week,)


# Which column of the grouped rows names each table's row.
DIMENSIONS = {"app": "app_id", "digest": "digest_id", "endpoint": "review_endpoint_id"}


def rollup(rows: Iterable[Mapping]) -> dict[str, dict[int, Windows]]:
    """{"app"|"digest"|"endpoint": {id: Windows}} from queries.week_counts' rows (each with
    its period's `recent` added): a row counts towards every table it belongs to."""
    tables: dict[str, dict[int, Windows]] = {name: {} for name in DIMENSIONS}
    for row in rows:
        for tally in _tallies(tables, row):
            tally.count(row["status"], row["runs"], row["tokens"])
            if row["bucket"] is not None:
                tally.durations[int(row["bucket"])] += row["runs"]
    return tables


def _tallies(tables: dict[str, dict[int, Windows]], row: Mapping) -> Iterable[Tally]:
    for name, column in DIMENSIONS.items():
        key = row[column]
        if key is not None:
            yield from tables[name].setdefault(key, Windows()).windows(bool(row["recent"]))
