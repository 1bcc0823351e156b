"""'Check connection' for a Dify app: read its mode and input form from Dify and cache them."""

from __future__ import annotations

from django.utils import timezone

from integrations.checks import CheckReport
from integrations.dify import DifyError, form_to_json
from integrations.models import DifyApp

CHECKED_FIELDS = ("mode", "input_form", "form_loaded_at", "checked_at", "check_error")


def check_app(app: DifyApp) -> CheckReport:
    """Read the app's mode and form from Dify and store them (with the outcome)."""
    report = load_from_dify(app)
    if app.pk is not None:
        DifyApp.objects.filter(pk=app.pk).update(
            **{name: getattr(app, name) for name in CHECKED_FIELDS}
        )
    return report


def load_from_dify(app: DifyApp) -> CheckReport:
    """GET /info and /parameters: the app's mode and input form, set on `app` unsaved (so
    `hub apply --check` can check a plan against them before anything is stored)."""
    now = timezone.now()
    app.checked_at = now
    try:
        with app.client() as client:
            info = client.info()
            parameters = client.parameters()
    except DifyError as exc:
        error = str(exc)
        if exc.code == "app_unavailable":
            error += " (is the app published in Dify?)"
        app.check_error = error
        return CheckReport(False, f"connection check failed: {error}")
    known_modes = {choice for choice, _ in DifyApp.Mode.choices}
    app.mode = info.mode if info.mode in known_modes else ""
    app.input_form = form_to_json(parameters.input_form)
    app.form_loaded_at = now
    app.check_error = (
        "" if app.mode else f"Dify reports app mode '{info.mode}', which the hub cannot run."
    )
    if not app.mode:
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
