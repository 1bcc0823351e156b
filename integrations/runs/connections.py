"""Database connections around long outbound calls.

A worker thread waiting seconds for Dify (or a chat service) would otherwise hold one of the
database's connections all that time, and a worker process's 100 threads share a pool of 2
(settings: HUB_DB_POOL_SIZE). Closing the idle connection first gives it back to the pool, so
the pool is sized for the threads in their database phase, not for those waiting on I/O.
Without a pool (SQLite; HUB_DB_POOL_SIZE=0) closing costs one reconnect afterwards.
"""

from __future__ import annotations

from django.db import InterfaceError, OperationalError, connections

# The database cannot be reached (restarting, failing over): nothing can be recorded now, so
# such an error is never turned into a failed run or delivery; the task ends, and the
# recovery sweep picks the work up once the database is back (runs/recovery.py).
DATABASE_DOWN = (OperationalError, InterfaceError)


def release_idle_connections() -> None:
    """Give back (close) this thread's database connections unless a transaction is open."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


def release_pooled_connections() -> None:
    """Before any outbound HTTP request: give back this thread's idle connections that came
    from a pool (a worker's; HUB_DB_POOL_SIZE). A connection of its own (the web's
    persistent one, SQLite's) is kept: closing it would cost a reconnect and free nothing."""
    for connection in connections.all(initialized_only=True):
        pooled = (connection.settings_dict.get("OPTIONS") or {}).get("pool")
        if pooled and not connection.in_atomic_block and connection.connection is not None:
            connection.close()
