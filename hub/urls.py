from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from integrations.views import health

admin.site.site_header = "dify-hub"
admin.site.site_title = "dify-hub"
admin.site.index_title = "Dify apps, digests, recipients and run history"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("healthz", health, name="health"),
    path("admin/", admin.site.urls),
]
