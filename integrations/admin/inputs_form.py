"""The inputs of a run typed into a form made from the app's own input form (GET /parameters,
cached on the app): one field per variable with its type, options, required flag and maximum
length. JSON stays available for what a form cannot hold (files) or for pasting."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from integrations.dify import DifyInputError, validate_inputs
from integrations.dify.inputs import InputField
from integrations.models import DifyApp

PREFIX = "var_"  # a variable may be called "inputs" or "query" too
JSON_HELP = (
    'Or all inputs as one JSON object, e.g. {"city": "Berlin"}: when given, it is used '
    "instead of the fields above."
)


def _field(f: InputField, initial: Any) -> forms.Field:
    label = f.label or f.variable
    help_text = (
        f"Variable {f.variable}"
        + (", required" if f.required else "")
        + (f", at most {f.max_length} characters" if f.max_length else "")
    )
    # Required is checked with the app's own rules (validate_inputs), after the JSON box had
    # its chance: a field left empty because the JSON has it is no error.
    common = {"label": label, "required": False, "help_text": help_text, "initial": initial}
    if f.type == "select":
        choices = [(option, option) for option in f.options]
        return forms.ChoiceField(choices=[("", "—"), *choices], **common)
    if f.type == "checkbox":
        return forms.BooleanField(**common)
    if f.type == "number":
        return forms.CharField(widget=forms.NumberInput(attrs={"step": "any"}), **common)
    if f.type in ("paragraph", "json_object"):
        text = json.dumps(initial, ensure_ascii=False) if isinstance(initial, dict) else initial
        return forms.CharField(
            widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
            max_length=f.max_length if f.type == "paragraph" else None,
            **{**common, "initial": text},
        )
    return forms.CharField(max_length=f.max_length, **common)


class AppInputsForm(forms.Form):
    inputs = forms.CharField(
        label=_("Inputs as JSON (advanced)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80, "class": "hub-code"}),
        help_text=JSON_HELP,
    )
    query = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text=_("Chat apps only: the user's message."),
    )

    def __init__(
        self, *args, app: DifyApp, initial_inputs: Mapping[str, Any] | None = None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.app = app
        given = dict(initial_inputs or {})
        typed = {}
        for f in app.fields:
            if f.hide or f.type in ("file", "file-list"):  # files: through the JSON box
                continue
            typed[PREFIX + f.variable] = _field(f, given.get(f.variable, f.default))
        # The app's own fields first, then the JSON box and the chat message.
        self.fields = {**typed, **self.fields}
        self.typed = {name.removeprefix(PREFIX): field for name, field in typed.items()}
        if not app.is_chat:
            del self.fields["query"]
        if not app.fields:  # no form cached: JSON is the only way
            self.fields["inputs"].initial = json.dumps(given) if given else "{}"

    def clean(self):
        data = super().clean()
        try:
            data["inputs"] = self._inputs(data)
        except forms.ValidationError as exc:
            self.add_error("inputs" if (data.get("inputs") or "").strip() else None, exc)
        if self.app.is_chat and not (data.get("query") or "").strip():
            self.add_error("query", "Chat apps need a message.")
        return data

    def _inputs(self, data: dict) -> dict:
        raw = (self.data.get(self.add_prefix("inputs")) or "").strip()
        if raw and raw != "{}":
            value = _json_object(raw)
        else:
            value = {}
            for variable in self.typed:
                typed = data.get(PREFIX + variable)
                if typed in (None, ""):
                    continue  # left out: the app's default, or "required" from the check
                value[variable] = (
                    _json_object(typed) if _is_json_field(self.app, variable) else typed
                )
        if not self.app.input_form:
            return value
        try:
            return validate_inputs(self.app.fields, value)
        except DifyInputError as exc:
            raise forms.ValidationError(list(exc.problems)) from None


def _is_json_field(app: DifyApp, variable: str) -> bool:
    return any(f.variable == variable and f.type == "json_object" for f in app.fields)


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}).") from None
    if not isinstance(value, dict):
        raise forms.ValidationError('Inputs must be a JSON object, e.g. {"city": "Berlin"}.')
    return value
