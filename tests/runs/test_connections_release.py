"""Before an outbound request a worker thread gives back the pooled database connections it
is not using (runs/connections.py, registered with the HTTP layer in apps.py); a connection
of the process's own (the web's persistent one, SQLite's) is kept."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from integrations.http.client import _BEFORE_REQUEST
from integrations.runs.connections import release_pooled_connections

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_hub_registers_the_release_with_the_http_layer():
    assert release_pooled_connections in _BEFORE_REQUEST


def test_a_connection_not_from_a_pool_is_kept():
    assert not (connection.settings_dict.get("OPTIONS") or {}).get("pool")
    connection.ensure_connection()
    raw = connection.connection
    release_pooled_connections()
    assert connection.connection is raw  # no reconnect for the web's own connection


@pytest.fixture
def pooled():
    """The default connection as a worker has it: from a psycopg pool (hub/settings.py with
    HUB_PROCESS=worker-…)."""
    saved = {key: connection.settings_dict.get(key) for key in ("CONN_MAX_AGE", "OPTIONS")}
    connection.close()
    connection.settings_dict.update(
        CONN_MAX_AGE=0, OPTIONS={**(saved["OPTIONS"] or {}), "pool": {"min_size": 1, "max_size": 2}}
    )
    try:
        yield connection
    finally:
        connection.close()
        connection.close_pool()
        connection.settings_dict.update(saved)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="connection pools are PostgreSQL's (psycopg_pool)"
)
def test_a_pooled_connection_goes_back_unless_a_transaction_holds_it(pooled):
    with transaction.atomic():
        pooled.ensure_connection()
        release_pooled_connections()
        assert pooled.connection is not None  # in use by the transaction: kept
    release_pooled_connections()
    assert pooled.connection is None  # idle: back in the pool
    with pooled.cursor() as cursor:  # and the next query takes one from it again
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
