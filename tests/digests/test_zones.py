"""A time zone typed almost right gets "did you mean …?", from the digest form to hub apply."""

from __future__ import annotations

import pytest

from integrations.digests.schedule import ScheduleError, parse_zone
from integrations.zones import all_zones, suggestions


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("Shanghai", ["Asia/Shanghai"]),
        ("asia/shanghai", ["Asia/Shanghai"]),
        ("Beijing", ["Asia/Shanghai"]),
        ("Tokio", ["Asia/Tokyo"]),
        ("New York", ["America/New_York"]),
        ("Seoul", ["Asia/Seoul"]),
    ],
)
def test_a_near_miss_gets_the_zone_meant(typed, meant):
    assert suggestions(typed)[: len(meant)] == meant


def test_nothing_near_suggests_nothing():
    assert suggestions("the moon") == [] and suggestions("") == []


def test_the_error_says_did_you_mean():
    with pytest.raises(
        ScheduleError, match=r"'Shanghai' is not an IANA time zone; did you mean Asia/Shanghai\?"
    ):
        parse_zone("Shanghai")
    with pytest.raises(ScheduleError, match="for example Europe/Berlin"):
        parse_zone("Mars/Olympus")


def test_the_list_holds_the_zones_people_use():
    zones = all_zones()
    assert {"Asia/Shanghai", "Asia/Tokyo", "Europe/Berlin", "UTC"} <= set(zones)
    assert list(zones) == sorted(zones)
