"""GitLab's recorded answers (``tests/fixtures/gitlab/api/``) and the small helpers that turn
them into bytes on the wire: JSON encoding, reset headers relative to now, ids and SHAs."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gitlab" / "api"

_TEMPLATES: dict[str, Any] = {}


def load_fixture(name: str) -> dict:
    """A fixture file: ``{"status", "headers", "body", "source", ...}``."""
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def template(name: str) -> Any:
    """A fresh copy of a fixture's body (the fake fills in its own values)."""
    if name not in _TEMPLATES:
        _TEMPLATES[name] = load_fixture(name)["body"]
    return copy.deepcopy(_TEMPLATES[name])


def encode_body(body: Any) -> bytes:
    """Bytes as given, text as UTF-8, anything else as GitLab's compact JSON."""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def relative_headers(relative: dict[str, float], now: float) -> dict[str, str]:
    """Reset headers as now + N s: a Unix time for RateLimit-Reset, an HTTP date otherwise."""
    out = {}
    for name, seconds in relative.items():
        when = now + float(seconds)
        out[name] = (
            formatdate(when, usegmt=True)
            if name.lower().endswith("time")
            else str(int(math.ceil(when)))
        )
    return out


def fixture_answer(name: str, now: float | None = None) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body bytes) of a fixture, with ``relative_headers`` made current."""
    data = load_fixture(name)
    headers = dict(data.get("headers", {}))
    headers.update(relative_headers(data.get("relative_headers", {}), now or time.time()))
    return data["status"], headers, encode_body(data["body"])


def now_iso(moment: float | None = None) -> str:
    """A timestamp as GitLab writes it: UTC, milliseconds, ``Z``."""
    stamp = datetime.fromtimestamp(time.time() if moment is None else moment, tz=UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def sha(seed: str) -> str:
    """A commit-like SHA, stable for a seed (so tests can predict it)."""
    return hashlib.sha1(seed.encode("utf-8")).hexdigest()


def bench_head_sha(project_id: int, iid: int) -> str:
    """The head commit of an MR made up on first use (``any_merge_request``, benchmarks)."""
    return sha(f"bench:{project_id}!{iid}")
