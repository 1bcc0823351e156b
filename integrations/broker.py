"""The embedded broker: kombu's filesystem transport, made to survive its folders going away.

`make run` without REDIS_URL passes messages as files under var/broker. Stock kombu lets
a deleted folder crash the worker (os.listdir raises) and fails every publish; here each
read and write first re-creates the folders, and a folder that cannot be read is logged and
read as empty, so the worker keeps running and picks the messages up once it can. Lost
exchange bindings are made again, so no message is dropped for want of them.
"""

from __future__ import annotations

import logging
import os
import time

from kombu.transport import filesystem
from kombu.transport.virtual import Empty

log = logging.getLogger(__name__)

_WARN_EVERY = 60.0  # seconds between two warnings about an unreadable folder


class Channel(filesystem.Channel):
    _warned_at = 0.0

    def _folders(self) -> list[str]:
        folders = [self.data_folder_in, self.data_folder_out, str(self.control_folder)]
        if self.store_processed:
            folders.append(self.processed_folder)
        return folders

    def _ensure_folders(self) -> None:
        for folder in self._folders():
            os.makedirs(folder, exist_ok=True)

    def _warn(self, action: str, exc: OSError) -> None:
        now = time.monotonic()
        if now - Channel._warned_at >= _WARN_EVERY:
            Channel._warned_at = now
            log.error(
                "the file broker cannot %s %s (%s); fix its permissions or set REDIS_URL",
                action,
                self.data_folder_in,
                exc,
            )

    def _get(self, queue):
        try:
            self._ensure_folders()
            return super()._get(queue)
        except Empty:
            raise
        except OSError as exc:  # unreadable: keep the worker alive and try again later
            self._warn("read", exc)
            raise Empty() from None

    def _put(self, queue, payload, **kwargs):
        self._ensure_folders()
        return super()._put(queue, payload, **kwargs)

    def _queue_bind(self, *args, **kwargs):
        self._ensure_folders()
        return super()._queue_bind(*args, **kwargs)

    def _lookup(self, exchange, routing_key, default=None):
        if exchange and routing_key and not self.get_table(exchange):
            # The control folder went with the rest: bindings are lost, and stock kombu drops
            # the message. The hub's queues are direct exchanges named like their routing
            # key (Celery's default), so bind that queue again.
            self._queue_bind(exchange, routing_key, "", routing_key)
        return super()._lookup(exchange, routing_key, default)

    def _size(self, queue):
        try:
            self._ensure_folders()
            return super()._size(queue)
        except OSError as exc:
            self._warn("read", exc)
            return 0

    def _purge(self, queue):
        self._ensure_folders()
        return super()._purge(queue)


class Transport(filesystem.Transport):
    Channel = Channel
