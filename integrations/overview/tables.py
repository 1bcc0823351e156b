"""The overview's tables and charts as display-ready rows, from what queries.py returns."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from integrations.overview.charts import Chart, stacked_bars
from integrations.overview.moments import Moment
from integrations.overview.stats import Tally, Windows

# The runs chart's series (hub.css colours each); every other status is "other".
RUN_SERIES = ("succeeded", "partially_delivered", "failed", "other")
SERIES_LABELS = {
    "succeeded": _("succeeded"),
    "partially_delivered": _("partially delivered"),
    "failed": _("failed"),
    "other": _("queued, running, cancelled, superseded or skipped"),
}


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 10:
        return f"{value:.1f} s"
    if value < 120:
        return f"{value:.0f} s"
    return f"{value / 60:.0f} min"


def figures(tally: Tally) -> list[str]:
    """A window's cells: runs, success rate, p50 / p95 duration, tokens."""
    return [
        f"{tally.runs:,}",
        percent(tally.success_rate),
        f"{seconds(tally.p50)} / {seconds(tally.p95)}",
        f"{tally.tokens:,}",
    ]


@dataclass
class StatRow:
    name: str
    url: str
    cells: list[str]
    obj: object = None
    last_run: object = None  # digests only: the newest run, with its deliveries
    last_run_when: Moment | None = None


def stat_rows(tables: Mapping[int, Windows], names: Mapping[int, object], model: str) -> list:
    """One row per app, digest or endpoint (all of them, busy or not), by name."""
    rows = []
    for pk, named in names.items():
        windows = tables.get(pk) or Windows()
        rows.append(
            StatRow(
                name=str(named),
                url=reverse(f"admin:integrations_{model}_change", args=[pk]),
                cells=figures(windows.day) + figures(windows.week),
                obj=named,
            )
        )
    return sorted(rows, key=lambda row: row.name.lower())


# --- Recipients -------------------------------------------------------------------------------


@dataclass
class RecipientRow:
    recipient: object
    state: str  # "off", "failing", "ok", "idle": a hub.css class each (hub-bad, …)
    text: str
    last_success: Moment | None
    last_error: Moment | None


ORDER = {"off": 0, "failing": 1, "idle": 2, "ok": 3}
CLASSES = {"off": "hub-bad", "failing": "hub-bad", "idle": "hub-muted", "ok": "hub-good"}


def health(recipient) -> tuple[str, str]:
    """What the recipient list's "Last result" column says (admin/recipients.py)."""
    if not recipient.enabled:
        if recipient.disabled_at:
            reason = recipient.disabled_reason[:100]
            return "off", "⏻ " + gettext("turned off by the hub: %(reason)s") % {"reason": reason}
        return "idle", gettext("turned off")
    last_ok, last_error = recipient.last_success_at, recipient.last_error_at
    if last_error and (not last_ok or last_error > last_ok):
        return "failing", f"✗ {recipient.last_error[:100]}"
    if last_ok:
        return "ok", "✓ " + gettext("delivered")
    return "idle", gettext("nothing sent yet")


def recipient_rows(recipients, clock: Callable) -> list[RecipientRow]:
    """Trouble first: turned off by the hub, then failing, then the rest by name."""
    rows = []
    for recipient in recipients:
        state, text = health(recipient)
        rows.append(
            RecipientRow(
                recipient,
                state,
                text,
                clock(recipient.last_success_at),
                clock(recipient.last_error_at),
            )
        )
    rows.sort(key=lambda row: (ORDER[row.state], row.recipient.name.lower()))
    return rows


# --- Charts ---------------------------------------------------------------------------------


def _local_hour(now: datetime, zone) -> datetime:
    return now.astimezone(zone).replace(minute=0, second=0, microsecond=0).astimezone(UTC)


def runs_per_hour(counts: list[dict], clock) -> Chart:
    """The last 24 hours (the current one last), each bar stacked by status, from
    queries.hourly_counts."""
    per_hour: dict[datetime, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in counts:
        series = row["status"] if row["status"] in RUN_SERIES else "other"
        per_hour[row["hour"].astimezone(UTC)][series] += row["runs"]
    last = _local_hour(clock.now, clock.zone)
    columns = []
    for back in range(23, -1, -1):
        hour = last - timedelta(hours=back)
        values = dict(per_hour.get(hour, {}))
        local = hour.astimezone(clock.zone)
        label = f"{local:%H}" if back % 3 == 0 else ""
        parts = ", ".join(f"{values[s]} {SERIES_LABELS[s]}" for s in RUN_SERIES if s in values)
        total = sum(values.values())
        runs = ngettext("%(count)s run", "%(count)s runs", total) % {"count": total}
        title = f"{local:%a %H}:00 {clock.zone_name}: {runs}"
        columns.append((label, f"{title} ({parts})" if parts else title, values))
    return stacked_bars(columns, RUN_SERIES)


def tokens_per_day(counts: list[dict], clock) -> Chart:
    """The last 7 days (today last) in the hub's TIME_ZONE, from queries.week_counts' rows
    (each with its period's `day` added)."""
    per_day: dict = defaultdict(int)
    for row in counts:
        per_day[row["day"]] += row["tokens"] or 0
    today = clock.now.astimezone(clock.zone).date()
    columns = []
    for back in range(6, -1, -1):
        day = today - timedelta(days=back)
        tokens = per_day.get(day, 0)
        amount = ngettext("%(count)s token", "%(count)s tokens", tokens) % {"count": f"{tokens:,}"}
        title = f"{day:%a %Y-%m-%d}: {amount}"
        columns.append((f"{day:%a %d}", title, {"tokens": tokens}))
    return stacked_bars(columns, ("tokens",))
