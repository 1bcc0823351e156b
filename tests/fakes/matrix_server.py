"""A local Matrix homeserver, as far as a bot sending messages goes: it takes
`PUT /_matrix/client/v3/rooms/{roomId}/send/m.room.message/{txnId}` and answers the alias
lookup `GET /_matrix/client/v3/directory/room/{alias}`, like Synapse does
(tests/fixtures/matrix/, sources in its README).

Sends are answered from the usual script (`answer`, `always`, `hang`); lookups from their
own (`answer_directory`; by default the alias resolves to `room_id`), so a test can script
one without counting the other. Lookup answers live in tests/fixtures/matrix/directory/:
tests/channels/test_fixtures.py judges every file at the top level as an answer to a send,
which a lookup answer is not; tests/channels/test_matrix.py judges these.

    with MatrixReceiver() as server:
        transport = MatrixTransport(server.url, {"room": server.alias}, server.secret)
        server.answer_directory("not_found")
        ...
        server.sends()[-1].json               # the event content
        MatrixReceiver.txn_id(server.sends()[-1])

Standalone: `python -m tests.fakes.chat_server --kind matrix`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from tests.fakes.chat_server import Answer, ChatServer, Received

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "matrix"
DIRECTORY_FIXTURES = FIXTURES / "directory"

CLIENT_API = "/_matrix/client/v3"
_SEND = re.compile(re.escape(CLIENT_API) + r"/rooms/([^/]+)/send/m\.room\.message/([^/]+)")
_LOOKUP = re.compile(re.escape(CLIENT_API) + r"/directory/room/([^/]+)")


class MatrixReceiver(ChatServer):
    kind = "matrix"
    path = CLIENT_API  # a prefix: every request goes below it
    query = ""
    fixtures = FIXTURES
    # Synapse's token shape: syt_<base64 of the localpart>_<random>_<checksum>.
    secret = "syt_ZGlmeS1ib3Q_qWeRtYuIoPaSdFgHjKlZ_0a1B2c"
    room_id = "!hWkYzJvLqPcRsTuX:example.org"
    alias = "#family:example.org"
    options = {"room": room_id}
    presets = {
        "success": "success",
        "forbidden_not_in_room": "forbidden_not_in_room",
        "forbidden_power_level": "forbidden_power_level",
        "forbidden_unknown_room": "forbidden_unknown_room",
        "unknown_token": "unknown_token",
        "soft_logout": "soft_logout",
        "missing_token": "missing_token",
        "unrecognized": "unrecognized",
        "too_large": "too_large",
        "bad_event": "bad_event",
        "rate_limited": "rate_limited",
        "rate_limited_body_only": "rate_limited_body_only",
        "server_error": "server_error",
    }
    # Answers to the alias lookup: preset -> file in DIRECTORY_FIXTURES.
    directory_presets = {
        "resolved": "resolved",
        "not_found": "not_found",
        "federation_failed": "federation_failed",
    }

    def __init__(self, *args: Any, directory: str | Answer = "resolved", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._directory_default = self._resolve_directory(directory)

    @property
    def url(self) -> str:
        """The homeserver URL a recipient is given (the API paths are the transport's)."""
        return self.base_url

    @property
    def secrets(self) -> list[str]:
        return [self.url, self.secret]

    def expects_path(self, path: str) -> bool:
        return _SEND.fullmatch(path) is not None

    # -- scripting the lookup ---------------------------------------------------------

    def answer_directory(self, *answers: str | Answer) -> None:
        """Queue answers for the next alias lookups."""
        self.queue("directory", *(self._resolve_directory(a) for a in answers))

    def _resolve_directory(self, answer: str | Answer) -> Answer:
        if isinstance(answer, Answer):
            return answer
        return Answer.from_fixture(self.directory_presets.get(answer, answer), DIRECTORY_FIXTURES)

    def _next_answer(self, request: Received) -> Answer:
        if not (request.method == "GET" and _LOOKUP.fullmatch(request.path)):
            return super()._next_answer(request)
        with self.lock:
            self.record(request)
            answer = self.pop("directory") or self._directory_default
            self.answers_given.append(answer)
        return answer

    # -- reading what was sent --------------------------------------------------------

    def sends(self) -> list[Received]:
        return [r for r in self.requests if _SEND.fullmatch(r.path)]

    def lookups(self) -> list[Received]:
        return [r for r in self.requests if _LOOKUP.fullmatch(r.path)]

    @staticmethod
    def txn_id(request: Received) -> str:
        return unquote(_SEND.fullmatch(request.path).group(2))

    @staticmethod
    def room(request: Received) -> str:
        return unquote(_SEND.fullmatch(request.path).group(1))

    @staticmethod
    def looked_up(request: Received) -> str:
        return unquote(_LOOKUP.fullmatch(request.path).group(1))
