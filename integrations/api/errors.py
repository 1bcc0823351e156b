"""Every API error is JSON: {"code": "...", "message": "..."} (plus "fields" when invalid)."""

from __future__ import annotations

import logging

from django.http import JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the resource's state."
    default_code = "conflict"


def handle_exception(exc, context):
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("API error in %s", context.get("view").__class__.__name__, exc_info=exc)
        return Response(
            {"code": "server_error", "message": "Internal error; the hub's log has the details."},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    response.data = error_body(exc, response.data)
    return response


def error_body(exc, data) -> dict:
    if isinstance(exc, exceptions.ValidationError):
        fields = data if isinstance(data, dict) else {"non_field_errors": data}
        return {"code": "invalid", "message": validation_message(fields), "fields": fields}
    detail = data.get("detail", "") if isinstance(data, dict) else data
    code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
    return {"code": code, "message": str(detail)}


def validation_message(fields: dict) -> str:
    parts = []
    for field, problems in fields.items():
        text = (
            " ".join(str(problem) for problem in problems)
            if isinstance(problems, list)
            else str(problems)
        )
        parts.append(text if field == "non_field_errors" else f"{field}: {text}")
    return "; ".join(parts)


def not_found(request, exception=None):
    """handler404: JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "code": "not_found",
                "message": f"No API endpoint {request.method} {request.path}; "
                "the operations are listed in /api/v1/schema/.",
            },
            status=404,
        )
    return defaults.page_not_found(request, exception)
