"""Retry delays: exponential backoff with jitter, bounded. Pure."""

from __future__ import annotations

import random


def retry_delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before try number `attempt + 1` (attempt counts from 1).

    "Equal jitter": half the exponential step is kept, half is random, so retries from many
    runs spread out but none comes back almost at once. A server's Retry-After is a floor.
    """
    step = min(cap, base * (2 ** max(0, attempt - 1)))
    delay = step / 2 + (rng or random).uniform(0, step / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay
