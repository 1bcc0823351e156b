"""Compare a loaded configuration with the database: what to create, change, leave, delete.

Reads only. Each object in the file is built as the model instance it would become and checked
with the model's own `full_clean()` plus the few rules the admin forms add, so the admin and
`hub apply` share one set of rules. Nothing here talks to Dify or GitLab.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, ValidationError

from integrations.channels.registry import TRANSPORTS
from integrations.checks import CheckReport
from integrations.checks.dify_app import load_from_dify
from integrations.config.loader import Config, ConfigError, Item
from integrations.config.schema import (
    ENDPOINT_FORGES,
    GITHUB_COM,
    LABELS,
    ORDER,
    SECTIONS,
    key_for_field,
)
from integrations.gitlab.signing import token_matches
from integrations.models import DifyApp, Digest, Recipient, ReviewEndpoint, Run

CREATE, CHANGE, UNCHANGED, DELETE, KEEP = "create", "change", "unchanged", "delete", "keep"
MODELS = {
    "dify_apps": DifyApp,
    "recipients": Recipient,
    "digests": Digest,
    "gitlab_endpoints": ReviewEndpoint,
    "github_endpoints": ReviewEndpoint,
    "gitea_endpoints": ReviewEndpoint,
}
MIN_SECRET_TOKEN = 16  # as the admin form asks
_UNSET = object()


@dataclass(frozen=True)
class Change:
    key: str
    before: Any
    after: Any
    secret: bool = False

    def describe(self) -> str:
        if self.secret:
            return f"{self.key}: (changed)"  # never a secret's value, old or new
        return f"{self.key}: {_show(self.before)} -> {_show(self.after)}"


@dataclass
class Step:
    section: str
    name: str
    action: str
    instance: Any
    changes: list[Change] = field(default_factory=list)
    recipients: list | None = None  # the many-to-many to set; None: leave it as it is
    note: str = ""
    checked: bool = False  # a Dify app whose mode and form were just read from Dify
    keys: list[str] = field(default_factory=list)  # a created object's keys in the file


@dataclass
class Plan:
    path: str
    steps: list[Step]

    def count(self, action: str) -> int:
        return sum(1 for step in self.steps if step.action == action)

    def of(self, section: str, *actions: str) -> list[Step]:
        return [s for s in self.steps if s.section == section and s.action in actions]


def build_plan(
    config: Config,
    *,
    prune: bool = False,
    check: bool = False,
    load: Callable[[DifyApp], CheckReport] = load_from_dify,
) -> Plan:
    """The plan for `config`; ConfigError listing every problem if there is any. With
    `check`, each app of the file has its mode and input form read (`load`: from Dify) first,
    so the digests and endpoints on it are checked against them."""
    return _Planner(config, prune, check, load).plan()


class _Planner:
    def __init__(
        self, config: Config, prune: bool, check: bool, load: Callable[[DifyApp], CheckReport]
    ) -> None:
        self.config = config
        self.prune = prune
        self.check = check
        self.load = load
        self.problems: list[str] = []
        self.steps: list[Step] = []
        self.existing = {section: _existing(section) for section in ORDER}
        # Only the sections the file has are managed; --prune deletes inside those alone.
        self.unnamed = {
            section: sorted(set(self.existing[section]) - {item.name for item in items})
            for section, items in config.sections.items()
        }
        self.deleting = {
            section: set(self.unnamed.get(section, ())) if prune else set() for section in ORDER
        }
        # What a reference may point at: kept database rows, then the file's objects.
        self.pool = {
            section: {
                name: obj
                for name, obj in self.existing[section].items()
                if name not in self.deleting[section]
            }
            for section in ORDER
        }

    def plan(self) -> Plan:
        for section in ORDER:
            for item in self.config.sections.get(section, []):
                step = self._plan_item(item)
                self.pool[section][item.name] = step.instance
                self.steps.append(step)
            for name in self.unnamed.get(section, ()):
                obj = self.existing[section][name]
                if self.prune:
                    self.steps.append(Step(section, name, DELETE, obj, note=_delete_note(obj)))
                else:
                    self.steps.append(Step(section, name, KEEP, obj))
        for step in self.steps:
            if step.action == DELETE and step.section == "dify_apps":
                self._check_app_deletable(step.instance)
        self._check_digests_keep_a_recipient()
        if self.problems:
            raise ConfigError(self.problems)
        return Plan(self.config.path, self.steps)

    # --- one object ----------------------------------------------------------------------

    def _plan_item(self, item: Item) -> Step:
        section = item.section
        existing = self.existing[section].get(item.name)
        before = _fields(section, existing) if existing is not None else None
        obj = existing if existing is not None else _new(section, item.name)
        failed = len(self.problems)
        recipients = self._set_values(item, obj)
        self._check_before_clean(item, obj)
        if section != "recipients" or obj.kind in TRANSPORTS:  # Recipient.clean needs a kind
            self._full_clean(item, obj)
        self._check_after_clean(item, obj, recipients)
        action = CHANGE if existing is not None else CREATE
        if len(self.problems) > failed:
            return Step(section, item.name, action, obj)
        step = self._step(item, existing, before, obj, recipients)
        if section == "dify_apps" and self.check:
            report = self.load(obj)
            if not report.ok:
                self._problem(item, None, f"--check: {report.summary}")
            step.checked, step.note = True, f"checked: {report.summary}"
        return step

    def _set_values(self, item: Item, obj) -> list | None:
        """Set each key of the file on `obj`; returns the recipients named, if the section has
        them (a many-to-many, set once the object is saved)."""
        recipients = None
        for key in SECTIONS[item.section]:
            value = item.values.get(key.name, _UNSET)
            if key.name == "name":
                continue
            if key.field == "app":
                if (target := self._ref(item, "app", "dify_apps", value)) is not None:
                    obj.app = target
            elif key.field == "recipients":
                names = [] if value is _UNSET else list(dict.fromkeys(value))
                recipients = [self._ref(item, "recipients", "recipients", n) for n in names]
            elif key.field == "secret_token_hash":
                self._set_secret_token(item, obj, value)
            else:
                if value is _UNSET:
                    value = obj._meta.get_field(key.field).get_default()
                setattr(obj, key.field, value)
        return recipients

    def _step(self, item: Item, existing, before, obj, recipients) -> Step:
        section = item.section
        recipients = sorted(recipients, key=lambda r: r.name) if recipients is not None else None
        if existing is None:
            return Step(
                section, item.name, CREATE, obj, recipients=recipients, keys=sorted(item.values)
            )
        after = _fields(section, obj, item)
        changes = [
            Change(key.name, before[key.name], after[key.name], key.secret)
            for key in SECTIONS[section]
            if before[key.name] != after[key.name]
        ]
        if not changes:
            return Step(section, item.name, UNCHANGED, obj)
        changed_m2m = any(c.key == "recipients" for c in changes)
        return Step(section, item.name, CHANGE, obj, changes, recipients if changed_m2m else None)

    def _ref(self, item: Item, key: str, section: str, name: str):
        if name in self.pool[section]:
            return self.pool[section][name]
        label = LABELS[section]
        if name in self.deleting[section]:
            message = (
                f"{label} '{name}' is not in the file, so --prune would delete it; "
                f"add it to {section}"
            )
        else:
            message = f"no {label} named '{name}' in the file or the database"
        self.problems.append(item.where(key, message))
        return None

    def _set_secret_token(self, item: Item, obj: ReviewEndpoint, token: str) -> None:
        token = token.strip()  # as the admin form does
        if len(token) < MIN_SECRET_TOKEN:
            self._problem(item, "secret_token", f"use at least {MIN_SECRET_TOKEN} characters")
        if not token_matches(obj.secret_token_hash, token):
            obj.set_secret_token(token)  # salted: only re-hash when the token really changed

    def _check_before_clean(self, item: Item, obj) -> None:
        """The admin forms' rules that the models do not hold, checked before full_clean."""
        values = item.values
        if item.section == "dify_apps":
            obj.base_url = obj.base_url.rstrip("/")
            if any(ch.isspace() for ch in obj.api_key):
                self._problem(item, "api_key", "contains spaces or line breaks; paste it exactly")
        elif item.section == "github_endpoints" and not obj.base_url:
            obj.base_url = GITHUB_COM
        elif item.section == "recipients":
            kind = values.get("kind")
            if kind not in TRANSPORTS:
                self._problem(
                    item, "kind", f"unknown kind {kind!r}; one of {', '.join(TRANSPORTS)}"
                )

    def _check_after_clean(self, item: Item, obj, recipients: list | None) -> None:
        if item.section != "digests":
            return
        if obj.enabled and not recipients:
            self._problem(item, "recipients", "an enabled digest needs at least one recipient")

    def _full_clean(self, item: Item, obj) -> None:
        exclude = ["app"] if item.section in ("digests", *ENDPOINT_FORGES) else []
        try:
            obj.full_clean(exclude=exclude, validate_unique=False)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                key = None if name == NON_FIELD_ERRORS else key_for_field(item.section, name)
                for message in messages:
                    self._problem(item, key, message)
        if item.section in ENDPOINT_FORGES:
            self._check_free(item, obj)

    def _check_free(self, item: Item, obj: ReviewEndpoint) -> None:
        """Slugs and names are unique over every forge's endpoints."""
        for section in ENDPOINT_FORGES:
            for name, other in self.existing[section].items():
                if name in self.deleting[section] or (section, name) == (item.section, item.name):
                    continue
                if other.slug == obj.slug:
                    self._problem(
                        item, "slug", f"'{obj.slug}' is the slug of {LABELS[section]} '{name}'"
                    )
                if name == item.name:
                    self._problem(item, "name", f"{LABELS[section]} '{name}' has this name")

    def _check_app_deletable(self, app: DifyApp) -> None:
        runs = Run.objects.filter(app=app).count()
        if runs:
            self.problems.append(
                f"{self.config.path}: dify_apps: --prune would delete Dify app '{app.name}', "
                f"but {runs} run{' refers' if runs == 1 else 's refer'} to it (run history keeps its "
                f"app); keep '{app.name}' in the file, or delete those runs first"
            )
        for section in ("digests", *ENDPOINT_FORGES):
            # Objects the file names are checked by their own reference; these are the rest.
            named = {item.name for item in self.config.sections.get(section, [])}
            for name, obj in self.pool[section].items():
                if name not in named and _app_name(obj) == app.name:
                    self.problems.append(
                        f"{self.config.path}: dify_apps: --prune would delete Dify app "
                        f"'{app.name}', but {LABELS[section]} '{name}' uses it"
                    )

    def _check_digests_keep_a_recipient(self) -> None:
        """An enabled digest the file does not name must not lose its last recipient to
        --prune (the file's own digests are checked by their `recipients` key)."""
        gone = self.deleting["recipients"]
        if not gone:
            return
        named = {item.name for item in self.config.sections.get("digests", [])}
        for name, digest in self.pool["digests"].items():
            if name in named or not digest.enabled:
                continue
            recipients = {recipient.name for recipient in digest.recipients.all()}
            if recipients and recipients <= gone:
                self.problems.append(
                    f"{self.config.path}: recipients: --prune would delete "
                    f"{', '.join(repr(r) for r in sorted(recipients))}, the last recipient(s) "
                    f"of enabled digest '{name}'; keep one in the file, or disable the digest"
                )

    def _problem(self, item: Item, key: str | None, message: str) -> None:
        self.problems.append(item.where(key, message))


def _existing(section: str) -> dict[str, Any]:
    queryset = MODELS[section].objects.all()
    if section in ENDPOINT_FORGES:
        queryset = queryset.filter(forge=ENDPOINT_FORGES[section])
    if section in ("digests", *ENDPOINT_FORGES):
        queryset = queryset.select_related("app").prefetch_related("recipients")
    return {obj.name: obj for obj in queryset}


def _new(section: str, name: str):
    if section in ENDPOINT_FORGES:
        return ReviewEndpoint(name=name, forge=ENDPOINT_FORGES[section])
    return MODELS[section](name=name)


def _fields(section: str, obj, item: Item | None = None) -> dict[str, Any]:
    """What the file's keys hold for `obj`; references by name (from `item` once it is set)."""
    values: dict[str, Any] = {}
    for key in SECTIONS[section]:
        if key.field == "app":
            values[key.name] = item.values["app"] if item else _app_name(obj)
        elif key.field == "recipients":
            if item is not None:
                values[key.name] = sorted(set(item.values.get(key.name, [])))
            else:
                values[key.name] = sorted(r.name for r in obj.recipients.all())
        else:
            values[key.name] = getattr(obj, key.field)
    return values


def _app(obj) -> DifyApp | None:
    try:
        return obj.app
    except ObjectDoesNotExist:
        return None


def _app_name(obj) -> str | None:
    app = _app(obj)
    return app.name if app is not None else None


def _delete_note(obj) -> str:
    if isinstance(obj, ReviewEndpoint):
        events = obj.events.count()
        if events:
            return f"with its {events} webhook event{'s' if events != 1 else ''}"
    return ""


def _show(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"
