"""Carry out a plan in one transaction, and say what was (or would be) done."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from integrations import audit
from integrations.checks import CheckReport
from integrations.checks.dify_app import CHECKED_FIELDS, load_from_dify
from integrations.config.loader import ConfigError, load_file
from integrations.config.plan import (
    CHANGE,
    CREATE,
    DELETE,
    KEEP,
    UNCHANGED,
    Plan,
    Step,
    build_plan,
)
from integrations.config.schema import ORDER
from integrations.models import DifyApp

# Digests and endpoints go first (frees their slugs and their hold on apps), apps and
# recipients last (after the kept objects stopped pointing at them).
_DELETE_FIRST = ("digests", "gitlab_endpoints", "github_endpoints", "gitea_endpoints")
_DELETE_LAST = ("recipients", "dify_apps")


def plan_file(path: str, *, prune: bool = False, check: bool = False) -> Plan:
    """What `hub apply --dry-run` shows; stores nothing (--check reads from Dify)."""
    return build_plan(load_file(path), prune=prune, check=check)


def apply_file(path: str, *, prune: bool = False, check: bool = False, actor: str = "") -> Plan:
    """Apply `path`; either everything in it is applied or nothing is (ConfigError). Each
    change is recorded in the audit trail as `actor`'s (the OS user of `hub apply`)."""
    config = load_file(path)
    checks = _Checks()
    if check:
        # Dify is asked before the transaction opens, so no lock is held while it answers
        # (on SQLite that would be the one write lock); the planning inside replays it.
        build_plan(config, prune=prune, check=True, load=checks.ask_dify)
    try:
        with transaction.atomic():
            plan = build_plan(config, prune=prune, check=check, load=checks.replay)
            ids = {id(step): step.instance.pk for step in plan.steps}
            execute(plan)
            audit.record_plan(plan, actor or audit.os_user(), ids)
    except (IntegrityError, ProtectedError) as exc:
        raise ConfigError([f"{path}: nothing was applied: {exc}"]) from None
    return plan


class _Checks:
    """What --check read from Dify per app, so the plan made in the transaction reuses it."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[dict, CheckReport]] = {}

    def ask_dify(self, app: DifyApp) -> CheckReport:
        report = load_from_dify(app)
        self.seen[app.name] = ({name: getattr(app, name) for name in CHECKED_FIELDS}, report)
        return report

    def replay(self, app: DifyApp) -> CheckReport:
        if app.name not in self.seen:
            return self.ask_dify(app)
        fields, report = self.seen[app.name]
        for name, value in fields.items():
            setattr(app, name, value)
        return report


def execute(plan: Plan) -> None:
    for section in _DELETE_FIRST:
        _delete(plan.of(section, DELETE))
    for section in ORDER:
        for step in plan.of(section, CREATE, CHANGE):
            _save(step)
    for step in plan.of("dify_apps", UNCHANGED):
        if step.checked:  # what --check read from Dify is kept, as a check in the admin does
            step.instance.save(update_fields=CHECKED_FIELDS)
    for section in _DELETE_LAST:
        _delete(plan.of(section, DELETE))


def _save(step: Step) -> None:
    obj = step.instance
    obj.save()  # Django takes the id of an app saved earlier in this transaction
    if step.recipients is not None:
        obj.recipients.set(step.recipients)


def _delete(steps: list[Step]) -> None:
    for step in steps:
        step.instance.delete()


# --- what to print --------------------------------------------------------------------------

_SIGNS = {CREATE: "+", CHANGE: "~", UNCHANGED: "=", DELETE: "-", KEEP: "·"}
_DONE = {
    CREATE: "created",
    CHANGE: "changed",
    UNCHANGED: "unchanged",
    DELETE: "deleted",
    KEEP: "not in the file, kept",
}
_TO_DO = {
    CREATE: "to create",
    CHANGE: "to change",
    UNCHANGED: "unchanged",
    DELETE: "to delete",
    KEEP: "not in the file, kept; --prune would delete it",
}


def render_plan(plan: Plan, *, dry_run: bool) -> str:
    words = _TO_DO if dry_run else _DONE
    lines: list[str] = []
    for section in ORDER:
        steps = [s for s in plan.steps if s.section == section]
        if not steps:
            continue
        lines.append(f"{section}:")
        for step in steps:
            what = words[step.action] + (f", {step.note}" if step.note else "")
            lines.append(f"  {_SIGNS[step.action]} {step.name} ({what})")
            lines.extend(f"      {change.describe()}" for change in step.changes)
    counts = ", ".join(
        f"{plan.count(action)} {words[action].split(';')[0]}"
        for action in (CREATE, CHANGE, UNCHANGED, DELETE, KEEP)
        if plan.count(action) or action != KEEP
    )
    if dry_run:
        lines.append(f"Dry run of {plan.path}, nothing was changed: {counts}.")
    else:
        lines.append(f"Applied {plan.path}: {counts}.")
    lines.extend(_hints(plan, dry_run))
    return "\n".join(lines) + "\n"


def _unloaded(step: Step) -> bool:
    """An app of the file whose mode and form the hub has not read from this app's Dify."""
    if step.checked:
        return False
    app = step.instance
    moved = any(change.key in ("base_url", "api_key") for change in step.changes)
    return app.form_loaded_at is None or not app.mode or moved


def _hints(plan: Plan, dry_run: bool) -> list[str]:
    hints = []
    unloaded = [s.name for s in plan.of("dify_apps", CREATE, CHANGE, UNCHANGED) if _unloaded(s)]
    if unloaded:
        hints.append(
            "Apply does not call Dify unless asked: the mode and input form of "
            + ", ".join(f"'{name}'" for name in unloaded)
            + " are not loaded, so the digests and endpoints on them were not checked against "
            f"them. `python manage.py hub apply --check {plan.path}` loads and checks them."
        )
    if dry_run:
        return hints
    endpoints = [
        s.name
        for section in ("gitlab_endpoints", "github_endpoints", "gitea_endpoints")
        for s in plan.of(section, CREATE, CHANGE)
        if s.action == CREATE
        or any(
            c.key in ("gitlab_url", "github_url", "gitea_url", "access_token") for c in s.changes
        )
    ]
    if endpoints:
        hints.append(
            "Apply does not call the forges: run *Check connection* on "
            + ", ".join(f"'{name}'" for name in endpoints)
            + " in the admin to check the access token and learn the bot user."
        )
    return hints
