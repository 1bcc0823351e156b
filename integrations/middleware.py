"""A database that cannot be reached is a 503 with a clear message, never a 500.

PostgreSQL restarting, a failover, a full connection pool: the request cannot be served now
and nothing was half stored (each request is one transaction). Webhook senders and API
clients get JSON that says so and when to try again; people get a short page.
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

log = logging.getLogger(__name__)

RETRY_AFTER = "30"
MESSAGE = (
    "The hub's database is unavailable right now; nothing was stored. Try again in a minute "
    "(GitLab: Settings → Webhooks → Recent events → Resend request)."
)


class DatabaseUnavailable:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        log.warning("database unavailable for %s %s: %s", request.method, request.path, exception)
        if request.path.startswith("/api/"):  # the REST API's own error shape
            response = JsonResponse(
                {"code": "database_unavailable", "message": MESSAGE}, status=503
            )
        elif request.path.startswith(("/hooks/", "/healthz")):
            response = JsonResponse({"error": MESSAGE}, status=503)
        else:
            response = HttpResponse(MESSAGE, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = RETRY_AFTER
        return response
