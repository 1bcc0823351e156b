from __future__ import annotations

from datetime import UTC, datetime


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)
