"""Composing the chat message from a run's outputs. Pure."""

from __future__ import annotations

import json


class OutputError(ValueError):
    pass


def select_output(outputs: dict | None, key: str) -> str:
    """The text to send: the named output, else the only output, else `text`."""
    outputs = outputs or {}
    # Outputs the run left empty (an optional input echoed as null, say) are not candidates.
    filled = {name: value for name, value in outputs.items() if value not in (None, "", [], {})}
    if key:
        if key not in outputs:
            raise OutputError(
                f"The app returned no output named '{key}' (it returned: {_names(outputs)})."
            )
        value = outputs[key]
    elif len(filled) == 1:
        value = next(iter(filled.values()))
    elif "text" in filled:
        value = filled["text"]
    elif not filled:
        raise OutputError(f"The app returned no output with content ({_names(outputs)}).")
    else:
        raise OutputError(
            f"The app returned {len(filled)} outputs ({_names(filled)}); choose one in the "
            "digest's 'Output to send'."
        )
    if value is None or (isinstance(value, str) and not value.strip()):
        raise OutputError("The selected output is empty; nothing to send.")
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2)


def _names(outputs: dict) -> str:
    return ", ".join(sorted(outputs)) or "nothing"
