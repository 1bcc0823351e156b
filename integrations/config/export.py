"""The database's configuration as a file `hub apply` reads back unchanged.

Every key is written out, defaults included. Secrets become ${NAME} placeholders named after
their object (DIFY_APP_WEATHER_API_KEY); a literal ${ elsewhere is written $${ so it stays
literal when applied.
"""

from __future__ import annotations

from typing import Any

import yaml

from integrations.channels.registry import get_transport
from integrations.config.schema import ENDPOINT_FORGES, SECTIONS, placeholder_name
from integrations.models import DifyApp, Digest, Recipient, ReviewEndpoint


def export_config() -> str:
    exporter = _Exporter()
    data = {
        "dify_apps": [exporter.app(app) for app in DifyApp.objects.order_by("name")],
        "recipients": [exporter.recipient(r) for r in Recipient.objects.order_by("name")],
        "digests": [
            exporter.digest(d)
            for d in Digest.objects.select_related("app").prefetch_related("recipients")
        ],
    }
    endpoints = ReviewEndpoint.objects.select_related("app").prefetch_related("recipients")
    for section, forge in ENDPOINT_FORGES.items():
        found = [exporter.endpoint(section, e) for e in endpoints.filter(forge=forge)]
        if found or section == "gitlab_endpoints":  # the GitLab section, as before, always
            data[section] = found
    header = ["# dify-hub configuration, written by `python manage.py hub export`."]
    if exporter.variables:
        header.append("# Before `hub apply`, set these environment variables to the secrets:")
        header.extend(f"#   {name}" for name in exporter.variables)
    body = yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False
    )
    return "\n".join(header) + "\n" + body


class _Exporter:
    def __init__(self) -> None:
        self.variables: list[str] = []

    def app(self, app: DifyApp) -> dict[str, Any]:
        return self._item("dify_apps", app)

    def recipient(self, recipient: Recipient) -> dict[str, Any]:
        skip = set() if get_transport(recipient.kind).needs_secret else {"secret"}
        return self._item("recipients", recipient, skip)

    def digest(self, digest: Digest) -> dict[str, Any]:
        return self._item("digests", digest)

    def endpoint(self, section: str, endpoint: ReviewEndpoint) -> dict[str, Any]:
        return self._item(section, endpoint)

    def _item(self, section: str, obj, skip: frozenset | set = frozenset()) -> dict:
        item: dict[str, Any] = {}
        for key in SECTIONS[section]:
            if key.name in skip:
                continue
            if key.secret:
                item[key.name] = self._placeholder(section, obj, key)
            elif key.field == "app":
                item[key.name] = _escape(obj.app.name)
            elif key.field == "recipients":
                item[key.name] = sorted(_escape(r.name) for r in obj.recipients.all())
            else:
                item[key.name] = _escape(getattr(obj, key.field))
        return item

    def _placeholder(self, section: str, obj, key) -> str:
        if key.field != "secret_token_hash" and not getattr(obj, key.field):
            return ""  # an optional secret that is not set
        name = base = placeholder_name(section, obj.name, key.name)
        number = 2
        while name in self.variables:  # two names that differ only in punctuation
            name, number = f"{base}_{number}", number + 1
        self.variables.append(name)
        return "${" + name + "}"


def _escape(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, dict):
        return {key: _escape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_escape(item) for item in value]
    return value


class _Dumper(yaml.SafeDumper):
    """Indents lists under their key, as people write them."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)
