"""django-celery-beat's DatabaseScheduler, without its blind spot at start-up.

The stock scheduler reads every task at start-up, then writes its own entries (the
``celery.backend_cleanup`` task) and only then learns the change stamp
(``PeriodicTasks.last_update``) it compares against; and the first stamp it learns counts as
"no change". A digest saved between the start-up read and that moment (a user saving just as
beat (re)starts, a deploy, ``hub apply`` beside a restart, seen here in CI on a loaded machine)
stayed invisible to the running beat until its five-minute full sync, and the catch-up sweep
ran its slots late. Here the stamp is taken before the start-up read, so anything saved after
that read is a change; a database with no stamp yet (a fresh or flushed one) likewise counts
its first stamp as a change.
"""

from __future__ import annotations

from django_celery_beat.schedulers import DatabaseScheduler


class HubScheduler(DatabaseScheduler):
    _stamp_taken = False

    def setup_schedule(self) -> None:
        # Before the start-up read: a change after this stamp is newer than what was read.
        self._last_timestamp = self.Changes.last_change()
        self._stamp_taken = True
        super().setup_schedule()

    def schedule_changed(self) -> bool:
        before = self._last_timestamp
        if super().schedule_changed():
            return True
        # The stock rule needs a stamp to compare with; with none at start-up, the first one to
        # appear is a save that happened after the start-up read.
        return self._stamp_taken and before is None and self._last_timestamp is not None
