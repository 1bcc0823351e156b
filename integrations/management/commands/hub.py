"""`python manage.py hub <command>`: operator commands for dify-hub."""

from __future__ import annotations

import os
import secrets
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from integrations.apps_check import check_app
from integrations.digests.firing import run_now
from integrations.models import DifyApp, Digest, GitLabEndpoint, Recipient, Run
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

    def handle(self, *args, command: str, **options) -> None:
        handler = {
            "run-digest": self.run_digest,
            "check-app": self.check_app,
            "ensure-admin": self.ensure_admin,
            "rotate-keys": self.rotate_keys,
        }[command]
        handler(**options)

    def run_digest(self, name: str, wait: bool, timeout: float, **_) -> None:
        digest = Digest.objects.filter(name=name).first()
        if digest is None:
            known = ", ".join(Digest.objects.values_list("name", flat=True)) or "none yet"
            raise CommandError(f"No digest named '{name}'. Digests: {known}.")
        run = run_now(digest, requested_by="manage.py hub run-digest", now=timezone.now())
        self.stdout.write(f"Run #{run.pk} queued for digest '{name}'.")
        if not wait:
            return
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
            raise CommandError(
                f"Run #{run.pk} is still {run.get_status_display().lower()} after "
                f"{timeout:.0f} s; {hint}"
            )
        for delivery in run.deliveries.all():
            line = f"  {delivery.recipient_name}: {delivery.get_status_display()}"
            self.stdout.write(f"{line} ({delivery.error})" if delivery.error else line)
        line = f"Run #{run.pk} {run.get_status_display().lower()}"
        if run.status == Run.Status.SUCCEEDED:
            self.stdout.write(self.style.SUCCESS(line + "."))
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
                (GitLabEndpoint, ["access_token", "signing_secret"]),
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
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} row(s) with the first key."))


def _raw_rows(table: str, fields: list[str]):
    from django.db import connection

    with connection.cursor() as cursor:
        columns = ", ".join(connection.ops.quote_name(f) for f in fields)
        cursor.execute(f"SELECT id, {columns} FROM {connection.ops.quote_name(table)}")
        return cursor.fetchall()


def _raw_update(table: str, pk: int, updates: dict[str, str]) -> None:
    from django.db import connection

    assignments = ", ".join(f"{connection.ops.quote_name(f)} = %s" for f in updates)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(table)} SET {assignments} WHERE id = %s",
            [*updates.values(), pk],
        )
