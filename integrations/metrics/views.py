"""GET /metrics: refuse in plain words, or answer in the format Prometheus asked for."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from integrations.metrics.access import refusal
from integrations.metrics.collector import HubCollector

# A registry of its own, not prometheus_client's global one: that one holds the answering
# process's own metrics (CPU, memory, GC), which would describe a different gunicorn
# worker on every scrape.
REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(HubCollector())


@require_safe
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    refused = refusal(request)
    if refused is not None:
        response = HttpResponse(
            refused.message + "\n", status=refused.status, content_type="text/plain; charset=utf-8"
        )
        if refused.status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="dify-hub"'
        return response
    # Prometheus asks for OpenMetrics first; curl and older scrapers get the text format.
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(REGISTRY), content_type=content_type)
