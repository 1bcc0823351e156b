"""What `manage.py hub runs | check | apikey | stop | retry | redeliver` do; the command
module only parses arguments."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC

from django.core.exceptions import ValidationError
from django.db import IntegrityError

from integrations.channels.base import OptionsError
from integrations.checks.dify_app import check_app
from integrations.checks.gitlab_endpoint import check_endpoint
from integrations.config.schema import LABELS, key_for_field
from integrations.models import DifyApp, Digest, HubAPIKey, Recipient, ReviewEndpoint, Run
from integrations.runs.listing import filter_runs, for_presenting
from integrations.runs.present import present_run
from integrations.runs.rerun import NotRedeliverable, RunNotFinal, redeliver, retry_run
from integrations.runs.stopping import NotStoppable, request_stop


class CLIError(Exception):
    """Reported by the command as a CommandError (message on stderr, exit status 1)."""


# --- hub runs -------------------------------------------------------------------------------


def list_runs(*, status: str | None, kind: str | None, source: str | None, limit: int) -> list[Run]:
    runs = filter_runs(Run.objects.all(), status=status, kind=kind, source=source)
    return list(for_presenting(runs)[:limit])


def runs_json(runs: list[Run]) -> str:
    return json.dumps([present_run(run) for run in runs], indent=2, ensure_ascii=False)


def run_json(run: Run) -> str:
    run = for_presenting(Run.objects.filter(pk=run.pk)).get()
    return json.dumps(present_run(run), indent=2, ensure_ascii=False)


TABLE_COLUMNS = ("ID", "CREATED (UTC)", "STATUS", "KIND", "APP", "DELIVERED", "SOURCE")


def runs_table(runs: list[Run]) -> str:
    rows = [TABLE_COLUMNS] + [table_row(run) for run in runs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_COLUMNS) - 1)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        + "  "
        + row[-1]
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)


def table_row(run: Run) -> tuple[str, ...]:
    deliveries = list(run.deliveries.all())
    delivered = sum(1 for d in deliveries if d.status == d.Status.DELIVERED)
    source = run.source if len(run.source) <= 60 else run.source[:59] + "…"
    return (
        str(run.pk),
        run.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        run.status,
        run.kind,
        run.app.name if run.app_id else "—",
        f"{delivered}/{len(deliveries)}" if deliveries else "—",
        source,
    )


# --- hub stop | retry | redeliver -----------------------------------------------------------


def _find_run(pk: int) -> Run:
    run = Run.objects.select_related("app", "digest", "review_endpoint").filter(pk=pk).first()
    if run is None:
        raise CLIError(f"No run #{pk}.")
    return run


def stop_run(pk: int, *, by: str) -> str:
    run = _find_run(pk)
    try:
        outcome = request_stop(run, by=by)
    except NotStoppable as exc:
        raise CLIError(str(exc)) from None
    if outcome == "cancelled":
        return f"Run #{pk} cancelled; it had not started."
    return (
        f"Run #{pk}: stop requested; Dify was asked to stop it, and the run ends cancelled "
        "when Dify confirms (see `hub runs`)."
    )


def retry(pk: int, *, by: str) -> str:
    try:
        new = retry_run(_find_run(pk))
    except RunNotFinal as exc:
        raise CLIError(str(exc)) from None
    return f"Run #{pk} retried as run #{new.pk} (queued)."


def redeliver_run(pk: int, *, by: str) -> str:
    try:
        count = redeliver(_find_run(pk))
    except NotRedeliverable as exc:
        raise CLIError(str(exc)) from None
    return f"Run #{pk}: {count} failed deliver{'y' if count == 1 else 'ies'} queued again."


RUN_ACTIONS = {"stop": stop_run, "retry": retry, "redeliver": redeliver_run}


# --- hub check ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    ok: bool
    text: str


def check_everything() -> list[Finding]:
    """Every app's /info and mode, every recipient's configuration, every review endpoint's
    token (GET /user); nothing is sent."""
    findings = [check_one_app(app) for app in DifyApp.objects.order_by("name")]
    findings += [check_recipient(r) for r in Recipient.objects.order_by("name")]
    # After the apps: their forms and modes were just read, so the settings on them are
    # checked against what Dify says now (and outputs against the last successful run).
    findings += [check_settings(d) for d in Digest.objects.select_related("app")]
    findings += [check_one_endpoint(e) for e in ReviewEndpoint.objects.order_by("name")]
    return findings


def check_settings(obj: Digest | ReviewEndpoint) -> Finding:
    """A digest's or endpoint's settings against its app: inputs, query, output to send."""
    section = "digests" if isinstance(obj, Digest) else f"{obj.forge}_endpoints"
    label = f"{LABELS[section]} '{obj.name}'"
    if not obj.enabled:
        label += " (disabled)"
    try:
        obj.full_clean(validate_unique=False)
    except ValidationError as exc:
        problems = [
            f"{key_for_field(section, name)}: {message}"
            for name, messages in exc.message_dict.items()
            for message in messages
        ]
        return Finding(False, f"{label}: {'; '.join(problems)}")
    return Finding(True, f"{label}: settings fit app '{obj.app.name}'")


def check_one_endpoint(endpoint: ReviewEndpoint) -> Finding:
    label = f"{endpoint.get_forge_display()} endpoint '{endpoint.name}'"
    label += "" if endpoint.enabled else " (disabled)"
    report = check_endpoint(endpoint)
    settings = check_settings(endpoint)
    if not settings.ok:
        return settings
    return Finding(report.ok, f"{label}: {report.summary}")


def check_one_app(app: DifyApp) -> Finding:
    label = f"app '{app.name}'{'' if app.enabled else ' (disabled)'}"
    report = check_app(app)
    return Finding(report.ok, f"{label}: {report.summary}")


def check_recipient(recipient: Recipient) -> Finding:
    label = f"recipient '{recipient.name}' ({recipient.kind or 'no kind'})"
    if not recipient.enabled:
        label += " (disabled)"
    problem = recipient_problem(recipient)
    if problem:
        return Finding(False, f"{label}: {problem}")
    if not recipient.enabled and recipient.disabled_at is not None:
        return Finding(
            False,
            f"{label}: turned off by the hub: {recipient.disabled_reason}; fix it, then turn "
            "it on again in the admin",
        )
    return Finding(True, f"{label}: configuration complete")


def recipient_problem(recipient: Recipient) -> str | None:
    """What keeps the recipient from being sent to, or None; never quotes the URL."""
    try:
        cls = recipient.transport_class()
    except KeyError:
        return f"unknown kind '{recipient.kind}'"
    if cls.url_required and not (recipient.webhook_url or "").strip():
        return f"no {cls.url_label}; set one in the admin"
    try:
        cls(recipient.webhook_url, recipient.options or {}, recipient.secret or "")
    except OptionsError as exc:
        # A setting of the hub's environment (EMAIL_URL) is not fixed in the admin.
        return str(exc) if "EMAIL_URL" in str(exc) else f"{exc}; fix it in the admin"
    return None


# --- hub apikey -----------------------------------------------------------------------------


def create_api_key(name: str, scope: str) -> tuple[HubAPIKey, str]:
    name = name.strip()
    if not name:
        raise CLIError("Give the key a name, e.g. 'ci'.")
    if HubAPIKey.objects.filter(name=name).exists():
        raise CLIError(
            f"An API key named '{name}' exists already (revoked keys keep their name); "
            "choose another name."
        )
    try:
        return HubAPIKey.create_key(name, scope)
    except IntegrityError:
        raise CLIError(f"An API key named '{name}' was created meanwhile.") from None


def revoke_api_key(name: str) -> tuple[HubAPIKey, bool]:
    """The key, and whether this call revoked it (False: it was revoked before)."""
    api_key = HubAPIKey.objects.filter(name=name).first()
    if api_key is None:
        known = ", ".join(HubAPIKey.objects.values_list("name", flat=True)) or "none yet"
        raise CLIError(f"No API key named '{name}'. Keys: {known}.")
    if api_key.revoked_at is not None:
        return api_key, False
    api_key.revoke()
    return api_key, True
