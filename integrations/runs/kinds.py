"""What differs between kinds of run (digest, review, manual), registered in one place.

A kind may prepare a run's inputs before Dify is called (a review reads the merge request)
and follow up on a success (a digest starts its deliveries). Kinds register themselves in
`IntegrationsConfig.ready()`, so this package never imports the packages built on it.

A composer builds the message a succeeded run sends (raising OutputError when no output
can be picked); it is called again when a failed delivery is retried.

A preparer returns the inputs, or raises:
- `NotReady`: what the run needs is not there yet (GitLab still preparing a diff); look
  again later without counting an attempt;
- `RunEnded`: the run should not go ahead at all (the MR was merged meanwhile);
- `Finished`: the run's result is there without calling Dify (a review made of parts, once
  every part has ended);
- any HubError: decided on its fields like an error from Dify (retryable or not).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction

from integrations.dify import RunResult
from integrations.runs.outputs import OutputError

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from integrations.models import Run


class NotReady(Exception):
    """Look again later without counting an attempt; the preparer decides when to give up."""

    def __init__(self, message: str, *, waits: int, delay: float) -> None:
        super().__init__(message)
        self.message = message
        self.waits = waits  # how many times this run has waited so far, this one included
        self.delay = delay  # seconds until the next look


class RunEnded(Exception):
    """The run should not go ahead: it ends with this status and explanation."""

    def __init__(self, status: str, code: str, message: str, *, source: str = "hub") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.source = source


class Finished(Exception):
    """The run is done without a call to Dify: store this result as if Dify had sent it."""

    def __init__(self, result: RunResult) -> None:
        super().__init__(result.status)
        self.result = result


@dataclass(frozen=True)
class RunKind:
    prepare: Callable[[Run], dict] | None = None
    # Called inside the transaction that marked the run succeeded.
    after_success: Callable[[Run], None] | None = None
    # The message a succeeded run sends, from its outputs and its settings as they are now
    # (for a delivery retried after the settings changed); raises OutputError.
    compose: Callable[[Run], dict] | None = None
    # Called (after commit) when a run ended failed, or reached only some of its recipients
    # or none: the kind may raise an alert (a digest does; an alert never does).
    after_trouble: Callable[[int], None] | None = None


_KINDS: dict[str, RunKind] = {}


def register(kind: str, behaviour: RunKind) -> None:
    _KINDS[kind] = behaviour


def prepare(run: Run) -> dict:
    """The inputs to send to Dify for this attempt."""
    behaviour = _KINDS.get(run.kind)
    if behaviour is None or behaviour.prepare is None:
        return run.inputs
    return behaviour.prepare(run)


def after_success(run: Run) -> None:
    behaviour = _KINDS.get(run.kind)
    if behaviour is not None and behaviour.after_success is not None:
        behaviour.after_success(run)


def compose(run: Run) -> dict:
    behaviour = _KINDS.get(run.kind)
    if behaviour is None or behaviour.compose is None:
        raise OutputError("this kind of run sends nothing")
    return behaviour.compose(run)


def after_trouble(run_id: int, kind: str) -> None:
    """Once the current transaction commits, tell the kind its run ended in trouble."""
    behaviour = _KINDS.get(kind)
    if behaviour is not None and behaviour.after_trouble is not None:
        hook = behaviour.after_trouble
        transaction.on_commit(lambda: _safely(hook, run_id))


def _safely(hook: Callable[[int], None], run_id: int) -> None:
    try:
        hook(run_id)
    except Exception:  # an alert that cannot be raised must not fail the run's own work
        log.exception("run %s: raising its alert failed", run_id)
