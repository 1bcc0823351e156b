from __future__ import annotations

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from integrations.admin.common import ObjectButtons, bulk_action
from integrations.models import HubAPIKey


@admin.register(HubAPIKey)
class HubAPIKeyAdmin(ObjectButtons, admin.ModelAdmin):
    list_display = ("name", "shown_prefix", "scope", "created_at", "last_used_at", "state")
    list_filter = ("scope", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "=prefix")
    readonly_fields = ("shown_prefix", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke_action",)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "scope")
        return ("name", "scope", "shown_prefix", "created_at", "last_used_at", "revoked_at")

    @admin.display(description=_("Key"), ordering="prefix")
    def shown_prefix(self, obj: HubAPIKey) -> str:
        return f"{obj.prefix}_…" if obj.prefix else "—"

    @admin.display(description=_("State"), ordering="revoked_at")
    def state(self, obj: HubAPIKey) -> str:
        if obj.revoked_at:
            return format_html(
                '<span class="hub-bad">revoked {}</span>',
                timezone.localtime(obj.revoked_at).strftime("%Y-%m-%d %H:%M"),
            )
        return format_html('<span class="hub-good">{}</span>', "active")

    def save_model(self, request, obj: HubAPIKey, form, change: bool) -> None:
        key = None if change else obj.set_new_key()
        super().save_model(request, obj, form, change)
        if key:
            # Kept on this request only: the key page is the POST's own response. A flash
            # message would put the key into the messages cookie, which is signed, not
            # encrypted, so anyone who sees the cookie could read the key.
            request.hub_new_key = key

    def response_add(self, request, obj: HubAPIKey, post_url_continue=None):
        key = getattr(request, "hub_new_key", "")
        if not key:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": f"The API key for {obj.name}",
            "opts": self.model._meta,
            "original": obj,
            "key": key,
        }
        response = TemplateResponse(request, "admin/integrations/hubapikey/key.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @bulk_action(
        _("Revoke selected keys (they stop working at once)"),
        permission="integrations.change_hubapikey",
    )
    def revoke_action(self, request, queryset):
        now = timezone.now()
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=now)
        text = gettext("Revoked %(count)s key(s).")
        self.message_user(request, text % {"count": count}, messages.SUCCESS)
