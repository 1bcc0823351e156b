"""``{{ name }}`` placeholders, the one template syntax of the hub (pure: no Django).

Digest inputs (``{{ date }}``, ``{{ weekday }}`` ...) and a GitLab endpoint's input mapping
(``{{ diff }}``, ``{{ title }}`` ...) use it. Deliberately not Django or Jinja templates:
values go into a Dify app's inputs as they are, with no escaping, no filters and no logic, so
a template the admin typed can neither run code nor fail at run time. An unknown name is
left as written (the forms report it before a run); anything else that looks like template
syntax is reported as broken.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["PLACEHOLDER", "is_broken", "names_in", "render", "render_text", "without_names"]

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_OTHER_SYNTAX = ("{{", "}}", "{%")


def names_in(text: str) -> list[str]:
    """Every placeholder name in ``text``, in order, repeats included."""
    return [match.group(1) for match in PLACEHOLDER.finditer(text)]


def without_names(text: str) -> str:
    """``text`` with its placeholders taken out: the literal part of a template."""
    return PLACEHOLDER.sub("", text)


def is_broken(text: str) -> bool:
    """Braces or tags left once the placeholders are out: ``{{ date }`` or ``{% if %}``."""
    rest = without_names(text)
    return any(token in rest for token in _OTHER_SYNTAX)


def render_text(text: str, values: Mapping[str, object]) -> str:
    """Replace every known ``{{ name }}`` by ``str(value)``; unknown names stay as written."""
    return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


def render(value: object, values: Mapping[str, object]) -> object:
    """``render_text`` on every string inside a JSON value (dict keys are left alone)."""
    if isinstance(value, str):
        return render_text(value, values)
    if isinstance(value, dict):
        return {key: render(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, values) for item in value]
    return value
