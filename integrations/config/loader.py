"""Read a configuration file: parse YAML, check its shape, replace ${NAME} from the environment.

Pure apart from reading the file: no Django, no database. What comes out is plain data with
each object's place in the file, so every later error can say where it is.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from integrations.config.schema import (
    BOOL,
    ENDPOINT_FORGES,
    INT,
    NAMES,
    NUMBER,
    OBJECT,
    SECTIONS,
    STR,
    TYPE_WORDS,
    keys_of,
)

# $${ is a literal ${; ${NAME} a variable; any other ${ is a mistake worth reporting.
_TOKEN = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{")


class ConfigError(Exception):
    """One or more problems with a configuration file; each line names file, object and key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Item:
    """One object of a section, as written in the file (values already substituted)."""

    path: str
    section: str
    index: int
    name: str
    values: dict[str, Any] = field(default_factory=dict)

    def where(self, key: str | None = None, message: str = "") -> str:
        place = f"{self.path}: {self.section}[{self.index}]"
        if self.name:
            place += f" '{self.name}'"
        if key:
            place += f": key '{key}'"
        return f"{place}: {message}" if message else place


@dataclass(frozen=True)
class Config:
    path: str
    # Only the sections the file has: a section left out is not managed (not even by --prune).
    sections: dict[str, list[Item]]


def load_file(path: str, environ: Mapping[str, str] | None = None) -> Config:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: the file is not UTF-8 text"]) from None
    return load_text(text, path, os.environ if environ is None else environ)


def load_text(text: str, path: str, environ: Mapping[str, str]) -> Config:
    data = parse_yaml(text, path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: the file must be a mapping with the keys {_known_sections()}"])
    problems: list[str] = []
    sections: dict[str, list[Item]] = {}
    for section, items in data.items():
        if section not in SECTIONS:
            problems.append(
                f"{path}: unknown top-level key {section!r}; the keys are {_known_sections()}"
            )
        elif not isinstance(items, list):
            problems.append(
                f"{path}: {section}: must be a list of objects (write `{section}: []` for none)"
            )
        else:
            sections[section] = [
                _load_item(path, section, index, raw, environ, problems)
                for index, raw in enumerate(items)
            ]
    for section, items in sections.items():
        _check_unique(items, "name", problems)
        if section in ENDPOINT_FORGES:
            _check_unique(items, "slug", problems)
    if problems:
        raise ConfigError(problems)
    return Config(path=path, sections=sections)


def parse_yaml(text: str, path: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 -- a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = exc.problem or exc.context or "malformed YAML"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        raise ConfigError([f"{path}: {where}{what}{context}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {exc}"]) from None


def expand(text: str, environ: Mapping[str, str]) -> str:
    """Replace ${NAME} with the environment's value; $${ stays a literal ${.

    Raises ValueError naming every variable that is not set, or a malformed ${.
    """
    missing: list[str] = []

    def replace(match: re.Match) -> str:
        token = match.group(0)
        if token == "$${":
            return "${"
        name = match.group(1)
        if name is None:
            raise ValueError(
                "'${' must start a variable such as ${API_KEY} (letters, digits and _); "
                "write $${ for a literal ${"
            )
        if name not in environ:
            missing.append(name)
            return ""
        return environ[name]

    result = _TOKEN.sub(replace, text)
    if missing:
        names = ", ".join(dict.fromkeys(missing))
        plural = "s" if len(set(missing)) > 1 else ""
        raise ValueError(f"environment variable{plural} {names} not set")
    return result


def _load_item(
    path: str, section: str, index: int, raw: Any, environ: Mapping[str, str], problems: list
) -> Item:
    name = raw.get("name") if isinstance(raw, dict) else None
    item = Item(path, section, index, name if isinstance(name, str) else "")
    if not isinstance(raw, dict):
        problems.append(item.where(message=f"must be a mapping of keys, not {_type_name(raw)}"))
        return item
    keys = keys_of(section)
    for key in raw:
        if key not in keys:
            problems.append(
                item.where(str(key), f"unknown key; the keys of {section} are {', '.join(keys)}")
            )
    for key in keys.values():
        if key.name in raw:
            _load_value(item, key, raw[key.name], environ, problems)
        elif key.required:
            problems.append(item.where(key.name, "missing (required)"))
    if isinstance(item.values.get("name"), str) and item.values["name"] != item.name:
        item = Item(path, section, index, item.values["name"], item.values)
    if "name" in item.values and not item.name.strip():
        problems.append(item.where("name", "must not be empty"))
    return item


def _load_value(item: Item, key, value: Any, environ: Mapping[str, str], problems: list) -> None:
    problem = None if value is None and key.nullable else _type_problem(value, key.type)
    if problem:
        problems.append(item.where(key.name, problem))
        return
    try:
        item.values[key.name] = _substitute(value, environ)
    except ValueError as exc:
        problems.append(item.where(key.name, str(exc)))


def _type_problem(value: Any, expected: str) -> str | None:
    ok = {
        STR: lambda v: isinstance(v, str),
        INT: lambda v: isinstance(v, int) and not isinstance(v, bool),
        NUMBER: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        BOOL: lambda v: isinstance(v, bool),
        OBJECT: lambda v: isinstance(v, dict),
        NAMES: lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    }[expected](value)
    if not ok:
        return f"must be {TYPE_WORDS[expected]}, not {_type_name(value)}"
    if expected == OBJECT:
        return _json_problem(value)
    return None


def _json_problem(value: Any, at: str = "") -> str | None:
    """Values stored as JSON must survive the round trip: string keys, plain scalars."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"key {key!r}{at} must be a string (quote it)"
            if problem := _json_problem(item, f" in {key!r}" if not at else f"{at}.{key}"):
                return problem
    elif isinstance(value, list):
        for item in value:
            if problem := _json_problem(item, at):
                return problem
    elif isinstance(value, float) and not math.isfinite(value):
        return f"numbers must be finite{at}"
    elif value is not None and not isinstance(value, (str, int, float, bool)):
        return f"{_type_name(value)}{at} cannot be stored as JSON (quote it to make it a string)"
    return None


def _substitute(value: Any, environ: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return expand(value, environ)
    if isinstance(value, dict):
        return {key: _substitute(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, environ) for item in value]
    return value


def _check_unique(items: list[Item], key: str, problems: list[str]) -> None:
    seen: dict[str, Item] = {}
    for item in items:
        value = item.values.get(key)
        if not isinstance(value, str):
            continue
        if value in seen:
            first = seen[value]
            problems.append(
                item.where(key, f"{value!r} is already used by {first.section}[{first.index}]")
            )
        else:
            seen[value] = item


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    names = {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }
    return names.get(type(value), f"a {type(value).__name__}")


def _known_sections() -> str:
    return ", ".join(SECTIONS)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # unhashable: the base class reports it
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"key {key!r} appears twice in one mapping (first on line {first + 1})",
                        key_node.start_mark,
                    )
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)
