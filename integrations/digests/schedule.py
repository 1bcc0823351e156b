"""Cron maths for digests, in the digest's own time zone. Pure: no Django, no clock.

A slot is the UTC instant a cron expression names in a time zone. Cron is matched against
local wall-clock time, then each wall time is placed on the time line:
- a wall time in the spring-forward gap (02:30 on the day Berlin jumps 02:00 -> 03:00) does
  not exist; it is read with the offset before the jump, so it lands one hour later (03:30),
  and a slot that maps to the same instant as another is kept once;
- a wall time in the repeated autumn hour exists twice; the first occurrence is the slot.
So a daily digest fires exactly once on both days the clocks change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from celery.schedules import crontab
from cron_descriptor import Options, get_description
from croniter import croniter

from integrations import zones
from integrations.digests import languages
from integrations.placeholders import is_broken, names_in

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# Far enough around a window to cover any DST shift (at most 2 h anywhere).
_MARGIN = timedelta(hours=3)


_FIELDS = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day-of-month", "1-31"),
    ("month", "1-12 or jan-dec"),
    ("day-of-week", "0-6 or sun-sat"),
)


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class CronFields:
    minute: str
    hour: str
    day_of_month: str
    month_of_year: str
    day_of_week: str


def parse_cron(expression: str) -> CronFields:
    """Validate a five-field cron expression (or @daily-style macro) and split it."""
    text = " ".join(expression.split())
    text = MACROS.get(text.lower(), text)
    parts = text.split(" ")
    if len(parts) != 5:
        raise ScheduleError(
            f"'{expression}' has {len(parts)} fields; a cron expression has five: "
            "minute hour day-of-month month day-of-week (for example '0 8 * * *')."
        )
    for position, (name, allowed) in enumerate(_FIELDS):
        alone = ["*"] * 5
        alone[position] = parts[position]
        if not croniter.is_valid(" ".join(alone)):
            raise ScheduleError(
                f"'{expression}' is not a valid cron expression: the {name} field "
                f"'{parts[position]}' is out of range or malformed (allowed: {allowed})."
            )
    if not croniter.is_valid(text):
        raise ScheduleError(f"'{expression}' is not a valid cron expression.")
    fields = CronFields(*parts)
    try:  # beat must understand it as well as we do
        crontab(
            minute=fields.minute,
            hour=fields.hour,
            day_of_month=fields.day_of_month,
            month_of_year=fields.month_of_year,
            day_of_week=fields.day_of_week,
        )
    except (ValueError, TypeError) as exc:
        raise ScheduleError(f"'{expression}' is not supported by celery beat: {exc}") from None
    return fields


def normalize_cron(expression: str) -> str:
    fields = parse_cron(expression)
    return " ".join(
        (fields.minute, fields.hour, fields.day_of_month, fields.month_of_year, fields.day_of_week)
    )


def parse_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        near = zones.suggestions(name)
        hint = (
            f"did you mean {' or '.join(near)}?"
            if near
            else "for example Europe/Berlin, America/New_York, UTC."
        )
        raise ScheduleError(f"'{name}' is not an IANA time zone; {hint}") from None


def _to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    # fold=0: the first of a repeated wall time; for a missing wall time, the offset in force
    # before the jump (so the slot falls just after it).
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def slots_between(
    expression: str, zone_name: str, start: datetime, end: datetime
) -> list[datetime]:
    """Slots s with start < s <= end, in UTC, sorted, each instant once."""
    cron = normalize_cron(expression)
    zone = parse_zone(zone_name)
    local_start = start.astimezone(zone).replace(tzinfo=None) - _MARGIN
    local_end = end.astimezone(zone).replace(tzinfo=None) + _MARGIN
    found: set[datetime] = set()
    walker = croniter(cron, local_start)
    while True:
        wall = walker.get_next(datetime)
        if wall > local_end:
            break
        instant = _to_utc(wall, zone)
        if start < instant <= end:
            found.add(instant)
    return sorted(found)


def latest_slot(expression: str, zone_name: str, now: datetime) -> datetime | None:
    """The most recent slot at or before `now`, looking back at most about 400 days."""
    window = timedelta(hours=2)
    while window <= timedelta(days=400):
        slots = slots_between(expression, zone_name, now - window, now)
        if slots:
            return slots[-1]
        window *= 4
    return None


def next_slots(expression: str, zone_name: str, after: datetime, count: int = 3) -> list[datetime]:
    """The next `count` slots strictly after `after` (fewer if the cron never fires again)."""
    window = timedelta(days=2)
    while window <= timedelta(days=366 * 8):
        slots = slots_between(expression, zone_name, after, after + window)
        if len(slots) >= count:
            return slots[:count]
        window *= 4
    return slots_between(expression, zone_name, after, after + window)[:count]


# cron_descriptor's own catalogs for the languages the hub speaks. It leaves the names of days
# and months in English (it takes them from the process's locale, C here), so those are put in
# from CLDR (languages.local_names).
_DESCRIPTOR_LOCALES = {"zh-hans": "zh_CN", "ja": "ja_JP", "ko": "ko_KR"}


def describe(expression: str, language: str = languages.ENGLISH) -> str:
    """The schedule in words, in `language` (English for a code it does not know)."""
    options = Options()
    options.locale_code = _DESCRIPTOR_LOCALES.get(language, "en_US")
    options.use_24hour_time_format = True
    options.verbose = False
    return languages.local_names(get_description(normalize_cron(expression), options), language)


# --- Input templating ------------------------------------------------------------------------

# `date_iso` is for workflows that compute with the date: `date` follows the digest's language.
VARIABLES = ("date", "weekday", "time", "digest", "date_iso")


def slot_context(
    slot: datetime, zone_name: str, digest_name: str, language: str = languages.ENGLISH
) -> dict[str, str]:
    """The variables' values at `slot`, in the digest's time zone and language."""
    local = slot.astimezone(parse_zone(zone_name))
    day = local.date()
    return {
        "date": languages.long_date(day, language),
        "weekday": languages.weekday(day, language),
        "time": local.strftime("%H:%M"),  # 24-hour in every language, as cron is written
        "digest": digest_name,
        "date_iso": day.isoformat(),
    }


def check_template(value: object) -> None:
    """Raise ScheduleError for unknown variables or broken {{ }} in any string of `value`."""
    unknown = unknown_variables(value)
    if unknown:
        raise ScheduleError(
            f"Unknown variable(s) {', '.join(unknown)}; available: "
            + ", ".join(f"{{{{ {name} }}}}" for name in VARIABLES)
        )
    for text in _strings(value):
        if is_broken(text):
            raise ScheduleError(
                f"Broken placeholder in {text!r}: write variables as {{{{ date }}}}; "
                "no other template syntax is supported."
            )


def unknown_variables(value: object) -> list[str]:
    """Placeholder names used in `value` (any JSON) that are not digest variables."""
    names: set[str] = set()
    for text in _strings(value):
        names.update(names_in(text))
    return sorted(names - set(VARIABLES))


def _strings(value: object):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
