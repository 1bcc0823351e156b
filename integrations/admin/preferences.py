"""Each person's own settings for the admin (for now: the time zone times are shown in)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from integrations.admin.common import ZoneInput
from integrations.digests.schedule import ScheduleError, parse_zone
from integrations.models import Preference
from integrations.viewer_zone import remember


class PreferenceForm(forms.ModelForm):
    class Meta:
        model = Preference
        fields = ("time_zone",)
        widgets = {"time_zone": ZoneInput()}
        labels = {"time_zone": "Show times in"}

    def clean_time_zone(self) -> str:
        name = self.cleaned_data["time_zone"].strip()
        if name:
            try:
                parse_zone(name)
            except ScheduleError as exc:
                raise forms.ValidationError(str(exc)) from None
        return name


@staff_member_required
def preferences(request: HttpRequest) -> HttpResponse:
    mine, _ = Preference.objects.get_or_create(user=request.user)
    form = PreferenceForm(request.POST or None, instance=mine)
    if request.method == "POST" and form.is_valid():
        form.save()
        remember(request, mine.time_zone)
        shown = mine.time_zone or "your browser's zone"
        messages.success(request, f"Times are now shown in {shown}.")
        return HttpResponseRedirect(reverse("hub-preferences"))
    context = {
        **admin.site.each_context(request),
        "title": "Your preferences",
        "form": form,
        "hub_zone": settings.TIME_ZONE,
    }
    return TemplateResponse(request, "admin/integrations/preferences.html", context)
