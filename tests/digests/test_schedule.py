"""Cron maths in the digest's zone, with a controlled clock (no database, no network)."""

from datetime import UTC, datetime

import pytest

from integrations import placeholders
from integrations.digests import schedule
from integrations.digests.schedule import ScheduleError

BERLIN = "Europe/Berlin"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_it_rejects_a_cron_with_the_wrong_number_of_fields():
    with pytest.raises(ScheduleError, match="has 4 fields"):
        schedule.parse_cron("0 8 * *")


def test_it_rejects_out_of_range_values():
    with pytest.raises(ScheduleError, match="not a valid cron"):
        schedule.parse_cron("0 25 * * *")


def test_it_rejects_an_unknown_time_zone():
    with pytest.raises(ScheduleError, match="not an IANA time zone"):
        schedule.parse_zone("Europe/Atlantis")


def test_it_expands_macros_and_normalises_spacing():
    assert schedule.normalize_cron("@daily") == "0 0 * * *"
    assert schedule.normalize_cron("  0   8 * *  1-5 ") == "0 8 * * 1-5"


def test_it_describes_a_cron_in_words():
    assert schedule.describe("0 8 * * *") == "At 08:00"
    assert schedule.describe("30 7 * * 1-5") == "At 07:30, Monday through Friday"


def test_it_describes_a_cron_in_the_admins_languages_with_local_day_and_month_names():
    assert schedule.describe("30 7 * * 1-5", "zh-hans") == "在 07:30, 星期一 到 星期五"
    assert schedule.describe("30 7 * * 1-5", "ja") == "次において実施 07:30、月曜日 から 金曜日 まで"
    assert "一月 和 六月" in schedule.describe("0 8 1 1,6 *", "zh-hans")
    assert "1月 と 6月" in schedule.describe("0 8 1 1,6 *", "ja")
    # A language it does not speak, or English by any spelling, reads as before.
    for language in ("en", "en-us", "fr"):
        assert schedule.describe("30 7 * * 1-5", language) == "At 07:30, Monday through Friday"


def test_it_gives_the_next_three_fire_times_in_utc():
    slots = schedule.next_slots("0 8 * * *", BERLIN, utc(2026, 11, 21, 12, 0), 3)
    # Berlin is UTC+1 in November.
    assert slots == [utc(2026, 11, 22, 7), utc(2026, 11, 23, 7), utc(2026, 11, 24, 7)]


def test_it_fires_at_local_eight_across_spring_forward():
    # 2026-03-29: Berlin jumps from 02:00 CET to 03:00 CEST.
    slots = schedule.next_slots("0 8 * * *", BERLIN, utc(2026, 3, 28, 12), 3)
    assert slots == [utc(2026, 3, 29, 6), utc(2026, 3, 30, 6), utc(2026, 3, 31, 6)]


def test_it_fires_at_local_eight_across_fall_back():
    # 2026-10-25: Berlin goes back from 03:00 CEST to 02:00 CET.
    slots = schedule.next_slots("0 8 * * *", BERLIN, utc(2026, 10, 24, 12), 2)
    assert slots == [utc(2026, 10, 25, 7), utc(2026, 10, 26, 7)]


def test_a_slot_in_the_missing_hour_fires_once_just_after_the_jump():
    day = schedule.slots_between("30 2 * * *", BERLIN, utc(2026, 3, 28, 12), utc(2026, 3, 29, 12))
    # 02:30 does not exist that day; it is read as 03:30 CEST = 01:30 UTC, once.
    assert day == [utc(2026, 3, 29, 1, 30)]


def test_a_slot_in_the_repeated_hour_fires_once_at_its_first_occurrence():
    day = schedule.slots_between("30 2 * * *", BERLIN, utc(2026, 10, 24, 12), utc(2026, 10, 25, 12))
    # 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET); only the first counts.
    assert day == [utc(2026, 10, 25, 0, 30)]


def test_two_crons_landing_on_one_instant_in_the_gap_give_one_slot():
    slots = schedule.slots_between("30 2,3 * * *", BERLIN, utc(2026, 3, 29, 0), utc(2026, 3, 29, 3))
    assert slots == [utc(2026, 3, 29, 1, 30)]


def test_latest_slot_is_the_most_recent_at_or_before_now():
    assert schedule.latest_slot("0 8 * * *", BERLIN, utc(2026, 11, 21, 7, 0)) == utc(
        2026, 11, 21, 7
    )
    assert schedule.latest_slot("0 8 * * *", BERLIN, utc(2026, 11, 21, 6, 59)) == utc(
        2026, 11, 20, 7
    )


def test_slot_context_uses_the_digest_zone():
    context = schedule.slot_context(utc(2026, 11, 21, 23, 30), "Asia/Tokyo", "Morning")
    assert context == {
        "date": "2026-11-22",
        "weekday": "Sunday",
        "time": "08:30",
        "digest": "Morning",
        "date_iso": "2026-11-22",
    }


def test_render_fills_variables_in_nested_strings_only():
    context = {"date": "2026-11-22", "weekday": "Sunday", "time": "08:00", "digest": "M"}
    value = {"q": "Weather for {{date}} ({{ weekday }})", "n": 3, "l": ["{{ digest }}", True]}
    assert placeholders.render(value, context) == {
        "q": "Weather for 2026-11-22 (Sunday)",
        "n": 3,
        "l": ["M", True],
    }


def test_unknown_variables_are_reported():
    assert schedule.unknown_variables({"a": "{{ date }} {{ citty }}", "b": ["{{x}}"]}) == [
        "citty",
        "x",
    ]
