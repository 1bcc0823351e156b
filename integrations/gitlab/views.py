"""The GitLab webhook URL (the forge-neutral view does the work)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.forges.views import webhook
from integrations.gitlab.intake import GITLAB


@csrf_exempt
def gitlab_webhook(request: HttpRequest, slug: str) -> JsonResponse:
    return webhook(request, slug, GITLAB)
