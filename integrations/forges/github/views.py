"""The GitHub webhook URL (the forge-neutral view does the work)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.forges.github.intake import GITHUB
from integrations.forges.views import webhook


@csrf_exempt
def github_webhook(request: HttpRequest, slug: str) -> JsonResponse:
    return webhook(request, slug, GITHUB)
