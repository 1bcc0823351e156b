"""The kind registry, and the rule that this package stays Django-free."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

from integrations.channels import TRANSPORTS, Transport, get_transport, kind_choices

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "integrations" / "channels"


def test_it_maps_every_kind_to_its_class():
    for kind in TRANSPORTS:
        cls = get_transport(kind)
        assert issubclass(cls, Transport)
        assert cls.kind == kind


def test_it_offers_choices_in_registry_order():
    assert kind_choices() == [
        ("rocketchat", "Rocket.Chat"),
        ("slack", "Slack"),
        ("mattermost", "Mattermost"),
        ("discord", "Discord"),
        ("teams", "Microsoft Teams"),
        ("feishu", "Feishu"),
        ("dingtalk", "DingTalk"),
        ("wecom", "WeCom"),
        ("webhook", "Webhook"),
        ("email", "Email"),
        ("telegram", "Telegram"),
        ("line", "LINE"),
        ("ntfy", "ntfy"),
        ("matrix", "Matrix"),
        ("apprise", "Apprise"),
    ]


def test_it_says_which_kinds_take_a_secret_and_which_need_one():
    assert {k for k in TRANSPORTS if get_transport(k).needs_secret} == {
        "feishu",
        "dingtalk",
        "webhook",
        "telegram",
        "line",
        "ntfy",
        "matrix",
    }
    assert {k for k in TRANSPORTS if get_transport(k).secret_required} == {
        "telegram",
        "line",
        "matrix",
    }


def test_only_the_kinds_with_a_public_default_may_leave_the_url_empty():
    optional = {
        k: get_transport(k).default_url for k in TRANSPORTS if not get_transport(k).url_required
    }
    assert optional == {
        "email": "",
        "telegram": "https://api.telegram.org",
        "line": "https://api.line.me",
    }


def test_the_model_choices_load_no_transport_module():
    code = (
        "import sys, integrations.channels.registry as r\n"
        "r.kind_choices()\n"
        "assert not [m for m in sys.modules if m.startswith('integrations.channels.') and "
        "m.rsplit('.', 1)[1] in r.TRANSPORTS], 'a transport was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parents[1])


def test_it_rejects_an_unknown_kind():
    with pytest.raises(KeyError, match="unknown chat kind 'irc'"):
        get_transport("irc")


def test_the_package_never_imports_django():
    for path in PACKAGE.glob("*.py"):
        assert not re.search(r"^\s*(from|import)\s+django", path.read_text(), re.MULTILINE), (
            path.name
        )
    # Email goes through Django's mail API by design, so it lives outside this package.
    code = (
        "import sys, integrations.channels as c\n"
        "[c.get_transport(k) for k, path in c.TRANSPORTS.items()"
        " if path.startswith('integrations.channels.')]\n"
        "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules), 'django imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parents[1])
