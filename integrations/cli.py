"""What `manage.py hub runs | check | apikey` do; the command module only parses arguments."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC

from django.db import IntegrityError

from integrations.apps_check import check_app
from integrations.channels.base import OptionsError
from integrations.gitlab.check import check_endpoint
from integrations.models import DifyApp, GitLabEndpoint, HubAPIKey, Recipient, Run
from integrations.runs.listing import filter_runs, for_presenting
from integrations.runs.present import present_run


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
        run.app.name,
        f"{delivered}/{len(deliveries)}" if deliveries else "—",
        source,
    )


# --- hub check ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    ok: bool
    text: str


def check_everything() -> list[Finding]:
    """Every app's /info and mode, every recipient's configuration, every GitLab endpoint's
    token (GET /user); nothing is sent."""
    findings = [check_one_app(app) for app in DifyApp.objects.order_by("name")]
    findings += [check_recipient(r) for r in Recipient.objects.order_by("name")]
    findings += [check_one_endpoint(e) for e in GitLabEndpoint.objects.order_by("name")]
    return findings


def check_one_endpoint(endpoint: GitLabEndpoint) -> Finding:
    label = f"GitLab endpoint '{endpoint.name}'{'' if endpoint.enabled else ' (disabled)'}"
    report = check_endpoint(endpoint)
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
    return Finding(True, f"{label}: configuration complete")


def recipient_problem(recipient: Recipient) -> str | None:
    """What keeps the recipient from being sent to, or None; never quotes the URL."""
    try:
        cls = recipient.transport_class()
    except KeyError:
        return f"unknown kind '{recipient.kind}'"
    if not (recipient.webhook_url or "").strip():
        return "no webhook URL; set one in the admin"
    try:
        cls(recipient.webhook_url, recipient.options or {}, recipient.secret or "")
    except OptionsError as exc:
        return f"{exc}; fix it in the admin"
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
