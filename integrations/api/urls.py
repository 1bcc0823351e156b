from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from integrations.api import views

# No Swagger UI page: drf-spectacular's loads swagger-ui@latest from a CDN, which is not code
# we want running next to pasted API keys. Open /api/v1/schema/ in any OpenAPI viewer.
urlpatterns = [
    path("runs/", views.RunList.as_view(), name="api-runs"),
    path("runs/<int:pk>/", views.RunDetail.as_view(), name="api-run"),
    path("runs/<int:pk>/retry", views.RunRetry.as_view(), name="api-run-retry"),
    path("runs/<int:pk>/stop", views.RunStop.as_view(), name="api-run-stop"),
    path("runs/<int:pk>/redeliver", views.RunRedeliver.as_view(), name="api-run-redeliver"),
    path("digests/<path:name>/run", views.DigestRun.as_view(), name="api-digest-run"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
]
