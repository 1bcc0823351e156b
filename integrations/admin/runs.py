from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef, Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from integrations.admin import run_summary
from integrations.admin.common import (
    LargeTablePaginator,
    ObjectButtons,
    QuickRowCheckbox,
    badge,
    button,
    page_button,
    pretty_json,
    when,
)
from integrations.admin.inputs_form import AppInputsForm
from integrations.channels.registry import LABELS
from integrations.models import Delivery, Recipient, Run
from integrations.models.recipients import KIND_WORDS
from integrations.runs.rerun import NotRedeliverable, RunNotFinal, redeliver, retry_run
from integrations.runs.stopping import NotStoppable, request_stop

# Colours as classes of integrations/static/integrations/hub.css (no style= attributes under
# the Content-Security-Policy); queued and running are "hub-info".
STATUS_CLASSES = {
    Run.Status.SUCCEEDED: "hub-good",
    Run.Status.PARTIALLY_DELIVERED: "hub-warn",
    Run.Status.FAILED: "hub-bad",
    Run.Status.SKIPPED: "hub-muted",
    Run.Status.CANCELLED: "hub-muted",
    Run.Status.SUPERSEDED: "hub-muted",
}


# The "Times" section of a run's page (also read-only fields).
TIME_FIELDS = (
    "created_at",
    "started_at",
    "finished_at",
    "took",
    "next_attempt_at",
    "stop_requested_at",
    "stop_requested_by",
    "celery_task_id",
)


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DeliveryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = (
        "recipient_name",
        "kind_name",
        "status",
        "attempts",
        "parts_progress",
        "error",
        "tries",
    )
    readonly_fields = fields

    @admin.display(description=_("Kind"))
    def kind_name(self, obj: Delivery) -> str:
        return delivery_kind(obj.kind)

    @admin.display(description=_("Status"))
    def coloured_status(self, obj: Delivery) -> str:
        return badge(obj.get_status_display(), DELIVERY_CLASSES.get(obj.status, "hub-info"))

    show_change_link = True

    @admin.display(description=_("Parts sent"))
    def parts_progress(self, obj: Delivery) -> str:
        return f"{obj.parts_sent}/{obj.parts_total}" if obj.parts_total else "—"

    @admin.display(description=_("Attempts (time, HTTP status, answer)"))
    def tries(self, obj: Delivery) -> str:
        return attempts_table(obj)


DELIVERY_CLASSES = {Delivery.Status.DELIVERED: "hub-good", Delivery.Status.FAILED: "hub-bad"}

# What a delivery that is no recipient goes to, in words (the recipients' are in LABELS).
TARGET_LABELS = {
    "gitlab_note": _("GitLab note"),
    "gitlab_lines": _("GitLab line comments"),
    "pr_comment": _("Pull request comment"),
    "pr_inline": _("Pull request line comments"),
}


PART_HEADERS = (_("Part"), _("Run"), _("Status"), _("Dify run"), _("Tokens"), _("Files"))


def delivery_kind(kind: str) -> str:
    return KIND_WORDS.get(kind) or LABELS.get(kind) or TARGET_LABELS.get(kind) or kind


def attempts_table(delivery: Delivery) -> str:
    rows = [
        (
            attempt.number,
            attempt.part,
            attempt.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            attempt.duration_ms,
            attempt.http_status or "—",
            (attempt.response_body or "")[:200],
            attempt.error or "ok",
        )
        for attempt in delivery.attempt_rows.all()
    ]
    if not rows:
        return "—"
    return format_html(
        "<table><tr><th>#</th><th>part</th><th>at</th><th>ms</th><th>HTTP</th><th>answer</th>"
        "<th>result</th></tr>{}</table>",
        format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td>"
            "<td>{}</td></tr>",
            rows,
        ),
    )


def _cut(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


class RecipientFilter(admin.SimpleListFilter):
    """Runs that went (or tried to go) to one recipient, by the name a delivery keeps."""

    title = _("recipient")
    parameter_name = "recipient"

    def lookups(self, request, model_admin):
        names = Recipient.objects.order_by("name").values_list("name", flat=True)
        return [(name, name) for name in names]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        sent = Delivery.objects.filter(run=OuterRef("pk"), recipient_name=self.value())
        return queryset.filter(Exists(sent))


@admin.register(Run)
class RunAdmin(QuickRowCheckbox, ObjectButtons, ReadOnlyAdminMixin, admin.ModelAdmin):
    paginator = LargeTablePaginator
    show_full_result_count = False
    list_display = (
        "id",
        "coloured_status",
        "kind_label",
        "short_source",
        "app",
        "delivered",
        "short_error",
        "took",
        "total_tokens",
        "created",
    )
    list_filter = (
        "status",
        "kind",
        "app",
        "digest",
        "review_endpoint",
        RecipientFilter,
        ("created_at", admin.DateFieldListFilter),
    )

    def get_queryset(self, request):
        # The page's deliveries in one more query (prefetching runs after the page's slice);
        # the app's key is not shown, so not decrypted for every row.
        return super().get_queryset(request).prefetch_related("deliveries").defer("app__api_key")

    @admin.display(description=_("Kind"), ordering="kind")
    def kind_label(self, obj: Run) -> str:
        return obj.kind_label  # the "kind" field's column, without its choices dict per row

    @admin.display(description=_("Source"), ordering="source")
    def short_source(self, obj: Run) -> str:
        return format_html('<span title="{}">{}</span>', obj.source, _cut(obj.source, 40))

    @admin.display(description=_("Delivered"))
    def delivered(self, obj: Run) -> str:
        deliveries = list(obj.deliveries.all())
        if not deliveries:
            return "—"
        done = sum(1 for d in deliveries if d.status == Delivery.Status.DELIVERED)
        failed = [d.recipient_name for d in deliveries if d.status == Delivery.Status.FAILED]
        css = "hub-bad" if failed else ("hub-good" if done == len(deliveries) else "hub-info")
        why = gettext("not to %(names)s") % {"names": ", ".join(failed)} if failed else ""
        return format_html(
            '<span class="{}" title="{}">{}/{}</span>', css, why, done, len(deliveries)
        )

    @admin.display(description=_("Error"))
    def short_error(self, obj: Run) -> str:
        if not obj.error_message:
            return "—"
        return format_html(
            '<span title="{}">{}</span>', obj.error_message, _cut(obj.error_message, 60)
        )

    @admin.display(description=_("Created"), ordering="created_at")
    def created(self, obj: Run) -> str:
        return when(obj.created_at)

    # No date_hierarchy and no search in error texts: on millions of runs both scan the whole
    # table. The created-at filter narrows by date; ids and MR keys are matched exactly.
    search_fields = ("source",)
    search_help_text = (
        _("Part of the source (a digest or endpoint name, an MR), or exactly a Dify workflow run "
        "id or an MR key such as 1187!342.")
    )

    def get_search_results(self, request, queryset, search_term):
        """The whole phrase, not word by word: one indexed lookup per field (see the trigram
        index in migration 0006), so a search stays fast on millions of runs."""
        term = search_term.strip()
        if not term:
            return queryset, False
        # Only indexed columns: one unindexed column in the OR would scan the whole table.
        exact = Q(dify_workflow_run_id=term) | Q(merge_request_key=term)
        return queryset.filter(exact | Q(source__icontains=term)), False

    list_select_related = ("app",)
    inlines = (DeliveryInline,)
    change_form_template = "admin/integrations/run/change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, object_id)
        if run is not None:
            extra_context = {
                **(extra_context or {}),
                "summary": run_summary.build(run),
                "status_chip": self.coloured_status(run),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    fieldsets = (
        (
            None,
            {
                "fields": (
                    "coloured_status",
                    "kind",
                    "source",
                    "app",
                    "digest",
                    "slot",
                    "retry_of",
                    "retried_as",
                )
            },
        ),
        (_("Error"), {"fields": ("error_code", "error_text")}),
        (_("Data"), {"fields": ("inputs_json", "query", "outputs_json", "message_json")}),
        (
            _("Dify"),
            {
                "fields": (
                    "dify_user",
                    "dify_task_id",
                    "dify_workflow_run_id",
                    "attempts",
                    "waits",
                    "total_tokens",
                    "dify_elapsed",
                )
            },
        ),
        (
            _("Times"),
            {"fields": TIME_FIELDS},
        ),
    )
    review_fieldset = (
        _("Merge request"),
        {"fields": ("review_endpoint", "merge_request_link", "head_sha", "trigger", "events")},
    )

    parts_fieldset = (_("Parts"), {"fields": ("part_of", "part_runs")})

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and obj.kind == Run.Kind.MERGE_REQUEST_REVIEW:
            fieldsets.insert(1, self.review_fieldset)
        if obj is not None and (obj.parent_id or obj.parts.exists()):
            fieldsets.insert(1, self.parts_fieldset)
        return fieldsets

    readonly_fields = (
        "retry_of",
        "retried_as",
        "part_of",
        "part_runs",
        "review_endpoint",
        "merge_request_link",
        "head_sha",
        "trigger",
        "events",
        "coloured_status",
        "kind",
        "source",
        "app",
        "digest",
        "slot",
        "error_code",
        "error_text",
        "inputs_json",
        "query",
        "outputs_json",
        "message_json",
        "dify_user",
        "dify_task_id",
        "dify_workflow_run_id",
        "attempts",
        "waits",
        "total_tokens",
        "dify_elapsed",
        *TIME_FIELDS,
    )

    # --- buttons on a run's page: what each may do depends on the run's state -------------

    change_actions = ("stop", "retry", "redeliver", "run_again")

    def buttons_for(self, request, run: Run) -> list[str]:
        if run.status == Run.Status.QUEUED or (
            run.status == Run.Status.RUNNING and run.stop_requested_at is None
        ):
            return ["stop"]
        if not run.is_final:
            return []
        chosen = []
        if run.deliveries.filter(status=Delivery.Status.FAILED).exists():
            chosen.append("redeliver")
        if run.app_id is not None and run.parent_id is None:  # not an alert, not a part
            chosen.append("retry")
            if run.kind in (Run.Kind.DIGEST, Run.Kind.MANUAL):  # a review reads its own inputs
                chosen.append("run_again")
        return chosen

    @button(
        _("Stop"),
        _("A queued run ends at once; a running one is stopped in Dify."),
        permission="integrations.stop_run",
    )
    def stop(self, request, run: Run):
        try:
            outcome = request_stop(run, by=request.user.get_username())
        except NotStoppable as exc:
            self.message_user(request, str(exc), messages.WARNING)
            return None
        if outcome == "cancelled":
            done = gettext("Run #%(run)s cancelled; it had not started.")
        else:
            done = gettext(
                "Stop requested: Dify was asked to stop run #%(run)s; it ends cancelled when "
                "Dify confirms."
            )
        self.message_user(request, done % {"run": run.pk})
        return None

    @button(
        _("Retry"),
        _("Run the app again with the same inputs, as a new linked run."),
        permission="integrations.retry_run",
    )
    def retry(self, request, run: Run):
        try:
            new = retry_run(run)
        except RunNotFinal as exc:
            self.message_user(request, str(exc), messages.WARNING)
            return None
        done = gettext("Run #%(run)s retried as run #%(new)s.") % {"run": run.pk, "new": new.pk}
        self.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:integrations_run_change", args=[new.pk]))

    @button(
        _("Retry delivery"),
        _("Send the output again where it failed, without running Dify again."),
        permission="integrations.retry_delivery",
    )
    def redeliver(self, request, run: Run):
        try:
            count = redeliver(run)
        except NotRedeliverable as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        done = ngettext(
            "%(count)s failed delivery of run #%(run)s queued again.",
            "%(count)s failed deliveries of run #%(run)s queued again.",
            count,
        )
        self.message_user(request, done % {"count": count, "run": run.pk}, messages.SUCCESS)
        return None

    @page_button(
        _("Run again with other inputs"),
        _("A new run of the same app with inputs you change first."),
        permission="integrations.retry_run",
    )
    def run_again(self, request, run: Run):
        form = AppInputsForm(
            request.POST or None,
            app=run.app,
            initial_inputs=run.inputs,
            initial={"query": run.query},
        )
        if request.method == "POST" and form.is_valid():
            try:
                new = retry_run(
                    run, inputs=form.cleaned_data["inputs"], query=form.cleaned_data.get("query")
                )
            except RunNotFinal as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return None
            done = gettext("Run #%(run)s run again as run #%(new)s.")
            self.message_user(request, done % {"run": run.pk, "new": new.pk}, messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:integrations_run_change", args=[new.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Run #%(run)s again with other inputs") % {"run": run.pk},
            "app": run.app,
            "run": run,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/integrations/run/run_again.html", context)

    @admin.display(description=_("Status"), ordering="status")
    def coloured_status(self, obj: Run) -> str:
        label = obj.status_label
        colour = STATUS_CLASSES.get(obj.status, "hub-info")
        if obj.status == Run.Status.RUNNING and obj.stop_requested_at is not None:
            label, colour = gettext("Running, stop requested"), "hub-warn"
        elif obj.status == Run.Status.SUCCEEDED and obj.error_code:
            label, colour = gettext("Succeeded in Dify, not delivered"), "hub-warn"
        return format_html('<strong class="{}">{}</strong>', colour, label)

    @admin.display(description=_("Duration"))
    def took(self, obj: Run) -> str:
        if obj.duration is None:
            return "—"
        return f"{obj.duration.total_seconds():.1f} s"

    @admin.display(description=_("Elapsed in Dify"))
    def dify_elapsed(self, obj: Run) -> str:
        return "—" if obj.elapsed is None else f"{obj.elapsed:.3f} s"

    @admin.display(description=_("Error"))
    def error_text(self, obj: Run) -> str:
        if not obj.error_message:
            return "—"
        return format_html('<pre class="hub-pre">{}</pre>', obj.error_message)

    @admin.display(description=_("Inputs"))
    def inputs_json(self, obj: Run) -> str:
        return pretty_json(obj.inputs)

    @admin.display(description=_("Outputs"))
    def outputs_json(self, obj: Run) -> str:
        return pretty_json(obj.outputs)

    @admin.display(description=_("Merge or pull request"))
    def merge_request_link(self, obj: Run) -> str:
        context = obj.context or {}
        if pr := context.get("pull_request"):
            label = f"{pr.get('repository', '')}#{pr.get('number', '')} {pr.get('title', '')}"
        else:
            pr = context.get("merge_request") or {}
            label = f"{pr.get('project_path', '')}!{pr.get('iid', '')} {pr.get('title', '')}"
        if not pr.get("url"):
            return obj.merge_request_key or "—"
        return format_html('<a href="{}" rel="noreferrer">{}</a>', pr["url"], label)

    @admin.display(description=_("Retried as"))
    def retried_as(self, obj: Run) -> str:
        rows = [
            (reverse("admin:integrations_run_change", args=[pk]), pk)
            for pk in obj.retries.values_list("pk", flat=True)[:20]
        ]
        return format_html_join(", ", '<a href="{}">#{}</a>', rows) if rows else "—"

    @admin.display(description=_("Part of"))
    def part_of(self, obj: Run) -> str:
        if obj.parent_id is None:
            return "—"
        url = reverse("admin:integrations_run_change", args=[obj.parent_id])
        link = format_html('<a href="{}">#{}</a>', url, obj.parent_id)
        return format_html(gettext("part {part} of review {review}"), part=obj.part, review=link)

    @admin.display(description=_("Its parts"))
    def part_runs(self, obj: Run) -> str:
        """A review in parts: each part's run, status, Dify run, tokens and files."""
        rows = [
            (
                p.part,
                reverse("admin:integrations_run_change", args=[p.pk]),
                p.pk,
                p.get_status_display(),
                p.dify_workflow_run_id or "—",
                p.total_tokens if p.total_tokens is not None else "—",
                ", ".join((p.context or {}).get("paths") or ()) or "—",
            )
            for p in obj.parts.order_by("part")[:50]
        ]
        if not rows:
            return "—"
        body = format_html_join(
            "",
            '<tr><td>{}</td><td><a href="{}">#{}</a></td><td>{}</td><td><code>{}</code></td>'
            "<td>{}</td><td>{}</td></tr>",
            rows,
        )
        return format_html(
            "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>",
            format_html_join("", "<th>{}</th>", ((h,) for h in PART_HEADERS)),
            body,
        )

    @admin.display(description=_("Trigger"))
    def trigger(self, obj: Run) -> str:
        return (obj.context or {}).get("trigger") or "—"

    @admin.display(description=_("Webhook events"))
    def events(self, obj: Run) -> str:
        rows = [
            (reverse("admin:integrations_webhookevent_change", args=[e.pk]), e.pk, e.outcome)
            for e in obj.webhook_events.all()[:20]
        ]
        if not rows:
            return "—"
        return format_html_join(", ", '<a href="{}">#{}</a> ({})', rows)

    @admin.display(description=_("Message sent"))
    def message_json(self, obj: Run) -> str:
        return pretty_json(obj.message)


@admin.register(Delivery)
class DeliveryAdmin(QuickRowCheckbox, ObjectButtons, ReadOnlyAdminMixin, admin.ModelAdmin):
    paginator = LargeTablePaginator
    show_full_result_count = False
    list_display = (
        "id",
        "run",
        "recipient_name",
        "kind_name",
        "coloured_status",
        "attempts",
        "created_at",
    )
    list_filter = ("status", "kind")
    search_fields = ("recipient_name", "error")
    list_select_related = ("run",)
    fields = (
        "run",
        "recipient",
        "recipient_name",
        "kind_name",
        "status",
        "attempts",
        "parts_sent",
        "parts_total",
        "error",
        "next_attempt_at",
        "created_at",
        "finished_at",
        "tries",
    )
    readonly_fields = fields

    change_actions = ("send_again",)

    def buttons_for(self, request, delivery: Delivery) -> list[str]:
        return ["send_again"] if delivery.status in Delivery.FINAL else []

    @button(
        _("Send again"),
        _("Send this delivery's message again, without running Dify again."),
        permission="integrations.retry_delivery",
    )
    def send_again(self, request, delivery: Delivery):
        try:
            redeliver(delivery.run, only=delivery.pk)
        except NotRedeliverable as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        self.message_user(
            request,
            gettext("%(recipient)s: the message is being sent again.")
            % {"recipient": delivery.recipient_name},
            messages.SUCCESS,
        )
        return None

    @admin.display(description=_("Kind"), ordering="kind")
    def kind_name(self, obj: Delivery) -> str:
        return delivery_kind(obj.kind)

    @admin.display(description=_("Status"), ordering="status")
    def coloured_status(self, obj: Delivery) -> str:
        return badge(obj.get_status_display(), DELIVERY_CLASSES.get(obj.status, "hub-info"))

    @admin.display(description=_("Attempts"))
    def tries(self, obj: Delivery) -> str:
        return attempts_table(obj)
