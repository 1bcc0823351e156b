"""The admin's door to the audit trail (integrations/audit.py).

Django's own history (LogEntry) records adds, changes and deletes made through the admin's
forms; this mixin records each of them in the hub's audit trail too, with the names of the
fields whose stored values really changed (a secret left blank in its password box is kept,
so it is not "changed"), and the buttons and bulk actions with their labels (common.py calls
`log_pressed`), in both. An object's History page shows its whole trail, whatever the door.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.admin.options import get_content_type_for_model
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import translation

from integrations import audit
from integrations.models import AuditEntry

HISTORY_ROWS = 200


def changed_fields(before: Model | None, after: Model) -> list[str]:
    """The concrete fields whose values differ (all of them for a new object), without the
    primary key and the automatic timestamps."""
    names = []
    for field in after._meta.concrete_fields:
        if field.primary_key or getattr(field, "auto_now", False):
            continue
        if before is None or field.value_from_object(before) != field.value_from_object(after):
            names.append(field.name)
    return names


class Audited:
    """For a ModelAdmin: every save, delete and button press is an AuditEntry (door "admin",
    the user's username)."""

    def save_model(self, request: HttpRequest, obj: Model, form, change: bool) -> None:
        before = type(obj)._default_manager.filter(pk=obj.pk).first() if change else None
        super().save_model(request, obj, form, change)
        many = [f.name for f in obj._meta.many_to_many if f.name in form.changed_data]
        request.hub_audit_fields = [*changed_fields(before, obj), *many]

    def log_addition(self, request: HttpRequest, obj: Model, message):
        entry = super().log_addition(request, obj, message)
        _record(request, "created", obj, getattr(request, "hub_audit_fields", ()))
        return entry

    def log_change(self, request: HttpRequest, obj: Model, message):
        entry = super().log_change(request, obj, message)
        fields = getattr(request, "hub_audit_fields", None)
        if fields is None:  # a page of Django's own without save_model, e.g. a new password
            fields = _labels(message)
        if fields:  # a form that changed nothing is no change
            _record(request, "changed", obj, fields)
        return entry

    def log_deletions(self, request: HttpRequest, queryset: Iterable[Model]):
        objects = list(queryset)
        entries = super().log_deletions(request, objects)
        for obj in objects:
            _record(request, "deleted", obj)
        return entries

    def log_pressed(self, request: HttpRequest, obj: Model, label: str) -> None:
        """A button or bulk action done on `obj`: in Django's history and the audit trail."""
        super().log_change(request, obj, f"Pressed “{label}”.")
        _record(request, label, obj)

    def history_view(self, request: HttpRequest, object_id: str, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        entries = AuditEntry.objects.filter(
            object_type=self.opts.model_name, object_id=str(obj.pk)
        )[:HISTORY_ROWS]
        context = {
            **self.admin_site.each_context(request),
            "title": f"History: {obj}",
            "subtitle": None,
            "object": obj,
            "opts": self.opts,
            "entries": entries,
            "limit": HISTORY_ROWS,
            "content_type_id": get_content_type_for_model(obj).pk,
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/integrations/audit_history.html", context)


def _labels(message) -> list[str]:
    """The changed fields' labels from Django's change message ([{"changed": {"fields": …}}])."""
    if not isinstance(message, list):
        return []
    return [label for part in message for label in part.get("changed", {}).get("fields", [])]


def _record(request: HttpRequest, action: str, obj: Model, fields: Iterable[str] = ()) -> None:
    # Written once, read in any language: in English, like every door's entries (a run's
    # name says its kind and status in words).
    with translation.override(settings.LANGUAGE_CODE):
        audit.record(audit.Door.ADMIN, request.user.get_username(), action, obj, fields=fields)
