"""The Gitea/Forgejo webhook URL (the forge-neutral view does the work)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.forges.gitea.intake import GITEA
from integrations.forges.views import webhook


@csrf_exempt
def gitea_webhook(request: HttpRequest, slug: str) -> JsonResponse:
    return webhook(request, slug, GITEA)
