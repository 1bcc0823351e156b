"""What `manage.py hub unlock USER [--ip ADDRESS]` does; the command only parses arguments."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from axes.helpers import get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from axes.utils import reset
from django.utils import timezone

from integrations.cli import CLIError


@dataclass(frozen=True)
class Unlocked:
    username: str
    ip: str | None
    records: int  # failed-login records removed
    addresses: tuple[str, ...]  # where those logins came from
    was_locked: bool  # one of them had reached the limit within the cool-off

    def summary(self) -> str:
        where = f" from {self.ip}" if self.ip else ""
        if not self.records:
            return f"No failed logins are recorded for '{self.username}'{where}; nothing to unlock."
        state = "was locked out" if self.was_locked else "was not locked out yet"
        return (
            f"'{self.username}' {state}{where}: removed {self.records} failed-login record(s) "
            f"(from {', '.join(self.addresses) or 'an unknown address'}). "
            "Logging in works again at once."
        )


def unlock(username: str, *, ip: str | None = None) -> Unlocked:
    """Forget the failed logins of this username (from this address only, with `ip`), so the
    lockout ends now. The username need not exist: failures are counted for any name typed."""
    if ip is not None:
        ip = _checked_address(ip)
    attempts = AccessAttempt.objects.filter(username=username)
    if ip:
        attempts = attempts.filter(ip_address=ip)
    addresses = tuple(sorted({a for a in attempts.values_list("ip_address", flat=True) if a}))
    # The limit as the login view would use it (a number here; the settings allow a callable).
    limit = get_failure_limit(None, {"username": username})
    recent = attempts.filter(attempt_time__gte=timezone.now() - get_cool_off())
    was_locked = recent.filter(failures_since_start__gte=limit).exists()
    records = reset(ip=ip, username=username)
    return Unlocked(username, ip, records, addresses, was_locked)


def _checked_address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise CLIError(
            f"'{text}' is not an IP address (e.g. 203.0.113.7 or 2001:db8::1)."
        ) from None
