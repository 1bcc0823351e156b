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
    ]


def test_it_says_which_kinds_take_a_signing_secret():
    assert {k for k in TRANSPORTS if get_transport(k).needs_secret} == {
        "feishu",
        "dingtalk",
        "webhook",
    }


def test_it_rejects_an_unknown_kind():
    with pytest.raises(KeyError, match="unknown chat kind 'irc'"):
        get_transport("irc")


def test_the_package_never_imports_django():
    for path in PACKAGE.glob("*.py"):
        assert not re.search(r"^\s*(from|import)\s+django", path.read_text(), re.MULTILINE), (
            path.name
        )
    code = (
        "import sys, integrations.channels as c\n"
        "[c.get_transport(k) for k in c.TRANSPORTS]\n"
        "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules), 'django imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parents[1])
