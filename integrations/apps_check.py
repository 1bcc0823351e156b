"""'Check connection' for a Dify app: read its mode and input form from Dify and cache them."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from integrations.dify import DifyError, form_to_json
from integrations.models import DifyApp


@dataclass(frozen=True)
class CheckReport:
    ok: bool
    summary: str


def check_app(app: DifyApp) -> CheckReport:
    try:
        with app.client() as client:
            info = client.info()
            parameters = client.parameters()
    except DifyError as exc:
        error = str(exc)
        if exc.code == "app_unavailable":
            error += " (is the app published in Dify?)"
        DifyApp.objects.filter(pk=app.pk).update(check_error=error, checked_at=timezone.now())
        app.check_error = error
        return CheckReport(False, f"connection check failed: {error}")
    known_modes = {choice for choice, _ in DifyApp.Mode.choices}
    mode = info.mode if info.mode in known_modes else ""
    app.mode = mode
    app.input_form = form_to_json(parameters.input_form)
    app.checked_at = timezone.now()
    app.check_error = (
        "" if mode else f"Dify reports app mode '{info.mode}', which the hub cannot run."
    )
    DifyApp.objects.filter(pk=app.pk).update(
        mode=app.mode,
        input_form=app.input_form,
        checked_at=app.checked_at,
        check_error=app.check_error,
    )
    if not mode:
        return CheckReport(False, app.check_error)
    variables = ", ".join(
        f"{field.variable} ({field.type}{', required' if field.required else ''})"
        for field in parameters.input_form
    )
    return CheckReport(
        True,
        f"connected to '{info.name}', a {app.get_mode_display()} app; "
        f"input variables: {variables or 'none'}.",
    )
