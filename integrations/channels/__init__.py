"""Chat transports: deliver a Message to Rocket.Chat, Slack, Mattermost,
Discord, Teams, Feishu, DingTalk, WeCom or a generic JSON webhook.

Plain Python (requests only, no Django). See base.py for the contract and
registry.py for the list of kinds.
"""

from .base import Message, OptionsError, Reply, Transport, TransportError
from .registry import TRANSPORTS, get_transport, kind_choices

__all__ = [
    "TRANSPORTS",
    "Message",
    "OptionsError",
    "Reply",
    "Transport",
    "TransportError",
    "get_transport",
    "kind_choices",
]
