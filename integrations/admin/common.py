"""Small helpers shared by the admin modules."""

from __future__ import annotations

import json

from django import forms
from django.utils.html import format_html


def pretty_json(value) -> str:
    if value in (None, "", {}, []):
        return "—"
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
    return format_html('<pre style="white-space:pre-wrap;margin:0">{}</pre>', text)


def mask_secret(value: str, *, keep: int = 4) -> str:
    """Enough to recognise a key, never enough to use it."""
    if not value:
        return "—"
    prefix = "app-" if value.startswith("app-") else ""
    tail = value[-keep:] if len(value) > keep + len(prefix) + 6 else ""
    return f"{prefix}••••••••{tail}"


class SecretInput(forms.PasswordInput):
    """A password box that never sends the stored secret back to the browser."""

    def __init__(self, attrs=None):
        super().__init__(
            attrs={"autocomplete": "off", "size": 60, **(attrs or {})}, render_value=False
        )


def keep_secret_when_blank(form: forms.ModelForm, field: str) -> str:
    """On edit, an empty secret box means 'keep the stored one'."""
    value = form.cleaned_data.get(field, "")
    if not value and form.instance.pk:
        return getattr(form.instance, field)
    return value
