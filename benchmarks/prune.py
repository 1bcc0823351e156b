"""The pieces of `make bench`'s retention step (run.py's bench_prune): the history a prune
finds, a paced webhook load beside it, and what PostgreSQL's backends were doing meanwhile.

- load_history(): webhook events with their GitLab payloads (half past
  HUB_EVENT_PAYLOAD_DAYS) and delivery attempts, beside the run log's 1M runs.
- PacedLoad: webhooks at a steady rate over a few kept-alive connections (loadgen.py sends as
  fast as it can, which would measure a saturated web, not a nightly prune beside traffic).
- ActivitySampler: pg_stat_activity every 0.1 s for the prune's and the web's backends (told
  apart by PGAPPNAME): the longest transaction of the prune, what it waited on, and how often
  a web backend waited on a lock.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import statistics
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "gitlab" / "mr_open.json"
PRUNE_APP, WEB_APP = "bench-prune", "bench-web"
TABLES = {
    "runs": "integrations_run",
    "deliveries": "integrations_delivery",
    "attempts": "integrations_deliveryattempt",
    "events": "integrations_webhookevent",
}


# --- the history ----------------------------------------------------------------------------


def load_history(cursor, *, endpoint_id: int, events: int, spacing: int, runs: int) -> None:
    """`events` accepted MR events, one every `spacing` seconds back from now, oldest first
    (ids grow with time, as in a hub's life), each with the fixture's payload and headers;
    those as recent as the run log's runs point at the review run of their moment. Then an
    attempt for every other delivery of the run log."""
    fixture = json.loads(FIXTURE.read_text())
    headers = {k: v for k, v in fixture["headers"].items() if k != "X-Gitlab-Token"}
    cursor.execute(
        "SELECT min(id), max(id), count(*) FROM integrations_run WHERE source LIKE 'bench source %'"
    )
    first, last, found = cursor.fetchone()
    # The run log's run n (created n seconds ago) has id last + 1 - n when its ids are whole.
    linked = found == runs and last - first + 1 == runs
    cursor.execute(
        """
        INSERT INTO integrations_webhookevent (endpoint_id, event_name, idempotency_key,
            headers, payload, received_at, outcome, trigger, reason, merge_request_key,
            head_sha, run_id, duplicate_count)
        SELECT %(endpoint)s, 'Merge Request Hook', 'bench-prune-' || i, %(headers)s::jsonb,
               jsonb_set(%(body)s::jsonb, '{object_attributes,iid}', to_jsonb(i)),
               now() - (i * %(spacing)s || ' seconds')::interval, 'accepted', 'open', '',
               '1187!' || i, md5(i::text),
               CASE WHEN %(linked)s AND i * %(spacing)s <= %(runs)s
                    THEN %(last)s + 1 - i * %(spacing)s END, 0
        FROM generate_series(%(events)s, 1, -1) AS i
        """,
        {
            "endpoint": endpoint_id,
            "headers": json.dumps(headers),
            "body": json.dumps(fixture["body"]),
            "spacing": spacing,
            "linked": linked,
            "runs": runs,
            "last": last or 0,
            "events": events,
        },
    )
    cursor.execute(
        """
        INSERT INTO integrations_deliveryattempt (delivery_id, number, part, started_at,
            duration_ms, http_status, response_body, error, permanent)
        SELECT id, 1, 1, created_at, 120, 200, '{"success": true}', '', false
        FROM integrations_delivery
        WHERE recipient_name = 'room' AND kind = 'rocketchat' AND mod(id, 2) = 0
        """
    )


def vacuum(dsn: str) -> None:
    """As a table is between nightly prunes: visibility map set, hint bits written, analysed,
    and the load's WAL checkpointed (so its writes do not land in the baseline)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in TABLES.values():
            conn.execute(f"VACUUM (ANALYZE) {table}")
        # Not a superuser (nor pg_checkpoint): the checkpointer gets to it in its time.
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            conn.execute("CHECKPOINT")


def table_counts(cursor) -> dict[str, int]:
    out = {}
    for key, table in TABLES.items():
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - our table names
        out[key] = cursor.fetchone()[0]
    cursor.execute("SELECT count(*) FROM integrations_webhookevent WHERE payload IS NOT NULL")
    out["payloads"] = cursor.fetchone()[0]
    return out


SUMMARY = {
    "payloads": r"(\d+) webhook payloads",
    "runs": r"(\d+) runs with",
    "deliveries": r"(\d+) deliveries",
    "attempts": r"(\d+) attempts",
    "seconds": r" in ([\d.]+) s\.",
}


def parse_summary(text: str) -> dict[str, float]:
    """The figures of `hub prune`'s (or `--dry-run`'s) one line (Pruned.summary())."""
    found = {key: re.search(pattern, text) for key, pattern in SUMMARY.items()}
    return {key: float(match.group(1)) for key, match in found.items() if match}


# --- the load beside it ---------------------------------------------------------------------


class PacedLoad:
    """`rate` GitLab MR webhooks a second, sent on schedule by `connections` threads, each
    with one kept-alive connection; a request whose slot comes while every thread is still
    waiting for an answer goes late (counted). Records (sent at, seconds, status) per request."""

    def __init__(
        self, url: str, token: str, *, rate: float, connections: int, project: int, first_iid: int
    ) -> None:
        self.url, self.token, self.rate = urlsplit(url), token, rate
        self.project, self.first_iid = project, first_iid
        self.records: list[tuple[float, float, str, float]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._next = 0
        self._bodies: list[bytes] = []
        self._threads = [
            threading.Thread(target=self._run, daemon=True) for _ in range(connections)
        ]

    def __enter__(self) -> PacedLoad:
        self._began = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _take(self) -> tuple[int, float, bytes]:
        from benchmarks.loadgen import build_bodies

        with self._lock:
            index = self._next
            self._next += 1
            if not self._bodies:
                self._bodies = build_bodies(100, self.project, self.first_iid + index)[::-1]
            return index, self._began + index / self.rate, self._bodies.pop()

    def _run(self) -> None:
        conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=30)
        while not self._stop.is_set():
            _, due, body = self._take()
            late = time.monotonic() - due
            if late < 0 and self._stop.wait(-late):
                break
            sent = time.time()
            started = time.perf_counter()
            try:
                conn.request("POST", self.url.path, body=body, headers=self._headers())
                response = conn.getresponse()
                response.read()
                status = str(response.status)
            except (OSError, http.client.HTTPException):
                status = "error"
                conn.close()
                conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=30)
            with self._lock:
                self.records.append((sent, time.perf_counter() - started, status, max(late, 0)))
        conn.close()

    def _headers(self) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "X-Gitlab-Event": "Merge Request Hook",
            "X-Gitlab-Token": self.token,
            "Idempotency-Key": str(uuid.uuid4()),
            "User-Agent": "GitLab/18.9.1-ee",
        }

    def window(self, start: float, end: float) -> dict:
        """Figures of the requests sent between two time.time() moments."""
        from benchmarks.loadgen import percentile

        with self._lock:
            chosen = [r for r in self.records if start <= r[0] < end]
        times = sorted(r[1] for r in chosen)
        return {
            "requests": len(chosen),
            "seconds": round(end - start, 1),
            "rps": round(len(chosen) / (end - start), 1) if end > start else 0,
            "p50_ms": round(percentile(times, 50) * 1000, 1),
            "p99_ms": round(percentile(times, 99) * 1000, 1),
            "max_ms": round(times[-1] * 1000, 1) if times else 0,
            "late_over_100ms": sum(r[3] > 0.1 for r in chosen),
            "statuses": dict(Counter(r[2] for r in chosen)),
        }


# --- what PostgreSQL's backends did ---------------------------------------------------------


class ActivitySampler:
    """pg_stat_activity of the prune's and the web's backends every `interval` seconds."""

    QUERY = """
        SELECT application_name, pid, state, wait_event_type, wait_event,
               extract(epoch FROM clock_timestamp() - xact_start), xact_start, left(query, 90)
        FROM pg_stat_activity
        WHERE datname = current_database() AND application_name IN (%s, %s)
    """

    def __init__(self, dsn: str, interval: float = 0.1) -> None:
        self.dsn, self.interval = dsn, interval
        self.samples = 0
        self.prune_waits: Counter[str] = Counter()
        self.web_lock_waits: Counter[str] = Counter()
        self.web_active = 0
        self.first_delete_at: float | None = None  # when the runs' batches began
        self.transactions: dict[tuple[int, object], tuple[float, bool, str]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ActivitySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._stop.is_set():
                for row in conn.execute(self.QUERY, (PRUNE_APP, WEB_APP)).fetchall():
                    self._note(*row)
                self.samples += 1
                self._stop.wait(self.interval)

    def _note(self, app, pid, state, wait_type, wait, age, xact_start, query) -> None:
        if app == WEB_APP:
            self.web_active += state == "active"
            if wait_type == "Lock":
                self.web_lock_waits[f"{wait} ({query[:40]})"] += 1
            return
        if self.first_delete_at is None and query.lstrip().upper().startswith("DELETE"):
            self.first_delete_at = time.time()
        if state == "active":
            self.prune_waits[f"{wait_type}:{wait}" if wait_type else "CPU"] += 1
        if xact_start is not None and state != "idle":
            key = (pid, xact_start)
            longest, writes, statement = self.transactions.get(key, (0.0, False, ""))
            writes = writes or query.lstrip().upper().startswith(("UPDATE", "DELETE"))
            if age >= longest:
                longest, statement = float(age), query
            self.transactions[key] = (longest, writes, statement)

    def figures(self) -> dict:
        # A write is a batch (its transaction, or the one UPDATE of payloads); a read is the
        # autocommit SELECT of the next batch's ids, its own transaction.
        writes = sorted((a, q) for a, w, q in self.transactions.values() if w)
        reads = sorted((a, q) for a, w, q in self.transactions.values() if not w)
        seen = sum(self.prune_waits.values()) or 1
        return {
            "samples": self.samples,
            "write_transactions_seen": len(writes),
            "longest_write_seconds": round(writes[-1][0], 2) if writes else 0,
            "longest_write_statement": _short(writes[-1][1]) if writes else "",
            "median_write_seconds": round(statistics.median(a for a, _ in writes), 3)
            if writes
            else 0,
            "longest_read_seconds": round(reads[-1][0], 2) if reads else 0,
            "longest_read_statement": _short(reads[-1][1]) if reads else "",
            "prune_waits_share": {
                key: round(count / seen, 3) for key, count in self.prune_waits.most_common(6)
            },
            "web_lock_wait_samples": sum(self.web_lock_waits.values()),
            "web_lock_waits": dict(self.web_lock_waits.most_common(5)),
            "web_active_samples": self.web_active,
        }


def _short(statement: str) -> str:
    return " ".join(statement.split())
