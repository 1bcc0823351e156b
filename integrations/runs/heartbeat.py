"""Which worker process holds a run, and whether it is still alive.

Each worker process writes a heartbeat row every few seconds from a background thread. The
engine records the holder (Celery node name and pid) on each run and delivery it works on.
A run still `running` whose holder has not beaten for STALE_AFTER seconds was orphaned (the
process was killed, ran out of memory, or its machine was lost), and the recovery sweep
reconciles it from Dify within a minute, whatever the app's run timeout says.

Each beat also says which runs and deliveries the process is working on right now. A run
held by a process that is alive but no longer working on it (its task ended in an error the
engine could not record, such as the database going away mid-run) is recovered the same way.

A process that is not a worker (tests, `manage.py`) has no identity: the runs it works on
have no holder and fall back to the run-timeout watchdog.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import close_old_connections, connections
from django.utils import timezone

from integrations.models import WorkerHeartbeat

log = logging.getLogger(__name__)

INTERVAL = 5.0  # seconds between beats
STALE_AFTER = timedelta(seconds=20)  # four missed beats: the process is gone

_identity = ""
_stop = threading.Event()
_thread: threading.Thread | None = None
_work_lock = threading.Lock()
_work: dict[str, dict[int, int]] = {"runs": {}, "deliveries": {}}  # id -> threads on it


def identity() -> str:
    """This process's name as a holder of runs, or "" when it is not a worker."""
    return _identity


def start(node_name: str = "") -> str:
    """Begin beating for this process (called when a worker process is ready)."""
    global _identity, _thread
    node = node_name or f"celery@{socket.gethostname()}"
    _identity = f"{node}:{os.getpid()}"[:200]
    _stop.clear()
    beat()
    _thread = threading.Thread(target=_beat_forever, name="hub-heartbeat", daemon=True)
    _thread.start()
    log.info("worker %s: beating every %.0f s", _identity, INTERVAL)
    return _identity


def stop() -> None:
    """Stop beating and remove the row: what this process still holds is recovered at once."""
    global _identity
    _stop.set()
    if _identity:
        try:
            WorkerHeartbeat.objects.filter(name=_identity).delete()
        except Exception:  # noqa: BLE001 - shutting down; the row goes stale anyway
            log.warning("could not remove the heartbeat of %s", _identity, exc_info=True)
    _identity = ""


@contextmanager
def working(kind: str, object_id: int) -> Iterator[None]:
    """Mark a run ("runs") or delivery ("deliveries") as being worked on by this process."""
    with _work_lock:
        _work[kind][object_id] = _work[kind].get(object_id, 0) + 1
    try:
        yield
    finally:
        with _work_lock:
            left = _work[kind].get(object_id, 1) - 1
            if left:
                _work[kind][object_id] = left
            else:
                _work[kind].pop(object_id, None)


def current_work() -> dict[str, list[int]]:
    with _work_lock:
        return {kind: sorted(ids) for kind, ids in _work.items()}


def beat(now: datetime | None = None) -> None:
    now = now or timezone.now()
    node, _, pid = _identity.rpartition(":")
    work = current_work()
    updated = WorkerHeartbeat.objects.filter(name=_identity).update(beat_at=now, work=work)
    if not updated:
        WorkerHeartbeat.objects.update_or_create(
            name=_identity,
            defaults={
                "hostname": node.split("@", 1)[-1],
                "pid": int(pid or 0),
                "started_at": now,
                "beat_at": now,
                "work": work,
            },
        )


def _beat_forever() -> None:
    while not _stop.wait(INTERVAL):
        try:
            close_old_connections()
            beat()
        except Exception:  # noqa: BLE001 - a database blip must not end the beating
            log.warning("heartbeat of %s failed; trying again", _identity, exc_info=True)
        finally:
            connections.close_all()  # this thread's connection only


def alive(now: datetime) -> set[str]:
    """The holders that beat recently enough to be trusted with their runs."""
    return set(beats(now))


@dataclass(frozen=True)
class Beat:
    beat_at: datetime
    work: dict

    def dropped(self, kind: str, object_id: int, held_since: datetime) -> bool:
        """True when this process has beaten twice since it took the object, without it in
        its work: it took it, then lost it (its task ended without recording the end)."""
        if held_since is None or self.beat_at < held_since + 2 * timedelta(seconds=INTERVAL):
            return False
        return object_id not in (self.work or {}).get(kind, [])


def beats(now: datetime) -> dict[str, Beat]:
    """The live processes (beat within STALE_AFTER) and what they said they work on."""
    rows = WorkerHeartbeat.objects.filter(beat_at__gte=now - STALE_AFTER)
    return {name: Beat(at, work) for name, at, work in rows.values_list("name", "beat_at", "work")}


def dead_on_this_host(node_name: str) -> set[str]:
    """Earlier processes of this same worker node whose pid no longer runs here: what they
    held can be recovered at once, without waiting for their heartbeat to go stale."""
    dead = set()
    for name, pid in WorkerHeartbeat.objects.filter(name__startswith=f"{node_name}:").values_list(
        "name", "pid"
    ):
        if pid != os.getpid() and not _pid_alive(pid):
            dead.add(name)
    return dead


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget(names: set[str]) -> None:
    WorkerHeartbeat.objects.filter(name__in=names).delete()
