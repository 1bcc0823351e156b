"""Django's PostgreSQL backend with a health check that costs no round trip when it need not.

A web process keeps its connection between requests (CONN_MAX_AGE) and Django checks it
before each request's first query (CONN_HEALTH_CHECKS) with a `SELECT 1`: one more round
trip on every webhook, whose answer GitLab waits for. A connection the server has closed
(PostgreSQL restarted, the backend was terminated) always leaves something to read on its
socket: the server's FATAL message, or the end of the stream. So the check first asks the
kernel, without waiting, whether anything arrived since the last answer; only then (or when
it cannot tell) does it send Django's `SELECT 1`. A connection cut without a word (a network
partition) passes either check and fails on its first query, as before.
"""

from __future__ import annotations

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq


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
