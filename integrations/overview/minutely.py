"""The overview's week of figures, computed at most once a minute in each process.

Grouping the week's runs is the one part of the page whose cost grows with the hub: at
1M runs (611k of them in the last 7 days) the scan takes about half a second, while the
rest of the page takes a few tens of milliseconds (benchmarks/RESULTS.md § 4). So the
grouped rows are kept for the minute they were computed in, per viewer zone (the day
boundaries are the viewer's), and every viewer of that zone in that minute shares them:
the tables, their percentiles and the tokens chart are at most a minute old, and say so.
What the page lists one by one (the last 24 hours' failures, the next digests, the
recipients' health, the runs-per-hour chart) stays live.

Per process, not in a shared cache: no Redis on embedded defaults, and a broker outage
must not take the home page with it. A gunicorn with 5 workers computes it at most 5
times a minute.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

_lock = threading.Lock()
_kept: dict[tuple[str, datetime], list[dict]] = {}


def of_minute(zone_name: str, minute: datetime, compute: Callable[[], list[dict]]) -> list[dict]:
    """The rows computed for (zone, minute), computing them the first time. Callers get
    copies, so that annotating them never changes what the next viewer gets."""
    key = (zone_name, minute)
    rows = _kept.get(key)
    if rows is None:
        rows = compute()
        with _lock:
            for old in [k for k in _kept if k[1] != minute]:
                del _kept[old]  # a new minute: the older ones will never be asked for again
            _kept[key] = rows
    return [dict(row) for row in rows]


def forget() -> None:
    """Drop every kept minute (tests; a page must be computed afresh)."""
    with _lock:
        _kept.clear()
