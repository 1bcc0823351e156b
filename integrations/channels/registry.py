"""Which transport class handles which recipient kind.

Adding a kind = one module in this package + one line in TRANSPORTS.
Classes are imported on first use (healthchecks does the same), so importing
the registry stays cheap.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module

from .base import Transport

TRANSPORTS: dict[str, str] = {
    "rocketchat": "integrations.channels.rocketchat.RocketChatTransport",
    "slack": "integrations.channels.slack.SlackTransport",
    "mattermost": "integrations.channels.mattermost.MattermostTransport",
    "discord": "integrations.channels.discord.DiscordTransport",
    "teams": "integrations.channels.teams.TeamsTransport",
    "feishu": "integrations.channels.feishu.FeishuTransport",
    "dingtalk": "integrations.channels.dingtalk.DingTalkTransport",
    "wecom": "integrations.channels.wecom.WeComTransport",
    "webhook": "integrations.channels.webhook.WebhookTransport",
    # Email goes through Django's mail API, so it lives outside this Django-free package.
    "email": "integrations.email.transport.EmailTransport",
    "telegram": "integrations.channels.telegram.TelegramTransport",
    "line": "integrations.channels.line.LineTransport",
    "ntfy": "integrations.channels.ntfy.NtfyTransport",
    "matrix": "integrations.channels.matrix.MatrixTransport",
    "apprise": "integrations.channels.apprise.AppriseTransport",
}

# Labels live here too, so that the model's choices never import a transport module.
LABELS: dict[str, str] = {
    "rocketchat": "Rocket.Chat",
    "slack": "Slack",
    "mattermost": "Mattermost",
    "discord": "Discord",
    "teams": "Microsoft Teams",
    "feishu": "Feishu",
    "dingtalk": "DingTalk",
    "wecom": "WeCom",
    "webhook": "Webhook",
    "email": "Email",
    "telegram": "Telegram",
    "line": "LINE",
    "ntfy": "ntfy",
    "matrix": "Matrix",
    "apprise": "Apprise",
}


def get_transport(kind: str) -> type[Transport]:
    """The Transport class for `kind`; KeyError for an unknown kind."""
    if kind not in TRANSPORTS:
        raise KeyError(f"unknown chat kind {kind!r} (known: {', '.join(TRANSPORTS)})")
    return _load(TRANSPORTS[kind], kind)


def kind_choices() -> list[tuple[str, str]]:
    """(kind, label) pairs in registry order, for model/form choices."""
    return [(kind, LABELS[kind]) for kind in TRANSPORTS]


@cache
def _load(path: str, kind: str) -> type[Transport]:
    module_name, _, class_name = path.rpartition(".")
    cls = getattr(import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, Transport)) or cls.kind != kind:
        raise TypeError(f"{path} is not the Transport for {kind!r}")
    if cls.label != LABELS[kind]:
        raise TypeError(f"{path} is labelled {cls.label!r}, the registry says {LABELS[kind]!r}")
    return cls
