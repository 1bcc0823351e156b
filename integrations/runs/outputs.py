"""Which of a run's outputs is sent: the one named in the settings, else the only one with
content, else `text`. Pure: used when a run is delivered, and before any run by the checks
of the admin, `hub apply` and `hub check`, against the outputs the app returned last time."""

from __future__ import annotations

import json


class OutputError(ValueError):
    pass


def select_output(outputs: dict | None, key: str, *, setting: str = "Output to send") -> str:
    """The text to send, or OutputError naming what the app returned and what to set."""
    outputs = outputs or {}
    # Outputs the run left empty (an optional input echoed as null, say) are not candidates.
    filled = {name: value for name, value in outputs.items() if value not in (None, "", [], {})}
    if key:
        if key not in outputs:
            raise OutputError(
                f"the app returned {listing(outputs)}, no output named `{key}`; set "
                f"'{setting}' to one of them"
            )
        value = outputs[key]
    elif len(filled) == 1:
        value = next(iter(filled.values()))
    elif "text" in filled:
        value = filled["text"]
    elif not filled:
        raise OutputError(f"the app returned no output with content ({listing(outputs)})")
    else:
        raise OutputError(f"the app returned {listing(filled)}; set '{setting}' to one of them")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise OutputError(f"the output `{key}` is empty; nothing to send")
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2)


def choice_problem(names: list[str], key: str, *, setting: str = "Output to send") -> str | None:
    """Why `key` cannot pick an output of an app known to return `names`, or None. Unknown
    outputs (the app never succeeded yet) are no problem: there is nothing to check against."""
    if not names:
        return None
    if key:
        if key in names:
            return None
        return f"the app returns {listing(names)}, no output named `{key}`; choose one of them"
    if len(names) == 1 or "text" in names:
        return None
    return f"the app returns {listing(names)}; set '{setting}' to the one to send"


def listing(names) -> str:
    """`a`, `a` and `b`, `a`, `b` and `c`; "nothing" for none."""
    quoted = [f"`{name}`" for name in sorted(names)]
    if not quoted:
        return "nothing"
    if len(quoted) == 1:
        return quoted[0]
    return f"{', '.join(quoted[:-1])} and {quoted[-1]}"
