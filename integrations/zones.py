"""IANA time zones: the list people choose from, and "did you mean …?" for a near miss
("Shanghai", "asia/shanghai", "Europe/Berln"). Pure: no Django."""

from __future__ import annotations

import difflib
from functools import cache
from zoneinfo import available_timezones

# Cities people type that are no zone's name: the tz database names one city per zone (China
# is all Asia/Shanghai, Japan Asia/Tokyo), and this hub's users are often there.
CITY_ZONES = {
    "beijing": "Asia/Shanghai",
    "peking": "Asia/Shanghai",
    "guangzhou": "Asia/Shanghai",
    "shenzhen": "Asia/Shanghai",
    "hangzhou": "Asia/Shanghai",
    "chengdu": "Asia/Shanghai",
    "nanjing": "Asia/Shanghai",
    "wuhan": "Asia/Shanghai",
    "osaka": "Asia/Tokyo",
    "kyoto": "Asia/Tokyo",
    "yokohama": "Asia/Tokyo",
    "busan": "Asia/Seoul",
}


@cache
def all_zones() -> tuple[str, ...]:
    """Every zone name Python's tz database has, sorted; the old aliases (US/Eastern…) too,
    as they are valid names, though the area/city ones come first in suggestions."""
    return tuple(sorted(available_timezones()))


def suggestions(name: str, limit: int = 3) -> list[str]:
    """Zone names a person probably meant by `name`, best first (empty when none is near)."""
    typed = name.strip().replace(" ", "_")
    if not typed:
        return []
    zones = all_zones()
    lowered = {zone.lower(): zone for zone in zones}
    if typed.lower() in lowered:  # only the case is off
        return [lowered[typed.lower()]]
    cities = [z for z in zones if z.rsplit("/", 1)[-1].lower() == typed.lower()]
    if cities:  # "Shanghai" -> Asia/Shanghai
        return sorted(cities, key=lambda z: ("/" not in z, z))[:limit]
    if typed.lower() in CITY_ZONES:
        return [CITY_ZONES[typed.lower()]]
    close = difflib.get_close_matches(typed, zones, n=limit, cutoff=0.75)
    by_city = difflib.get_close_matches(
        typed.lower(), [z.rsplit("/", 1)[-1].lower() for z in zones], n=limit, cutoff=0.8
    )
    found = close + [z for z in zones if z.rsplit("/", 1)[-1].lower() in by_city]
    return list(dict.fromkeys(found))[:limit]
