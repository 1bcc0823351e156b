"""`python manage.py hub <command>`: operator commands for dify-hub."""

from __future__ import annotations

import argparse
import os
import secrets
import time
from functools import partial

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from integrations import audit, cli, retention
from integrations.checks.dify_app import check_app
from integrations.config.apply import apply_file, plan_file, render_plan
from integrations.config.export import export_config
from integrations.config.loader import ConfigError
from integrations.digests.firing import run_now
from integrations.lockout.unlock import unlock
from integrations.models import DifyApp, Digest, HubAPIKey, Recipient, ReviewEndpoint, Run
from integrations.models.fields import rotate


class Command(BaseCommand):
    help = "dify-hub operator commands."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
        digest = sub.add_parser("run-digest", help="Run a digest now and deliver its output.")
        digest.add_argument("name", help="The digest's name.")
        digest.add_argument("--wait", action="store_true", help="Wait until the run has ended.")
        digest.add_argument("--timeout", type=float, default=600, help="Seconds to wait (600).")
        check = sub.add_parser("check-app", help="Check a Dify app's connection, cache its form.")
        check.add_argument("name")
        sub.add_parser("ensure-admin", help="Create the 'admin' superuser if none exists.")
        sub.add_parser("rotate-keys", help="Re-encrypt every secret with the first key.")
        runs = sub.add_parser("runs", help="List runs, newest first.")
        runs.add_argument("--json", action="store_true", help="A JSON array, as the REST API.")
        runs.add_argument("--status", choices=Run.Status.values)
        runs.add_argument("--kind", choices=Run.Kind.values)
        runs.add_argument("--source", help="A digest's or review endpoint's name, or a source.")
        runs.add_argument("--limit", type=positive_int, default=20, help="At most N runs (20).")
        sub.add_parser(
            "check",
            help="Check every app (GET /info, mode), recipient, digest and review endpoint (GET /user).",
        )
        apikey = sub.add_parser("apikey", help="Create or revoke a REST API key.")
        apikey_sub = apikey.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = apikey_sub.add_parser("create", help="Create a key and print it, once.")
        create.add_argument("name")
        create.add_argument("--scope", choices=HubAPIKey.Scope.values, required=True)
        revoke = apikey_sub.add_parser("revoke", help="Revoke a key: it stops working at once.")
        revoke.add_argument("name")
        apply = sub.add_parser(
            "apply",
            help="Create or update apps, recipients, digests and "
            "review endpoints from a YAML file, in one transaction.",
        )
        apply.add_argument("file", help="The YAML file.")
        apply.add_argument("--dry-run", action="store_true", help="Show the plan, change nothing.")
        apply.add_argument(
            "--prune", action="store_true", help="Also delete what the file's sections do not name."
        )
        apply.add_argument(
            "--check",
            action="store_true",
            help="First read each app's mode and input form from Dify, and check the digests "
            "and endpoints on it against them.",
        )
        sub.add_parser("export", help="Print the configuration as YAML for `hub apply`.")
        prune = sub.add_parser(
            "prune",
            help="Drop webhook payloads past HUB_EVENT_PAYLOAD_DAYS and runs past "
            "HUB_RETENTION_DAYS (what the nightly task does).",
        )
        prune.add_argument("--dry-run", action="store_true", help="Count what would go.")
        stop = sub.add_parser(
            "stop", help="Stop a queued run at once, or ask Dify to stop a running one."
        )
        stop.add_argument("run", type=positive_int, help="The run's id.")
        retry = sub.add_parser("retry", help="Run an ended run again, as a new linked run.")
        retry.add_argument("run", type=positive_int, help="The run's id.")
        redeliver = sub.add_parser(
            "redeliver",
            help="Send an ended run's output again where it failed, without running Dify again.",
        )
        redeliver.add_argument("run", type=positive_int, help="The run's id.")
        unlock_ = sub.add_parser(
            "unlock",
            help="Let a username log in again at once after too many failed logins.",
        )
        unlock_.add_argument("user", help="The username, as typed on the login page.")
        unlock_.add_argument("--ip", help="Only its lock on logins from this address.")

    def handle(self, *args, command: str, **options) -> None:
        handler = {
            "run-digest": self.run_digest,
            "check-app": self.check_app,
            "ensure-admin": self.ensure_admin,
            "rotate-keys": self.rotate_keys,
            "runs": self.runs,
            "check": self.check_all,
            "apikey": self.apikey,
            "apply": self.apply_config,
            "export": self.export_yaml,
            "prune": self.prune_history,
            "stop": partial(self.run_action, "stop"),
            "retry": partial(self.run_action, "retry"),
            "redeliver": partial(self.run_action, "redeliver"),
            "unlock": self.unlock_login,
        }[command]
        handler(**options)

    def run_digest(self, name: str, wait: bool, timeout: float, **_) -> None:
        digest = Digest.objects.filter(name=name).first()
        if digest is None:
            known = ", ".join(Digest.objects.values_list("name", flat=True)) or "none yet"
            raise CommandError(f"No digest named '{name}'. Digests: {known}.")
        run = run_now(digest, requested_by="manage.py hub run-digest", now=timezone.now())
        _audit("ran now", digest, note=f"run #{run.pk}")
        queued = f"Run #{run.pk} queued for digest '{name}'."
        if not wait:
            self.stdout.write(queued)
            return
        # With --wait, stdout carries only the run as JSON (as `hub runs --json`); the rest
        # goes to stderr.
        self.stderr.write(queued)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run.refresh_from_db()
            if run.is_final:
                break
            time.sleep(0.5)
        else:
            hint = (
                "is a worker running?"
                if run.status == Run.Status.QUEUED and not run.attempts
                else f"see the run in the admin ({run.error_message or 'no error so far'})"
            )
            self.stdout.write(cli.run_json(run))
            raise CommandError(
                f"Run #{run.pk} is still {run.get_status_display().lower()} after "
                f"{timeout:.0f} s; {hint}"
            )
        self.stdout.write(cli.run_json(run))
        line = f"Run #{run.pk} {run.get_status_display().lower()}"
        if run.status == Run.Status.SUCCEEDED:
            self.stderr.write(self.style.SUCCESS(line + "."))
            return
        raise CommandError(f"{line}: {run.error_message}")

    def check_app(self, name: str, **_) -> None:
        app = DifyApp.objects.filter(name=name).first()
        if app is None:
            raise CommandError(f"No Dify app named '{name}'.")
        report = check_app(app)
        if not report.ok:
            raise CommandError(f"{name}: {report.summary}")
        self.stdout.write(self.style.SUCCESS(f"{name}: {report.summary}"))

    def ensure_admin(self, **_) -> None:
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            self.stdout.write("A superuser exists; not creating one.")
            return
        password = os.environ.get("HUB_ADMIN_PASSWORD", "")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        users.objects.create_superuser("admin", email="", password=password)
        if generated:
            self.stdout.write(
                self.style.WARNING(
                    "Created the admin account 'admin' with the password below. It is shown "
                    f"this once; change it in the admin.\n\n    password: {password}\n"
                )
            )
        else:
            self.stdout.write(
                "Created the admin account 'admin' (password from HUB_ADMIN_PASSWORD)."
            )

    def rotate_keys(self, **_) -> None:
        count = 0
        with transaction.atomic():
            for model, fields in (
                (DifyApp, ["api_key"]),
                (Recipient, ["webhook_url", "secret"]),
                (ReviewEndpoint, ["access_token", "signing_secret", "github_app_private_key"]),
            ):
                # Raw SQL: the ORM would hand back plaintext, rotation needs the ciphertext.
                table = model._meta.db_table
                for pk, *tokens in _raw_rows(table, fields):
                    updates = {
                        field: rotate(token)
                        for field, token in zip(fields, tokens, strict=True)
                        if token
                    }
                    if updates:
                        _raw_update(table, pk, updates)
                        count += 1
            _audit("re-encrypted every secret", note=f"{count} row(s), with the first key")
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} row(s) with the first key."))

    def apply_config(self, file: str, dry_run: bool, prune: bool, check: bool, **_) -> None:
        try:
            if dry_run:
                plan = plan_file(file, prune=prune, check=check)
            else:
                plan = apply_file(file, prune=prune, check=check, actor=audit.os_user())
        except ConfigError as exc:
            raise CommandError(f"{exc}\nNothing was changed.") from None
        self.stdout.write(render_plan(plan, dry_run=dry_run), ending="")

    def export_yaml(self, **_) -> None:
        self.stdout.write(export_config(), ending="")

    def prune_history(self, dry_run: bool, **_) -> None:
        now = timezone.now()
        if dry_run:
            self.stdout.write(f"Would remove {retention.count(now).summary()}.")
            return
        done = retention.prune(now)
        self.stdout.write(self.style.SUCCESS(f"Removed {done.summary()} in {done.seconds:.1f} s."))

    def runs(self, json: bool, status, kind, source, limit: int, **_) -> None:
        runs = cli.list_runs(status=status, kind=kind, source=source, limit=limit)
        if json:
            self.stdout.write(cli.runs_json(runs))
        elif runs:
            self.stdout.write(cli.runs_table(runs))
        else:
            self.stdout.write("No runs.")

    def run_action(self, command: str, run: int, **_) -> None:
        try:
            said = cli.RUN_ACTIONS[command](run, by=f"`hub {command}` ({audit.os_user()})")
        except cli.CLIError as exc:
            raise CommandError(str(exc)) from None
        _audit(f"{command} run", object_type="run", object_id=str(run), object_repr=said)
        self.stdout.write(self.style.SUCCESS(said))

    def check_all(self, **_) -> None:  # not `check`: BaseCommand.check runs the system checks
        problems = 0
        for finding in cli.check_everything():
            if finding.ok:
                self.stdout.write(f"ok       {finding.text}")
            else:
                problems += 1
                self.stderr.write(self.style.ERROR(f"PROBLEM  {finding.text}"))
        if problems:
            raise CommandError(f"{problems} problem(s) found.")
        self.stdout.write(self.style.SUCCESS("Everything checks out."))

    def apikey(self, action: str, name: str, scope: str | None = None, **_) -> None:
        try:
            if action == "create":
                api_key, key = cli.create_api_key(name, scope)
                _audit("created", api_key, fields=["name", "scope"])
                self.stdout.write(
                    f"Created the API key '{api_key.name}' (scope {api_key.scope}). It is shown "
                    f"this once; store it now:\n\n    {key}\n\n"
                    "Use it as: Authorization: Bearer <key>"
                )
                return
            api_key, revoked_now = cli.revoke_api_key(name)
        except cli.CLIError as exc:
            raise CommandError(str(exc)) from None
        if revoked_now:
            _audit("revoked", api_key)
        if revoked_now:
            self.stdout.write(self.style.SUCCESS(f"Revoked the API key '{api_key.name}'."))
        else:
            self.stdout.write(
                f"The API key '{api_key.name}' was revoked already "
                f"({api_key.revoked_at:%Y-%m-%d %H:%M} UTC)."
            )

    def unlock_login(self, user: str, ip: str | None, **_) -> None:
        try:
            done = unlock(user, ip=ip)
        except cli.CLIError as exc:
            raise CommandError(str(exc)) from None
        if done.records:
            _audit("unlocked login", object_type="login", object_repr=user, note=done.summary())
            self.stdout.write(self.style.SUCCESS(done.summary()))
        else:
            self.stdout.write(done.summary())


def _audit(action: str, obj=None, **details) -> None:
    """An entry in the audit trail for what a `hub` command changed, as the OS user."""
    audit.record(audit.Door.COMMAND, audit.os_user(), action, obj, **details)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got '{text}'")
    return value


def _raw_rows(table: str, fields: list[str]):
    with connection.cursor() as cursor:
        columns = ", ".join(connection.ops.quote_name(f) for f in fields)
        cursor.execute(f"SELECT id, {columns} FROM {connection.ops.quote_name(table)}")
        return cursor.fetchall()


def _raw_update(table: str, pk: int, updates: dict[str, str]) -> None:
    assignments = ", ".join(f"{connection.ops.quote_name(f)} = %s" for f in updates)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(table)} SET {assignments} WHERE id = %s",
            [*updates.values(), pk],
        )
