"""A recipient's health: its last error, and the deliveries that ended failed in a row.

Past the limit (the recipient's own "turn off after", else HUB_RECIPIENT_DISABLE_AFTER) the
hub turns the recipient off with the reason, as GitLab does with a webhook that keeps
failing, and the alert recipients are told. A delivered message resets the count (see
delivery._stamp_recipients), and so does turning the recipient on again (Recipient.save).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from integrations.hub_language import hub_language
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
    # Stored in English, as every stored error is; the alert says it in the hub's language.
    with translation.override("en"):
        stored = _reason(count, last_error)
    if not failing.update(enabled=False, disabled_at=now, disabled_reason=stored):
        return False  # another worker turned it off first
    with hub_language():
        values = {"name": name, "reason": _reason(count, last_error)}
        title = gettext("recipient '%(name)s' was turned off") % values
        line = (
            gettext(
                "The hub turned off recipient '%(name)s': %(reason)s. Fix it, then turn it on "
                "again in the admin (Recipients)."
            )
            % values
        )
    alerts.report(f"recipient-off:{recipient_id}", title, line, about_recipient=recipient_id)
    return True


def _reason(count: int, last_error: str) -> str:
    return ngettext(
        "%(count)s delivery failed; the last: %(error)s",
        "%(count)s deliveries in a row failed; the last: %(error)s",
        count,
    ) % {"count": count, "error": last_error.rstrip(".")}
