"""The language a digest writes its day in: `{{ weekday }}` and `{{ date }}`. Pure: no Django.

English keeps the hub's first values exactly (Wednesday, 2026-12-02), so digests written before
languages existed send what they always sent. The other languages take their names and their
date pattern from the Unicode CLDR through Babel rather than from tables of our own: CLDR is
what the platforms' own calendars use, so 星期三 and 2026年12月2日 read as a local would write
them. The *long* date pattern is the one used: it reads naturally in a greeting (ja's medium
pattern is 2026/12/02, and the full one repeats the weekday).
"""

from __future__ import annotations

import re
from datetime import date

from babel.dates import format_date, get_day_names, get_month_names

__all__ = ["CHOICES", "CODES", "ENGLISH", "local_names", "long_date", "weekday"]

ENGLISH = "en"
# (code, name in its own language): the admin's choices and the `language` key of `hub apply`.
CHOICES = (
    (ENGLISH, "English"),
    ("zh-hans", "简体中文"),
    ("ja", "日本語"),
    ("ko", "한국어"),
)
CODES = tuple(code for code, _ in CHOICES)
# Babel's locale for each code but English, which keeps the hub's own ISO forms.
_LOCALES = {"zh-hans": "zh_Hans", "ja": "ja", "ko": "ko"}
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_NAMES = re.compile(r"\b(" + "|".join(_WEEKDAYS + _MONTHS) + r")\b")


def weekday(day: date, language: str) -> str:
    """The day's full weekday name: Wednesday, 星期三, 水曜日, 수요일."""
    locale = _LOCALES.get(language)
    if locale is None:  # English, or a code a form has not validated yet
        return _WEEKDAYS[day.weekday()]
    return format_date(day, "EEEE", locale=locale)


def long_date(day: date, language: str) -> str:
    """The day as the language writes it: 2026-12-02 (English), 2026年12月2日, 2026년 12월 2일."""
    locale = _LOCALES.get(language)
    if locale is None:
        return day.isoformat()
    return format_date(day, "long", locale=locale)


def local_names(text: str, language: str) -> str:
    """English weekday and month names in `text` in the language's own (CLDR) words:
    "Monday 到 Friday" becomes "星期一 到 星期五". English text comes back as it was."""
    locale = _LOCALES.get(language)
    if locale is None:
        return text
    days = get_day_names("wide", locale=locale)  # 0 is Monday
    months = get_month_names("wide", locale=locale)  # 1 is January
    local = {name: days[i] for i, name in enumerate(_WEEKDAYS)}
    local |= {name: months[i + 1] for i, name in enumerate(_MONTHS)}
    return _NAMES.sub(lambda m: local[m.group(1)], text)
