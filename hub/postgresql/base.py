"""Django's PostgreSQL backend with a health check that costs no round trip when it need not.

A web process keeps its connection between requests (CONN_MAX_AGE) and Django checks it
before each request's first query (CONN_HEALTH_CHECKS) with a `SELECT 1`: one more round
trip on every webhook, whose answer GitLab waits for. A connection the server has closed
(PostgreSQL restarted, the backend was terminated) always leaves something to read on its
socket: the server's FATAL message, or the end of the stream. So the check first asks the
kernel, without waiting, whether anything arrived since the last answer; only then (or when
it cannot tell) does it send Django's `SELECT 1`. A connection cut without a word (a network
partition) passes either check and fails on its first query, as before.

It also lets psycopg keep the parse of longer statements (`STATEMENT_CACHE_PARAMS`).
"""

from __future__ import annotations

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg import _queries, pq

# psycopg caches how it splits a statement around its placeholders only for statements of at
# most 50 parameters; longer ones are parsed again, with a regex, on every execute. A
# webhook's run and event are one INSERT of 52 parameters (runs/combined.py), so the web
# server parsed the same statement for every webhook: 9% of its CPU during the ingest
# benchmark (py-spy --gil, docs/benchmarks.md). The cache is psycopg's LRU of 128 statements
# keyed by their text, so a higher limit costs only memory. It is a private constant of
# psycopg (pinned in requirements.txt): tests/hub/test_postgresql_statement_cache.py fails
# first if it goes.
STATEMENT_CACHE_PARAMS = 100
if (
    getattr(_queries, "MAX_CACHED_STATEMENT_PARAMS", STATEMENT_CACHE_PARAMS)
    < STATEMENT_CACHE_PARAMS
):
    _queries.MAX_CACHED_STATEMENT_PARAMS = STATEMENT_CACHE_PARAMS


def nothing_to_read(connection) -> bool:
    """True when the psycopg connection is idle and its socket holds nothing unread."""
    pgconn = connection.pgconn
    if (
        connection.closed
        or pgconn.status != pq.ConnStatus.OK
        or pgconn.transaction_status != pq.TransactionStatus.IDLE
    ):
        return False
    try:
        poller = select.poll()
        poller.register(pgconn.socket, select.POLLIN | select.POLLPRI)
        return not poller.poll(0)
    except (psycopg.Error, OSError, ValueError):  # no socket: the real check decides
        return False


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is not None and nothing_to_read(self.connection):
            return True
        return super().is_usable()
