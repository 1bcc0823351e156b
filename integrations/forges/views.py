"""A forge's webhook URL: read the request, hand it to the intake, answer in milliseconds."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse

from integrations.forges import intake

log = logging.getLogger(__name__)


def webhook(request: HttpRequest, slug: str, forge: intake.Forge) -> JsonResponse:
    if request.method != "POST":
        response = JsonResponse({"error": f"{forge.who} webhooks are POST requests."}, status=405)
        response["Allow"] = "POST"
        return response
    endpoint = intake.endpoint(forge, slug)
    if endpoint is None:
        return JsonResponse({"error": f"No {forge.who} endpoint '{slug}' in this hub."}, status=404)
    limit = settings.HUB_WEBHOOK_MAX_BYTES
    body = _read_body(request, limit)
    if body is None:
        return JsonResponse({"error": f"The body is larger than {limit} bytes."}, status=413)
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        answer = intake.receive(forge, endpoint, headers, body)
    except (OperationalError, InterfaceError):
        raise  # the database is down: middleware.DatabaseUnavailable answers 503
    except Exception:  # never a 500: GitLab would count it toward disabling the hook
        log.exception("%s %s: unexpected error handling a webhook", forge.name, slug)
        answer = intake.Answer(
            503, {"error": f"The hub could not store the event; {forge.who} can resend it."}
        )
    return JsonResponse(answer.body, status=answer.status)


def _read_body(request: HttpRequest, limit: int) -> bytes | None:
    """The raw body, or None when it exceeds the limit (checked before reading when declared)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body
