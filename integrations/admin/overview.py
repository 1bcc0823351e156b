"""The admin's home page is the overview (integrations/overview/, issue 17 §1).

How: AdminSite.index renders `index_template` with an `extra_context` argument, which nothing
passes for the home page; so this module points `admin.site.index_template` at the overview
and puts a small wrapper in `admin.site.index` that builds the overview and passes it as that
extra context. It runs at admin autodiscovery (AdminConfig.ready), before hub/urls.py reads
`admin.site.urls`, so the URL named admin:index keeps its login check (admin_view) and name.
Why not a subclass of AdminSite: it needs an AdminConfig in INSTALLED_APPS and a settings
change for a one-page difference. Django's app list stays on the page, under the overview.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from integrations.overview.page import build_overview

_django_index = admin.site.index


def overview_index(request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
    context = {"overview": build_overview(request.user, timezone.now()), **(extra_context or {})}
    return _django_index(request, extra_context=context)


admin.site.index_template = "admin/integrations/overview.html"
admin.site.index = overview_index
