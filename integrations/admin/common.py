"""Small helpers shared by the admin modules."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Model
from django.http import HttpRequest
from django.utils.functional import cached_property
from django.utils.html import format_html
from django_object_actions import DjangoObjectActions, action


def pretty_json(value) -> str:
    if value in (None, "", {}, []):
        return "—"
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
    return format_html('<pre class="hub-pre">{}</pre>', text)


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


class LargeTablePaginator(Paginator):
    """Pages through tables of millions of rows without counting every row.

    Django's admin counts the (filtered) rows to number the pages; on a million runs that
    COUNT(*) costs more than the page itself. Unfiltered, PostgreSQL's planner estimate is
    used once it is large; filtered, the count stops at COUNT_CAP (the page list then ends
    there, and a narrower filter or the search reaches older rows).
    """

    COUNT_CAP = 1_000

    @cached_property
    def count(self) -> int:
        query = self.object_list
        if not query.query.where and connection.vendor == "postgresql":
            estimate = _estimated_rows(query.model._meta.db_table)
            if estimate > self.COUNT_CAP:
                return estimate
        return query[: self.COUNT_CAP + 1].count()


def _estimated_rows(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] and row[0] > 0 else 0


class ObjectButtons(DjangoObjectActions):
    """The admin's buttons on an object's page (django-object-actions), one permission rule:
    a button works for whoever may change the object (`may_act`); anyone else is told so,
    and nothing happens."""

    def may_act(self, request: HttpRequest, obj: Model) -> bool:
        return self.has_change_permission(request, obj)

    def get_change_actions(self, request: HttpRequest, object_id: str, form_url: str):
        actions = super().get_change_actions(request, object_id, form_url)
        obj = self.get_object(request, object_id)
        return actions if obj is not None and self.may_act(request, obj) else ()


def _guarded(method: Callable) -> Callable:
    @functools.wraps(method)
    def guarded(self: ObjectButtons, request: HttpRequest, obj: Model):
        if not self.may_act(request, obj):
            name = obj._meta.verbose_name_plural
            self.message_user(request, f"You may look at {name}, not change them.", messages.ERROR)
            return None
        return method(self, request, obj)

    return guarded


def button(label: str, description: str, *, confirm: str = "") -> Callable:
    """A button on an object's page: a POST form, since every one of them changes
    something. `confirm` asks the browser to confirm first (integrations/static/integrations/
    hub-admin.js: the Content-Security-Policy runs no onclick= attribute)."""
    attrs = {"data-confirm": confirm} if confirm else None
    chosen = action(
        label=label, description=description, attrs=attrs, methods=("POST",), button_type="form"
    )
    return lambda method: chosen(_guarded(method))


def page_button(label: str, description: str) -> Callable:
    """A button that opens a page of its own (a form to fill in before anything happens)."""
    chosen = action(label=label, description=description, methods=("GET", "POST"), button_type="a")
    return lambda method: chosen(_guarded(method))
