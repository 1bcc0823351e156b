"""The language of what the hub writes itself to people outside the admin: its alerts, the
recipients' test message, the note on an email cut short. One language for the whole hub,
HUB_LANGUAGE (en, zh-hans or ja), whoever is looking at the admin when it happens:

    with hub_language():
        title = gettext("recipient '%(name)s' was turned off") % {"name": name}

What Dify writes, logs and stored error messages are left as they are.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation


def hub_language() -> translation.override:
    """A context manager: gettext inside it answers in HUB_LANGUAGE."""
    return translation.override(settings.HUB_LANGUAGE)
