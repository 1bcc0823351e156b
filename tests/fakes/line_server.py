"""A local Messaging API server for the LINE transport
(https://developers.line.biz/en/reference/messaging-api/#send-push-message).

It takes `POST /v2/bot/message/push` with `Authorization: Bearer <channel access token>`.
The recipient's URL is the server's base URL (`url`), the token its secret. Like LINE it
answers 401 for another token whatever is scripted, and it keeps the retry keys of the pushes
it accepted (`accepted`: key -> request id): a push that repeats one is answered 409 with
`x-line-accepted-request-id` instead of being delivered twice
(https://developers.line.biz/en/docs/messaging-api/retrying-api-request/). Otherwise it
answers from the script (tests/fixtures/line/*.json, sources in the README there).

Standalone: `python -m tests.fakes.chat_server --kind line --answer monthly_limit`.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from tests.fakes.chat_server import FIXTURES, Answer, ChatServer, Received

# Shaped like a long-lived channel access token: 172 characters of base64.
TOKEN = (
    "ctZQpNmCOdVl16A2G6sK/ltgaOO5G936Jn4IDgzyAdslKWmI16l2CjoNZo+ZQ8K9/iyJG9SFpq9HhbxuCBqUp+"
    "BljWYQh0m44UFSBh5PjIgiNErRrQ18+/e+nae89Z0Wscy/Di21065un9bciW8Iba+pFP/0qzhOmIzdWymFvwk="
)
USER_ID = "U4af4980629a1b2c3d4e5f60718293a4b"


class LineReceiver(ChatServer):
    kind = "line"
    secret = TOKEN
    path = "/v2/bot/message/push"
    query = ""
    fixtures = FIXTURES.parent / "line"
    options = {"to": USER_ID}  # what test_fixtures builds the transport with
    presets = {
        "success": "success",
        "success_empty": "success_empty",
        "retry_key_accepted": "retry_key_accepted",
        "invalid_to": "invalid_to",
        "bad_request": "bad_request",
        "failed_to_send": "failed_to_send",
        "invalid_token": "invalid_token",
        "forbidden": "forbidden",
        "monthly_limit": "monthly_limit",
        "rate_limited": "rate_limited",
        "server_error": "server_error",
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.accepted: dict[str, str] = {}

    @property
    def url(self) -> str:
        """What a user puts in the recipient's URL: the server, without the token."""
        return self.base_url

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self.accepted.clear()

    def _next_answer(self, request: Received) -> Answer:
        key = request.header("X-Line-Retry-Key") or ""
        if request.header("Authorization") != f"Bearer {self.secret}":
            return self._answer_now(request, self._resolve("invalid_token"))
        with self.lock:
            if key in self.accepted:
                return self._answer_now(request, self._already_accepted(self.accepted[key]))
            answer = super()._next_answer(request)
            # Accepted as soon as it is answered 2xx, even if the answer never arrives (a
            # delayed answer the client gave up on): that is what retry keys are for.
            if key and 200 <= answer.status < 300:
                self.accepted[key] = str(uuid.uuid4())
        return answer

    def _already_accepted(self, request_id: str) -> Answer:
        answer = self._resolve("retry_key_accepted")
        headers = [(k, v) for k, v in answer.headers if k.lower() != "x-line-accepted-request-id"]
        return replace(answer, headers=(*headers, ("x-line-accepted-request-id", request_id)))

    def _answer_now(self, request: Received, answer: Answer) -> Answer:
        with self.lock:
            self.record(request)
            self.answers_given.append(answer)
        return answer
