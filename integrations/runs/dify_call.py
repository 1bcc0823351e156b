"""Calling Dify for one attempt of a run: the form first, then the run, the silence decided.

- The app's input form is read from Dify before the first call and whenever the cached one
  is older than HUB_DIFY_FORM_MAX_AGE, so inputs are checked against what Dify has now
  (`hub apply` never calls Dify, so an app it created has no form yet).
- A streaming call that gets no event within the app's first-event timeout is either a run
  Dify refused in silence (bad inputs: it never exists) or a run queued inside Dify (it is
  not in the logs until it starts). `SilenceWatch` tells them apart without re-POSTing:
  it reads the form again and checks the inputs (refused: fail now, 1 POST in all), and
  otherwise keeps the stream open while it looks for the run in Dify's logs.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from integrations.dify import (
    DifyError,
    DifyInputError,
    DifySilentRefusal,
    InputField,
    RunResult,
    form_to_json,
    validate_inputs,
)
from integrations.models import DifyApp, Run
from integrations.runs import lifecycle
from integrations.runs.connections import release_idle_connections

log = logging.getLogger(__name__)

# While a stream stays silent, look for the run in Dify's logs this often.
LOGS_POLL_SECONDS = 10.0


def trace_id(run: Run) -> str:
    # Dify accepts 1-128 chars of [A-Za-z0-9_-] and stores it as external_trace_id.
    return f"hub-run-{run.pk}"


def form_is_fresh(app: DifyApp, now: datetime) -> bool:
    if app.form_loaded_at is None:
        return False
    return now - app.form_loaded_at < timedelta(seconds=settings.HUB_DIFY_FORM_MAX_AGE)


def ensure_form(app: DifyApp) -> list[InputField]:
    """The app's input form as Dify has it now (one cheap GET when the cache is stale)."""
    now = timezone.now()
    if not form_is_fresh(app, now):
        with app.client() as client:
            parameters = client.parameters()  # a DifyError is decided on by the engine
        store_form(app, form_to_json(parameters.input_form), now)
    return app.fields


def store_form(app: DifyApp, form: list, now: datetime) -> None:
    app.input_form, app.form_loaded_at = form, now
    DifyApp.objects.filter(pk=app.pk).update(input_form=form, form_loaded_at=now)


def checked_inputs(app: DifyApp, inputs: dict) -> dict:
    """The inputs, checked and normalised against the form (DifyInputError if they do not
    fit: the hub refuses before calling Dify, and it is not an attempt)."""
    form = ensure_form(app)
    return validate_inputs(form, inputs) if form else inputs


class SilenceWatch:
    """Decides a silent stream; runs in the stream's watcher thread, so it does HTTP only
    (no database): what it finds is applied by the engine afterwards."""

    def __init__(self, app: DifyApp, run: Run, inputs: dict) -> None:
        self.app = app
        self.user = run.dify_user
        self.inputs = inputs
        self.since = (run.attempt_started_at or timezone.now()) - timedelta(seconds=5)
        self.checked = False
        self.found_run_id: str | None = None

    def __call__(self, waited: float) -> float:
        with self.app.client() as client:
            if not self.checked:
                self.checked = True
                parameters = client.parameters()
                try:
                    validate_inputs(parameters.input_form, self.inputs)
                except DifyInputError as exc:
                    raise DifySilentRefusal(
                        exc.problems, form_to_json(parameters.input_form)
                    ) from None
                log.info("run for %s: silent after %.0f s with valid inputs", self.user, waited)
            if self.found_run_id is None:
                entries = client.find_runs(user=self.user, created_after=self.since)
                if entries:
                    self.found_run_id = min(entries, key=lambda e: e.created_at).workflow_run_id
        return LOGS_POLL_SECONDS


def call(run: Run, inputs: dict) -> RunResult:
    """One call of the app for this run; DifyError subclasses when it did not succeed."""
    app = run.app
    streaming = app.response_mode == DifyApp.ResponseMode.STREAMING
    watch = SilenceWatch(app, run, inputs) if streaming else None

    def started(task_id: str | None, run_ref: str | None) -> None:
        lifecycle.record_ids(run, task_id, run_ref)
        release_idle_connections()  # the rest of the stream can take minutes

    release_idle_connections()
    try:
        with app.client() as client:
            return client.run_app(
                app.mode or DifyApp.Mode.WORKFLOW,
                dict(inputs),
                user=run.dify_user,
                trace_id=trace_id(run),
                response_mode=app.response_mode,
                query=run.query or None,
                on_started=started,
                on_silence=watch,
            )
    except DifySilentRefusal as exc:
        if exc.input_form is not None:
            store_form(app, exc.input_form, timezone.now())
        raise
    except DifyError as exc:
        if watch is not None and watch.found_run_id and not exc.workflow_run_id:
            exc.workflow_run_id = watch.found_run_id
            lifecycle.record_ids(run, None, watch.found_run_id)
        raise
