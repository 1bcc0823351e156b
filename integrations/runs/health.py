"""A recipient's health: its last error, and the deliveries that ended failed in a row.

Past the limit (the recipient's own "turn off after", else HUB_RECIPIENT_DISABLE_AFTER) the
hub turns the recipient off with the reason, as GitLab does with a webhook that keeps
failing, and the alert recipients are told. A delivered message resets the count (see
delivery._stamp_recipients), and so does turning the recipient on again (Recipient.save).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from integrations.models import Recipient
from integrations.runs import alerts


def record_error(recipient_id: int, error: str, *, final: bool) -> None:
    """Every failed attempt is the recipient's last error; a delivery that gave up counts."""
    fields: dict = {"last_error": error, "last_error_at": timezone.now()}
    if final:
        fields["consecutive_failures"] = F("consecutive_failures") + 1
    Recipient.objects.filter(pk=recipient_id).update(**fields)


def over_the_limit() -> Q:
    """Recipients whose failures in a row reached their limit (0 means never)."""
    own = Q(disable_after__gt=0, consecutive_failures__gte=F("disable_after"))
    default = settings.HUB_RECIPIENT_DISABLE_AFTER
    if default > 0:
        own |= Q(disable_after__isnull=True, consecutive_failures__gte=default)
    return own


def turn_off_if_failing(recipient_id: int, name: str) -> bool:
    """Turn the recipient off when it is over its limit; True when this call did it."""
    now = timezone.now()
    failing = Recipient.objects.filter(over_the_limit(), pk=recipient_id, enabled=True)
    row = failing.values_list("consecutive_failures", "last_error").first()
    if row is None:
        return False
    count, last_error = row
    deliveries = "delivery" if count == 1 else "deliveries in a row"
    reason = f"{count} {deliveries} failed; the last: {last_error.rstrip('.')}"
    if not failing.update(enabled=False, disabled_at=now, disabled_reason=reason):
        return False  # another worker turned it off first
    alerts.report(
        f"recipient-off:{recipient_id}",
        f"recipient '{name}' was turned off",
        f"The hub turned off recipient '{name}': {reason}. Fix it, then turn it on again "
        "in the admin (Recipients).",
        about_recipient=recipient_id,
    )
    return True
