"""Small helpers shared by the admin modules."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.models import Permission
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Model
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone, translation
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext
from django_object_actions import DjangoObjectActions, action

from integrations.admin.audited import Audited
from integrations.zones import all_zones


def pretty_json(value) -> str:
    if value in (None, "", {}, []):
        return "—"
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
    return format_html('<pre class="hub-pre">{}</pre>', text)


def when(moment: datetime | None) -> str:
    """A time as people read it at a glance, "3 minutes ago", with the exact time (in the
    viewer's zone, with seconds) on hover: one format everywhere."""
    if moment is None:
        return "—"
    local = timezone.localtime(moment)
    exact = local.strftime("%Y-%m-%d %H:%M:%S %Z")
    return format_html(
        '<time datetime="{}" title="{}" data-hub-when>{}</time>',
        moment.isoformat(),
        exact,
        naturaltime(moment),
    )


def badge(label: str, css: str) -> str:
    """A state as a coloured word (the classes of hub.css), the same on every page."""
    return format_html('<strong class="{}">{}</strong>', css, label)


def mask_secret(value: str, *, keep: int = 4) -> str:
    """Enough to recognise a key, never enough to use it."""
    if not value:
        return "—"
    prefix = "app-" if value.startswith("app-") else ""
    tail = value[-keep:] if len(value) > keep + len(prefix) + 6 else ""
    return f"{prefix}••••••••{tail}"


class ZoneInput(forms.TextInput):
    """A time zone box: typing searches the IANA zones (a <datalist>: no script needed). On a
    new object, hub-admin.js puts the browser's zone in place of the hub's default."""

    template_name = "admin/integrations/widgets/zone_input.html"

    def __init__(self, attrs=None, *, fill_from_browser: bool = False):
        attrs = {"list": "hub-zones", "autocomplete": "off", "size": 30, **(attrs or {})}
        if fill_from_browser:
            attrs["data-browser-zone"] = "replace-default"
        super().__init__(attrs)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["zones"] = all_zones()
        return context


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


class QuickRowCheckbox:
    """The changelist's row checkbox, written out rather than rendered through the form
    widget's template: on a page of 100 runs Django's `action_checkbox` (a CheckboxInput
    rendered by the template engine for every row) was a quarter of the page's time
    (cProfile, docs/benchmarks.md). The same HTML; tests/admin/test_admin.py compares them."""

    def action_checkbox(self, obj: Model) -> str:
        label = format_html(gettext("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            label,
        )


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


# --- Who may press what: one rule for every button and bulk action --------------------------
#
# Each button (`button`, `page_button`) and bulk action (`bulk_action`) names the one
# permission it needs, e.g. "integrations.run_now" (the models' Meta.permissions; the groups
# "Operators" and "Viewers" of migration 0024_roles hold them as docs/security.md tables
# them). It is shown only to a user who holds that permission, and pressed by anyone else (a
# POST to its URL) it answers 403 and does nothing. Superusers hold every permission.


def may(request: HttpRequest, permission: str) -> bool:
    """The rule: an active staff user holding the permission."""
    user = request.user
    return bool(user.is_active and user.is_staff and user.has_perm(permission))


def needed_permission(function: Callable) -> str | None:
    """The permission a button or bulk action needs (None: not one of ours, e.g. Django's
    "Delete selected", which Django checks itself)."""
    return getattr(function, "hub_permission", None)


def refused(model_admin, request: HttpRequest, label: str, permission: str) -> TemplateResponse:
    """The 403 page for a button or action pressed without its permission."""
    app_label, _, codename = permission.partition(".")
    name = (
        Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        .values_list("name", flat=True)
        .first()
    )
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "title": gettext("Not allowed"),
        "opts": opts,
        "message": gettext(
            "“%(label)s” needs the permission “%(name)s” (%(permission)s), which your account "
            "does not have, so nothing was done. An administrator can add you to a group that "
            "has it (docs/security.md, “Roles”)."
        )
        % {"label": label, "name": name or permission, "permission": permission},
    }
    return TemplateResponse(request, "admin/integrations/not_allowed.html", context, status=403)


def _needs(permission: str, label: str, method: Callable, *, form_page: bool = False) -> Callable:
    """The permission check, then the press in the audit trail: every POST of a button or
    bulk action, but for a page with a form (`form_page`) only once it redirects, i.e. the
    form was valid and something was done."""

    @functools.wraps(method)
    def guarded(self, request: HttpRequest, target):
        if not may(request, permission):
            return refused(self, request, label, permission)
        response = method(self, request, target)
        done = not form_page or isinstance(response, HttpResponseRedirect)
        if request.method == "POST" and done:
            for obj in [target] if isinstance(target, Model) else target:
                self.log_pressed(request, obj, stored_text(label))
        return response

    guarded.hub_permission = permission
    return guarded


def stored_text(text) -> str:
    """What is written down (the audit trail, Django's history) stays in English, whatever
    language the person who pressed the button reads the admin in."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(text)


def button(label: str, description: str, *, permission: str, confirm: str = "") -> Callable:
    """A button on an object's page: a POST form, since every one of them changes
    something. `confirm` asks the browser to confirm first (integrations/static/integrations/
    hub-admin.js: the Content-Security-Policy runs no onclick= attribute)."""
    attrs = {"data-confirm": confirm} if confirm else None
    chosen = action(
        label=label, description=description, attrs=attrs, methods=("POST",), button_type="form"
    )
    return lambda method: chosen(_needs(permission, label, method))


def page_button(label: str, description: str, *, permission: str) -> Callable:
    """A button that opens a page of its own (a form to fill in before anything happens)."""
    chosen = action(label=label, description=description, methods=("GET", "POST"), button_type="a")
    return lambda method: chosen(_needs(permission, label, method, form_page=True))


def bulk_action(description: str, *, permission: str) -> Callable:
    """An action on the selected rows of a list page."""
    chosen = admin.action(description=description)
    return lambda method: chosen(_needs(permission, description, method))


class ObjectButtons(Audited, DjangoObjectActions):
    """The admin's buttons on an object's page (django-object-actions) and its bulk actions,
    under the one rule above; with every change and press in the audit trail (audited.py)."""

    def buttons_for(self, request: HttpRequest, obj: Model) -> list[str]:
        """The buttons that make sense for this object as it is (RunAdmin: by its state)."""
        return list(self.change_actions)

    def get_change_actions(self, request: HttpRequest, object_id: str, form_url: str):
        obj = self.get_object(request, object_id)
        if obj is None:
            return []
        return [
            name
            for name in self.buttons_for(request, obj)
            if may(request, needed_permission(getattr(self, name)))
        ]

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        return {
            name: entry
            for name, entry in actions.items()
            if needed_permission(entry[0]) is None or may(request, needed_permission(entry[0]))
        }


class ChecksOnSave:
    """Saving an object that is then checked (a Dify app, a review endpoint) gives one
    message: "saved, but the connection check failed: …", never a green "added successfully"
    beside a red failure."""

    def report_check(self, request: HttpRequest, name: str, ok: bool, summary: str, *, saved: bool):
        if ok:
            self.message_user(request, f"{name}: {summary}", messages.SUCCESS)
        elif saved:
            request.hub_check_failed = True
            self.message_user(
                request,
                gettext("“%(name)s” was saved, but the connection check failed: %(summary)s")
                % {"name": name, "summary": summary},
                messages.WARNING,
            )
        else:
            self.message_user(request, f"{name}: {summary}", messages.ERROR)

    def message_user(self, request: HttpRequest, message, level=messages.INFO, *args, **kwargs):
        if level == messages.SUCCESS and getattr(request, "hub_check_failed", False):
            return  # Django's "… was added successfully": the warning already says saved
        super().message_user(request, message, level, *args, **kwargs)


class HidesSecrets:
    """Leaves `secret_fields` off the page of a user who may only look: Django shows a
    read-only field's stored value, and for these that is the decrypted secret. (Whoever may
    change the object gets empty password boxes instead.) Admins define `sections`, not
    `get_fieldsets`."""

    secret_fields: tuple[str, ...] = ()

    def sections(self, request: HttpRequest, obj: Model | None = None) -> list:
        return super().get_fieldsets(request, obj)

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> list:
        sections = list(self.sections(request, obj))
        if self.has_change_permission(request, obj):
            return sections
        return [
            (name, {**options, "fields": _without(options["fields"], self.secret_fields)})
            for name, options in sections
        ]


def _without(fields, hidden: tuple[str, ...]) -> list:
    return [field for field in fields if field not in hidden]
