"""The top of a run's page: what happened, in the order people ask (issue: "pages that answer
'what happened?'"): the status, who said the error and what to do, each recipient with its
status, where the time went (waiting, Dify, delivering), and the links to what the run is
about. Built from the run and its deliveries in a few queries; the template only lays it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from integrations.channels.html import to_html
from integrations.models import Delivery, Run

# Who said an error, as a person would name them (Run.error_source, Delivery.error_source).
SPEAKERS = {
    "dify": "Dify",
    "gitlab": "GitLab",
    "github": "GitHub",
    "gitea": "Gitea",
    "chat": _("the chat service"),
    "hub": _("the hub"),
}
# How a stored message starts when it already names who said it ("Dify: the workflow
# failed…", "The hub: …"): then the summary does not say it again.
NAMED_AT_START = {
    "dify": "dify:",
    "gitlab": "gitlab:",
    "github": "github:",
    "gitea": "gitea:",
    "hub": "the hub:",
}
RETRY_OF = _("Retry of #%(run)s")
PART_OF = _("Part of review #%(run)s")
CHIP_CLASSES = {
    Delivery.Status.DELIVERED: "hub-chip-good",
    Delivery.Status.FAILED: "hub-chip-bad",
}


@dataclass(frozen=True)
class Chip:
    name: str
    status: str
    css: str
    error: str
    url: str


@dataclass(frozen=True)
class Span:
    label: str
    seconds: float | None
    note: str = ""

    @property
    def shown(self) -> str:
        return "—" if self.seconds is None else _seconds(self.seconds)


@dataclass(frozen=True)
class Summary:
    final: bool
    said_by: str
    error: str
    chips: list[Chip] = field(default_factory=list)
    # (recipient, who said it, what): each delivery that failed, with its own reason
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    message_title: str = ""
    message_html: SafeString | str = ""


def build(run: Run) -> Summary:
    deliveries = list(run.deliveries.order_by("pk"))
    failed = [d for d in deliveries if d.status == Delivery.Status.FAILED and d.error]
    error, source = run.error_message, run.error_source
    if not error and failed:  # the run's own error is empty when only a delivery failed
        error, source = f"{failed[0].recipient_name}: {failed[0].error}", failed[0].error_source
    message = run.message or {}
    return Summary(
        final=run.is_final,
        said_by=_speaker(source, error),
        error=error,
        chips=[_chip(d) for d in deliveries],
        failures=[(d.recipient_name, SPEAKERS.get(d.error_source, ""), d.error) for d in failed],
        spans=_spans(run, deliveries),
        links=_links(run),
        message_title=message.get("title", ""),
        # markdown-it escapes any HTML in the model's text (channels/html.py)
        message_html=mark_safe(to_html(message.get("text", ""))) if message else "",  # noqa: S308
    )


def _speaker(source: str, error: str) -> str:
    """Who said the error, unless the message begins by saying so itself."""
    if not error or error.lower().startswith(NAMED_AT_START.get(source or "", "\0")):
        return ""
    return SPEAKERS.get(source or "", "")


def _chip(delivery: Delivery) -> Chip:
    return Chip(
        name=delivery.recipient_name,
        status=delivery.get_status_display(),
        css=CHIP_CLASSES.get(delivery.status, "hub-chip-info"),
        error=delivery.error,
        url=reverse("admin:integrations_delivery_change", args=[delivery.pk]),
    )


def _spans(run: Run, deliveries: list[Delivery]) -> list[Span]:
    """Waiting for a slot, the Dify call, the deliveries, and all of it; the deliveries'
    retries no longer count as Dify's time."""
    dify_done = min((d.created_at for d in deliveries), default=None) or (
        run.finished_at if not deliveries else None
    )
    delivered = max((d.finished_at for d in deliveries if d.finished_at), default=None)
    return [
        Span(_("Waiting to start"), _between(run.created_at, run.started_at)),
        Span(
            "Dify",
            run.elapsed if run.elapsed is not None else _between(run.started_at, dify_done),
            _("as Dify measured it") if run.elapsed is not None else "",
        ),
        Span(_("Delivering"), _between(dify_done, delivered) if deliveries else None),
        Span(_("Total"), _between(run.created_at, run.finished_at)),
    ]


def _links(run: Run) -> list[tuple[str, str]]:
    links = []
    if run.digest_id:
        links.append((_("Digest"), reverse("admin:integrations_digest_change", args=[run.digest_id])))
    if run.review_endpoint_id:
        url = reverse("admin:integrations_reviewendpoint_change", args=[run.review_endpoint_id])
        links.append((_("Review endpoint"), url))
    context = run.context or {}
    change = context.get("pull_request") or context.get("merge_request") or {}
    if change.get("url"):
        links.append((_("Merge or pull request"), change["url"]))
    event = run.webhook_events.order_by("pk").values_list("pk", flat=True).first()
    if event:
        links.append(
            (_("Webhook event"), reverse("admin:integrations_webhookevent_change", args=[event]))
        )
    for label, other in ((RETRY_OF, run.retry_of_id), (PART_OF, run.parent_id)):
        if other:
            links.append(
                (label % {"run": other}, reverse("admin:integrations_run_change", args=[other]))
            )
    return links


def _between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max((end - start) / timedelta(seconds=1), 0.0)


def _seconds(value: float) -> str:
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min"
