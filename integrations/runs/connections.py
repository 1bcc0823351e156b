"""Database connections around long outbound calls.

A worker thread waiting seconds for Dify (or a chat service) would otherwise hold one of the
database's connections all that time; with a thread pool of 100 that exhausts PostgreSQL's
default of 100 connections. Closing the idle connection first costs one reconnect (a few ms
on a LAN) and lets the pool be sized for the I/O, not for the database.
"""

from __future__ import annotations

from django.db import InterfaceError, OperationalError, connections

# The database cannot be reached (restarting, failing over): nothing can be recorded now, so
# such an error is never turned into a failed run or delivery; the task ends, and the
# recovery sweep picks the work up once the database is back (runs/recovery.py).
DATABASE_DOWN = (OperationalError, InterfaceError)


def release_idle_connections() -> None:
    """Close this thread's database connections unless a transaction is open on them."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()
