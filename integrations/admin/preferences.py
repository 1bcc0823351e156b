"""Each person's own settings for the admin: the language it speaks to them and the time
zone times are shown in."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from integrations import viewer_language, viewer_zone
from integrations.admin.common import ZoneInput
from integrations.digests.schedule import ScheduleError, parse_zone
from integrations.models import Preference


class PreferenceForm(forms.ModelForm):
    class Meta:
        model = Preference
        fields = ("language", "time_zone")
        widgets = {"time_zone": ZoneInput()}
        labels = {"language": _("Language"), "time_zone": _("Show times in")}
        help_texts = {
            "language": _("Empty: your browser's language (else English)."),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", _("The browser's")), *settings.LANGUAGES]

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
    mine, _created = Preference.objects.get_or_create(user=request.user)
    form = PreferenceForm(request.POST or None, instance=mine)
    if request.method == "POST" and form.is_valid():
        form.save()
        viewer_zone.remember(request, mine.time_zone)
        viewer_language.remember(request, mine.language)
        if mine.language:  # the message below already in the new language
            translation.activate(mine.language)
        else:
            translation.activate(translation.get_language_from_request(request))
        shown = mine.time_zone or gettext("your browser's zone")
        messages.success(request, gettext("Times are now shown in %(zone)s.") % {"zone": shown})
        return HttpResponseRedirect(reverse("hub-preferences"))
    context = {
        **admin.site.each_context(request),
        "title": gettext("Your preferences"),
        "form": form,
        "hub_zone": settings.TIME_ZONE,
    }
    return TemplateResponse(request, "admin/integrations/preferences.html", context)
