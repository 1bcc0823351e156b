"""Reading the headers services use to say "wait before trying again". Pure."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

# A reset header below this is a delay in seconds; above, a Unix time (GitLab documents the
# latter, some proxies send the former).
_EPOCH_THRESHOLD = 1_000_000_000


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A header's value whatever the case of its name (plain dicts included), stripped."""
    if not headers:
        return None
    lowered = name.lower()
    for key, value in headers.items():
        if str(key).lower() == lowered:
            return str(value).strip()
    return None


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _http_date_delay(value: str, now: float) -> float | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return None if when is None else max(0.0, when.timestamp() - now)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """RFC 9110 Retry-After: delta-seconds or an HTTP date; seconds from now, never negative."""
    if not value or not value.strip():
        return None
    value = value.strip()
    number = _number(value)
    if number is not None:
        return max(0.0, number)
    return _http_date_delay(value, time.time() if now is None else now)


def reset_delay(value: str | None, now: float | None = None) -> float | None:
    """A rate-limit reset header (RateLimit-Reset, x-ratelimit-reset): a Unix time in seconds,
    or, when small, a delay in seconds."""
    number = _number(value.strip()) if value and value.strip() else None
    if number is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, number - now) if number >= _EPOCH_THRESHOLD else max(0.0, number)


def retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds to wait as the answer's headers say: Retry-After first, then the common
    rate-limit reset headers. None when they say nothing."""
    now = time.time() if now is None else now
    wait = parse_retry_after(header(headers, "retry-after"), now)
    if wait is not None:
        return wait
    for name in ("ratelimit-reset", "x-ratelimit-reset"):
        wait = reset_delay(header(headers, name), now)
        if wait is not None:
            return wait
    value = header(headers, "ratelimit-resettime")  # GitLab: an HTTP date
    return _http_date_delay(value, now) if value else None
