"""Dify app input forms: parsing ``GET /parameters`` and validating ``inputs`` locally.

Local validation matters because a *streaming* run with invalid inputs never reports an
error: Dify answers 200, sends one ping and then stays silent for ~300 s. Blocking runs get
a 400 ``invalid_param``, but only for the first problem. ``validate_inputs`` reports every
problem at once, and is stricter than Dify where Dify is silently lenient (unknown variable
names are dropped by Dify; booleans are accepted as numbers; objects for numbers crash it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import DifyInputError

__all__ = [
    "InputField",
    "form_from_json",
    "form_to_json",
    "parse_input_form",
    "validate_inputs",
]

STRING_TYPES = frozenset({"text-input", "paragraph", "select"})
KNOWN_TYPES = STRING_TYPES | {"number", "checkbox", "json_object", "file", "file-list"}

_INT_RE = re.compile(r"^[+-]?\d+$")
_FLOAT_RE = re.compile(r"^[+-]?(\d+\.\d*|\.\d+)$")
_TRUE_STRINGS = frozenset({"true", "1", "yes", "on"})
_FALSE_STRINGS = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True)
class InputField:
    variable: str
    label: str
    type: str
    required: bool
    max_length: int | None = None
    options: list[str] = field(default_factory=list)
    default: Any = None
    hide: bool = False


def _as_int_or_none(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _field_from_definition(type_key: str, definition: Mapping[str, Any]) -> InputField | None:
    variable = definition.get("variable")
    if not isinstance(variable, str) or not variable:
        return None
    options = definition.get("options") or []
    if not isinstance(options, list):
        options = []
    label = definition.get("label")
    return InputField(
        variable=variable,
        label=label if isinstance(label, str) and label else variable,
        type=type_key,
        # external_data_tool values are filled by Dify itself, never by the caller.
        required=bool(definition.get("required", False)) and type_key != "external_data_tool",
        max_length=_as_int_or_none(definition.get("max_length")),
        options=[str(o) for o in options],
        default=definition.get("default"),
        hide=bool(definition.get("hide", False)),
    )


def parse_input_form(user_input_form: list[dict]) -> list[InputField]:
    """Parse the ``user_input_form`` list of ``GET /parameters``.

    Each element is a one-key object keyed by the variable type, e.g.
    ``{"text-input": {"variable": "query", "label": "query", "required": true, ...}}``.
    Unknown extra keys in a definition are ignored; malformed elements are skipped.
    """
    fields: list[InputField] = []
    for element in user_input_form or []:
        if not isinstance(element, Mapping):
            continue
        for type_key, definition in element.items():
            if isinstance(definition, Mapping):
                parsed = _field_from_definition(str(type_key), definition)
                if parsed is not None:
                    fields.append(parsed)
                break
    return fields


def form_to_json(fields: Iterable[InputField]) -> list[dict]:
    """Plain JSON-serialisable form (for a Django JSONField)."""
    return [asdict(f) for f in fields]


def form_from_json(data: Iterable[Mapping[str, Any]]) -> list[InputField]:
    """Inverse of :func:`form_to_json`; tolerates missing/extra keys."""
    result = []
    for item in data or []:
        options = item.get("options") or []
        result.append(
            InputField(
                variable=str(item["variable"]),
                label=str(item.get("label") or item["variable"]),
                type=str(item.get("type") or "text-input"),
                required=bool(item.get("required", False)),
                max_length=_as_int_or_none(item.get("max_length")),
                options=[str(o) for o in options],
                default=item.get("default"),
                hide=bool(item.get("hide", False)),
            )
        )
    return result


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"a {type(value).__name__}"


Checked = tuple[Any, "str | None"]  # (value to send, problem or None)


def _check_value(f: InputField, value: Any) -> Checked:
    """Return (value to send, problem or None) for a non-empty value."""
    if f.type in STRING_TYPES:
        return _check_string(f, value)
    check = _CHECKS.get(f.type)
    # Unknown / future types (and legacy external_data_tool): pass through untouched.
    return check(f, value) if check else (value, None)


def _check_string(f: InputField, value: Any) -> Checked:
    name = f.variable
    if not isinstance(value, str):
        return value, f"{name}: must be a string ({f.type}), got {_describe(value)}"
    if f.type == "select":
        if value not in f.options:
            return value, f"{name}: {value!r} is not one of the options {f.options}"
    elif f.max_length is not None and len(value) > f.max_length:
        return (
            value,
            f"{name}: text is {len(value)} characters, more than the maximum {f.max_length}",
        )
    return value, None


def _check_number(f: InputField, value: Any) -> Checked:
    # Dify coerces numeric strings ("42" -> 42) and takes no booleans (captures 10, 14).
    name = f.variable
    if isinstance(value, bool):
        return value, f"{name}: must be a number, got a boolean"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return value, f"{name}: must be a finite number"
        return value, None
    if not isinstance(value, str):
        return value, f"{name}: must be a number, got {_describe(value)}"
    text = value.strip()
    if _INT_RE.match(text):
        return int(text), None
    if _FLOAT_RE.match(text):
        return float(text), None
    return value, f"{name}: {value!r} is not a valid number"


def _check_checkbox(f: InputField, value: Any) -> Checked:
    if isinstance(value, bool):
        return value, None
    text = value.strip().lower() if isinstance(value, str) else None
    if text in _TRUE_STRINGS:
        return True, None
    if text in _FALSE_STRINGS:
        return False, None
    return value, f"{f.variable}: must be a boolean (true/false), got {value!r}"


def _check_object(f: InputField, value: Any) -> Checked:
    if isinstance(value, Mapping):
        return value, None
    what = "a JSON object" if f.type == "json_object" else "a file object"
    return value, f"{f.variable}: must be {what}, got {_describe(value)}"


def _check_files(f: InputField, value: Any) -> Checked:
    name = f.variable
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, Mapping) for v in value):
        return value, f"{name}: must be a list of file objects"
    if f.max_length is not None and len(value) > f.max_length:
        return value, f"{name}: {len(value)} files, more than the maximum {f.max_length}"
    return list(value), None


_CHECKS = {
    "number": _check_number,
    "checkbox": _check_checkbox,
    "json_object": _check_object,
    "file": _check_object,
    "file-list": _check_files,
}


def validate_inputs(fields: list[InputField], inputs: Mapping[str, Any] | None) -> dict:
    """Check ``inputs`` against the app's form and return the dict to send.

    Raises :class:`DifyInputError` listing every problem: missing required values (``None``
    and ``""`` count as missing), unknown variable names, wrong types, select values not in
    the options, text longer than ``max_length``. Numeric strings for number fields are
    coerced (``"42"`` -> 42) and ``"true"``/``"false"`` for checkboxes become booleans.
    Optional values that are ``None`` are left out; an optional ``""`` is kept for text
    fields and left out (= unset) for the other types.
    The caller's dict is not modified.
    """
    if inputs is None:
        inputs = {}
    if not isinstance(inputs, Mapping):
        raise DifyInputError([f"inputs must be an object, got {_describe(inputs)}"])

    by_name = {f.variable: f for f in fields}
    problems: list[str] = []
    result: dict[str, Any] = {}

    unknown = [k for k in inputs if k not in by_name]
    for key in unknown:
        known = ", ".join(sorted(by_name)) or "none"
        problems.append(f"{key}: unknown input variable (the app's variables are: {known})")

    for f in fields:
        present = f.variable in inputs
        value = inputs.get(f.variable)
        empty = value is None or (isinstance(value, str) and value == "")
        if empty:
            if f.required:
                problems.append(f"{f.variable}: required but missing")
            elif present and value is not None and f.type in ("text-input", "paragraph"):
                # An empty text is a real value. For the other types "" means "unset": it is
                # left out, because Dify rejects "" for a select (and the rejection is silent
                # in streaming mode).
                result[f.variable] = value
            continue
        checked, problem = _check_value(f, value)
        if problem:
            problems.append(problem)
        else:
            result[f.variable] = checked

    if problems:
        raise DifyInputError(problems)
    return result
