"""The week cut into periods at each local midnight and at 24 hours ago, so that one grouped
scan says both which calendar day (in the hub's TIME_ZONE) a run belongs to and whether it is
in the last 24 hours. The database numbers the periods with a CASE over constant instants:
about half the cost per row of truncating each timestamp in a named zone (measured with
benchmarks/overview.py at 1M runs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo


@dataclass(frozen=True)
class Period:
    day: date | None  # None: the part of the oldest day before the week's start
    recent: bool  # within the last 24 hours


def boundaries(now: datetime, zone: tzinfo, days: int = 7) -> list[datetime]:
    """Newest first: the last `days` local midnights and 24 hours ago, each once."""
    today = now.astimezone(zone).date()
    midnights = {
        datetime.combine(today - timedelta(days=back), time.min, tzinfo=zone)
        for back in range(days)
    }
    return sorted(midnights | {now - timedelta(days=1)}, reverse=True)


def periods(cuts: list[datetime], now: datetime, zone: tzinfo) -> list[Period]:
    """What period i (runs created at or after cuts[i], before cuts[i - 1]) stands for; the
    last entry is for the runs older than every cut."""
    since_day = now - timedelta(days=1)
    found = [Period(cut.astimezone(zone).date(), cut >= since_day) for cut in cuts]
    return [*found, Period(None, False)]
