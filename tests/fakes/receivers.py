"""Every HTTP chat kind's fake receiver, by kind: the first kinds' (tests/fakes/chat_server.py)
and the later ones, each in its own module. Email (SMTP) and Apprise (many protocols) have
their own fakes and are not here."""

from __future__ import annotations

from tests.fakes.chat_server import CHAT_RECEIVERS, ChatServer
from tests.fakes.line_server import LineReceiver
from tests.fakes.matrix_server import MatrixReceiver
from tests.fakes.ntfy_server import NtfyReceiver
from tests.fakes.telegram_server import TelegramReceiver

RECEIVERS: dict[str, type[ChatServer]] = {
    **CHAT_RECEIVERS,
    **{r.kind: r for r in (TelegramReceiver, LineReceiver, NtfyReceiver, MatrixReceiver)},
}
