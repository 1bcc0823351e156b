"""A local Bot API server for the Telegram transport (https://core.telegram.org/bots/api).

It takes `POST /bot<token>/sendMessage` as api.telegram.org does. The recipient's URL is the
server's base URL (`url`), since the bot token is the recipient's secret, not part of the URL.
Like the real server it answers 401 "Unauthorized" for another well-formed token and 404
"Not Found" for any other path, whatever is scripted; otherwise it answers from the script
(the answers are tests/fixtures/telegram/*.json, sources in the README there).

Standalone: `python -m tests.fakes.chat_server --kind telegram --answer chat_not_found`.
"""

from __future__ import annotations

import re

from tests.fakes.chat_server import FIXTURES, Answer, ChatServer, Received

TOKEN = "7312849905:AAGk3Xq9VmW2xLr8NcY4bJh6DzT1pQe5uIo"  # shaped like @BotFather's


class TelegramReceiver(ChatServer):
    kind = "telegram"
    secret = TOKEN
    path = f"/bot{TOKEN}/sendMessage"
    query = ""
    fixtures = FIXTURES.parent / "telegram"
    options = {"chat_id": "-1001234567890"}  # what test_fixtures builds the transport with
    presets = {
        "success": "success",
        "unauthorized": "unauthorized",
        "not_found": "not_found",
        "chat_not_found": "chat_not_found",
        "blocked_by_user": "blocked_by_user",
        "kicked": "kicked",
        "not_a_member": "not_a_member",
        "not_started": "not_started",
        "cant_parse_entities": "cant_parse_entities",
        "thread_not_found": "thread_not_found",
        "migrated": "migrated",
        "too_long": "message_too_long",
        "rate_limited": "rate_limited",
        "server_error": "server_error",
    }

    @property
    def url(self) -> str:
        """What a user puts in the recipient's URL: the server, without the token."""
        return self.base_url

    def _next_answer(self, request: Received) -> Answer:
        if request.path == self.path:
            return super()._next_answer(request)
        # The Bot API's answer to a token it does not know, or to a path that is no method.
        wrong_token = re.fullmatch(r"/bot\d+:[^/]+/sendMessage", request.path)
        answer = self._resolve("unauthorized" if wrong_token else "not_found")
        with self.lock:
            self.record(request)
            self.answers_given.append(answer)
        return answer
