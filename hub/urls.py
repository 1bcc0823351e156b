from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from integrations.admin.preferences import preferences
from integrations.forges.gitea.views import gitea_webhook
from integrations.forges.github.views import github_webhook
from integrations.gitlab.views import gitlab_webhook
from integrations.metrics.views import metrics
from integrations.sso.views import admin_login
from integrations.views import health

admin.site.site_header = "dify-hub"
admin.site.site_title = "dify-hub"
admin.site.index_title = _("Dify apps, digests, recipients and run history")
admin.site.empty_value_display = "—"  # one dash for "nothing" on every page

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("healthz", health, name="health"),
    # Prometheus; a hub API key with the metrics scope or HUB_METRICS_ALLOW (docs/operations.md).
    path("metrics", metrics, name="metrics"),
    # Browsers ask for it on every page; answer quietly instead of logging a 404 each time.
    path("favicon.ico", lambda request: HttpResponse(status=204)),
    path("hooks/gitlab/<slug:slug>/", gitlab_webhook, name="gitlab-webhook"),
    # GitLab does not follow redirects and counts a 301 as a failed delivery, so the URL
    # works without its trailing slash too.
    path("hooks/gitlab/<slug:slug>", gitlab_webhook),
    path("hooks/github/<slug:slug>/", github_webhook, name="github-webhook"),
    path("hooks/github/<slug:slug>", github_webhook),
    path("hooks/gitea/<slug:slug>/", gitea_webhook, name="gitea-webhook"),
    path("hooks/gitea/<slug:slug>", gitea_webhook),
    # Forgejo users look for their own name; the endpoint is the same.
    path("hooks/forgejo/<slug:slug>/", gitea_webhook),
    path("hooks/forgejo/<slug:slug>", gitea_webhook),
    # Before the admin's own URLs: its login page with the single sign-on button, and without
    # the password form when HUB_LOCAL_LOGIN=false (integrations/sso, docs/sso.md).
    path("admin/login/", admin_login),
    path("admin/preferences/", preferences, name="hub-preferences"),
    path("admin/", admin.site.urls),
    # The OpenID Connect login and callback; they answer 404 unless HUB_OIDC_ISSUER is set.
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("api/v1/", include("integrations.api.urls")),
]

# JSON for unknown URLs under /api/, Django's page elsewhere.
handler404 = "integrations.api.errors.not_found"
