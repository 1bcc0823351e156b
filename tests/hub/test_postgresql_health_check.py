"""The web's persistent PostgreSQL connection is checked before each request without a round
trip while its socket is quiet, and with Django's `SELECT 1` as soon as anything arrived on
it: a backend the server ended is caught before the request's first query (hub/postgresql)."""

from __future__ import annotations

import select

import pytest
from django.db import connection

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="hub/postgresql is the PostgreSQL backend"
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def other():
    """A second connection, to watch and to end the hub's one."""
    raw = connection.get_new_connection(connection.get_connection_params())
    raw.autocommit = True
    yield raw
    raw.close()


def last_query(other, pid: int) -> str:
    return other.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0]


def wait_readable(timeout_ms: int = 10_000) -> None:
    poller = select.poll()
    poller.register(connection.connection.pgconn.socket, select.POLLIN)
    assert poller.poll(timeout_ms), "the server sent nothing within the timeout"


def test_the_settings_use_the_hubs_backend():
    assert connection.settings_dict["ENGINE"] == "hub.postgresql"


def test_a_quiet_connection_is_usable_without_a_query(other):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'before the check'")
    pid = connection.connection.info.backend_pid
    assert connection.is_usable()
    assert last_query(other, pid) == "SELECT 'before the check'"  # no SELECT 1 was sent


def test_anything_unread_falls_back_to_djangos_select_1(other):
    with connection.cursor() as cursor:
        cursor.execute("LISTEN hub_health_check")
    pid = connection.connection.info.backend_pid
    other.execute("NOTIFY hub_health_check")
    wait_readable()
    assert connection.is_usable()
    assert last_query(other, pid) == "SELECT 1"
    with connection.cursor() as cursor:
        cursor.execute("UNLISTEN *")


def test_a_backend_the_server_ended_is_replaced_before_the_next_query(other):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    pid = connection.connection.info.backend_pid
    other.execute("SELECT pg_terminate_backend(%s)", [pid])
    wait_readable()  # the server's FATAL message and the end of the stream
    assert not connection.is_usable()
    connection.health_check_done = False  # as at the start of a request
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
