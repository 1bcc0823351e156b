"""Publishing never raises, and after a failure it does not knock on the broker again for a
few seconds: a webhook answers GitLab at once while the broker is down."""

from __future__ import annotations

import socket
import threading

import pytest

from hub.celery import app as celery_app
from integrations.runs import dispatch


class CountingPort:
    """A port that accepts connections and closes them at once (a broker that is not Redis),
    counting how often it is tried."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def broken_broker():
    port = CountingPort()
    saved = celery_app.conf.broker_url, celery_app.conf.broker_transport
    celery_app.conf.broker_url = f"redis://127.0.0.1:{port.port}/0"
    celery_app.conf.broker_transport = None  # the file broker's transport would win
    _reset()
    dispatch.broker_recovered()
    yield port
    celery_app.conf.broker_url, celery_app.conf.broker_transport = saved
    _reset()
    dispatch.broker_recovered()
    port.close()


def _reset() -> None:
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def test_a_failed_publish_is_reported_and_the_next_ones_skip_the_broker(broken_broker, caplog):
    assert dispatch.publish(dispatch.EXECUTE_RUN, 1) is False
    tried = broken_broker.connections
    assert tried >= 1
    assert any("could not publish execute_run" in r.getMessage() for r in caplog.records)

    for run_id in range(2, 20):
        assert dispatch.publish(dispatch.EXECUTE_RUN, run_id) is False
    assert broken_broker.connections == tried  # not tried again during the back-off

    dispatch.broker_recovered()
    assert dispatch.publish(dispatch.EXECUTE_RUN, 20) is False
    assert broken_broker.connections > tried
