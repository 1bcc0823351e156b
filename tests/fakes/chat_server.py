"""A local receiver that speaks like the chat services' incoming webhooks.

It listens on 127.0.0.1 (an ephemeral port unless told otherwise; the lifecycle and
the request log are the shared fake base's, tests/fakes/base.py), records
every request (method, path, query, headers, raw body, parsed JSON) and
answers from a script. Answers are the services' real ones, byte for byte
(status, content type, body), kept as JSON files in tests/fixtures/chat/:

    {"status": 400, "headers": {"Content-Type": "application/json"},
     "body": {"success": false, "error": "invalid-channel"},   # object -> compact JSON
     "expect": "permanent", "source": "where the shape comes from"}

A string "body" is sent verbatim (Slack's "ok", Discord's spaced JSON).

In tests:

    with RocketChatReceiver() as server:
        transport = RocketChatTransport(server.url)
        server.answer("invalid_channel")      # the next request gets this preset
        server.hang(5)                        # ...or waits 5 s before answering
        ...
        server.requests[-1].json              # what the transport sent

`refused_url()` gives a URL on a closed port (connection refused).

Standalone, for trying transports by hand:

    python -m tests.fakes.chat_server --port 5002 --kind rocketchat
    python -m tests.fakes.chat_server --kind feishu --answer keyword_not_found --delay 2

It prints the URL to paste into a recipient, then every request it receives
and the answer it gave. `--list` shows the kinds and their presets.
"""

from __future__ import annotations

import argparse
import json
import socket
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.base import FakeServer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "chat"


@dataclass(frozen=True)
class Answer:
    """One scripted HTTP answer."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0  # seconds to wait before answering
    drip: float = 0.0  # seconds to wait between body bytes (a slow server)
    hang_up: bool = False  # close the connection instead of answering
    name: str = ""
    # header -> milliseconds to add to "now" (epoch ms) at answer time
    now_ms_headers: tuple[tuple[str, int], ...] = ()

    @classmethod
    def from_fixture(cls, name: str, directory: Path | None = None) -> Answer:
        data = load_fixture(name, directory)
        body = data.get("body", "")
        raw = (
            body.encode("utf-8")
            if isinstance(body, str)
            else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        )
        return cls(
            status=data["status"],
            body=raw,
            headers=tuple(data.get("headers", {}).items()),
            name=name,
            now_ms_headers=tuple(data.get("now_ms_headers", {}).items()),
        )

    @classmethod
    def json(cls, status: int, data: Any, **headers: str) -> Answer:
        body = json.dumps(data, separators=(",", ":")).encode()
        return cls(status, body, (("Content-Type", "application/json"), *headers.items()))

    def delayed(self, seconds: float) -> Answer:
        return replace(self, delay=seconds)

    def dripping(self, seconds_per_byte: float) -> Answer:
        return replace(self, drip=seconds_per_byte)


def load_fixture(name: str, directory: Path | None = None) -> dict:
    """A fixture from tests/fixtures/chat/ (the first kinds) or a kind's own directory."""
    path = (directory or FIXTURES) / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass
class Received:
    """One request as the receiver saw it."""

    method: str
    path: str
    raw_query: str
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.time)

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.raw_query, keep_blank_values=True)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


# -- HTTP plumbing -----------------------------------------------------------


class ChatHandler(BaseHTTPRequestHandler):
    """HTTP/1.0, one request per connection (``Connection: close``), as the services do."""

    server_version = "fake-chat"
    sys_version = ""

    def do_POST(self) -> None:
        self.dispatch()

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

    def dispatch(self) -> None:
        receiver = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Received(
            method=self.command,
            path=parts.path,
            raw_query=parts.query,
            headers=dict(self.headers.items()),
            body=body,
        )
        answer = receiver._next_answer(request)
        if receiver._on_request:
            receiver._on_request(request, answer)
        if answer.delay and receiver.shutting_down.wait(answer.delay):
            return  # shutting down: hang up without answering
        if answer.hang_up:
            self.close_connection = True
            return
        self.send_answer(answer)

    def send_answer(self, answer: Answer) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        for name, plus_ms in answer.now_ms_headers:
            self.send_header(name, str(int(time.time() * 1000) + plus_ms))
        if answer.status not in (204, 304):
            self.send_header("Content-Length", str(len(answer.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if answer.status in (204, 304):
            return
        if not answer.drip:
            self.wfile.write(answer.body)
            return
        for index in range(len(answer.body)):
            self.wfile.write(answer.body[index : index + 1])
            self.wfile.flush()
            if self.server.fake.shutting_down.wait(answer.drip):
                return

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class ChatServer(FakeServer[Received]):
    """Base receiver: a generic JSON webhook that answers 200 {"ok":true}."""

    handler = ChatHandler
    kind = "webhook"
    path = "/webhooks/dify-hub"
    query = "token=Wh7kQ2xR9mTs4Lp1"
    # Where this kind's answer fixtures live: tests/fixtures/chat/<kind>_<answer>.json for
    # the first kinds, tests/fixtures/<kind>/<answer>.json for the later ones.
    fixtures: Path = FIXTURES
    # The recipient secret a transport needs to talk to this fake (a bot token...), if any.
    secret = ""
    # preset name -> fixture file name (without .json)
    presets: dict[str, str] = {
        "success": "webhook_success",
        "no_content": "webhook_no_content",
        "bad_request": "webhook_bad_request",
        "unauthorized": "webhook_unauthorized",
        "gone": "webhook_gone",
        "request_timeout": "webhook_request_timeout",
        "rate_limited": "webhook_rate_limited",
        "unavailable": "webhook_unavailable",
        "server_error": "webhook_server_error",
    }
    # answers every receiver knows, whatever the service
    common_presets: dict[str, str] = {
        "proxy_error": "generic_proxy_bad_gateway",
        "redirect": "generic_redirect",
    }

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        default: str | Answer = "success",
        on_request: Callable[[Received, Answer], Any] | None = None,
        tls: tuple[str, str] | None = None,
    ) -> None:
        context = None
        if tls:  # (certfile, keyfile): serve https
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
        super().__init__(host=host, port=port, ssl_context=context)
        self.answers_given: list[Answer] = []
        self._default = self._resolve(default)
        self._on_request = on_request

    # -- addresses -----------------------------------------------------------

    @property
    def url(self) -> str:
        """The webhook URL to give a transport (token included)."""
        return self.base_url + self.path + (f"?{self.query}" if self.query else "")

    def closed_url(self) -> str:
        """`url` on a port nobody listens on (connection refused)."""
        return refused_url("") + self.url[len(self.base_url) :]

    def expects_path(self, path: str) -> bool:
        """Whether a transport's request went where this service listens."""
        return path == self.path

    @property
    def secrets(self) -> list[str]:
        """Parts of the URL that must never show up in an error message."""
        pieces = [p for p in self.path.split("/") if len(p) >= 16]
        pieces += [v for _, v in (kv.split("=", 1) for kv in self.query.split("&") if "=" in kv)]
        if self.secret:
            pieces.append(self.secret)
        return [self.url, *pieces]

    # -- scripting -----------------------------------------------------------

    def answer(self, *answers: str | Answer, times: int = 1) -> None:
        """Queue answers for the next requests (after those already queued)."""
        self.queue("answer", *(self._resolve(a) for _ in range(times) for a in answers))

    def always(self, answer: str | Answer) -> None:
        """Answer every request (once the queue is empty) with this."""
        self._default = self._resolve(answer)

    def hang(self, seconds: float = 10.0, answer: str | Answer = "success") -> None:
        """Make the next request wait `seconds` before it gets `answer`."""
        self.answer(self._resolve(answer).delayed(seconds))

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self.answers_given.clear()

    def wait_for(self, count: int, timeout: float = 2.0) -> list[Received]:
        self.wait_until(lambda: len(self.requests) >= count, timeout)
        return self.requests

    @classmethod
    def all_presets(cls) -> dict[str, str]:
        return {**cls.common_presets, **cls.presets}

    def _resolve(self, answer: str | Answer) -> Answer:
        if isinstance(answer, Answer):
            return answer
        if answer in self.common_presets:
            return Answer.from_fixture(self.common_presets[answer], FIXTURES)
        if answer in self.presets:
            return Answer.from_fixture(self.presets[answer], self.fixtures)
        if (self.fixtures / f"{answer}.json").exists():
            return Answer.from_fixture(answer, self.fixtures)  # a fixture file name
        return Answer.from_fixture(answer, FIXTURES)  # a shared one (generic_*)

    def _next_answer(self, request: Received) -> Answer:
        with self.lock:  # a request and its answer are logged together
            self.record(request)
            answer = self.pop("answer")
            if answer is None:
                answer = self._default
            self.answers_given.append(answer)
        return answer


class RocketChatReceiver(ChatServer):
    kind = "rocketchat"
    path = "/hooks/6571f0a1b2c3d4e5f6a7b8c9/Zt3kPq9VmW2xLr8NcY4bJh6D"
    query = ""
    presets = {
        "success": "rocketchat_success",
        "invalid_channel": "rocketchat_error_invalid_channel",
        "override_disabled": "rocketchat_error_override_disabled",
        "unauthorized": "rocketchat_unauthorized",
        "disabled": "rocketchat_integration_disabled",
        "rate_limited": "rocketchat_rate_limited",
        "server_error": "rocketchat_server_error",
        "not_a_webhook": "rocketchat_not_a_webhook",
    }


class SlackReceiver(ChatServer):
    kind = "slack"
    path = "/services/T0123ABCD/B0456EFGH/aBcDeFgHiJkLmNoPqRsTuVwX"
    query = ""
    presets = {
        "success": "slack_success",
        "invalid_payload": "slack_invalid_payload",
        "user_not_found": "slack_user_not_found",
        "action_prohibited": "slack_action_prohibited",
        "invalid_token": "slack_invalid_token",
        "channel_not_found": "slack_channel_not_found",
        "no_service": "slack_no_service",
        "channel_is_archived": "slack_channel_is_archived",
        "rate_limited": "slack_rate_limited",
        "server_error": "slack_rollup_error",
    }


class MattermostReceiver(ChatServer):
    kind = "mattermost"
    path = "/hooks/ytwzgegqs3fbbbg1m4dtjx6mxh"
    query = ""
    presets = {
        "success": "mattermost_success",
        "invalid_webhook": "mattermost_invalid_webhook",
        "channel_not_found": "mattermost_channel_not_found",
        "payload_error": "mattermost_payload_error",
        "disabled": "mattermost_webhooks_disabled",
        "rate_limited": "mattermost_rate_limited",
        "server_error": "mattermost_server_error",
    }


class DiscordReceiver(ChatServer):
    kind = "discord"
    path = (
        "/api/webhooks/1234567890123456789/AbCdEf-GhIjKlMnOpQrStUvWxYz0123456789_abcdefghijklmnop"
    )
    query = ""
    presets = {
        "success": "discord_success_wait",
        "no_content": "discord_success_no_content",
        "invalid_form_body": "discord_invalid_form_body",
        "invalid_token": "discord_invalid_token",
        "missing_access": "discord_missing_access",
        "unknown_webhook": "discord_unknown_webhook",
        "rate_limited": "discord_rate_limited",
        "server_error": "discord_server_error",
    }


class TeamsReceiver(ChatServer):
    kind = "teams"
    path = "/workflows/0f3c9d2e7a4b4c1e8f5d6a7b8c9d0e1f/triggers/manual/paths/invoke"
    query = (
        "api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0"
        "&sig=Qx7Zp2Lk9Vb4Nm1Rt8Yw3Hs6Jd0Fg5Ca2Ue7Io4Pa9"
    )
    presets = {
        "success": "teams_accepted",
        "ok": "teams_ok",
        "schema_mismatch": "teams_schema_mismatch",
        "bad_signature": "teams_bad_signature",
        "not_found": "teams_workflow_not_found",
        "too_large": "teams_too_large",
        "rate_limited": "teams_throttled",
        "server_error": "teams_server_error",
    }


class FeishuReceiver(ChatServer):
    kind = "feishu"
    path = "/open-apis/bot/v2/hook/4a6e2d1c-7b8f-4e0a-9c3d-2f1e5b6a7c8d"
    query = ""
    presets = {
        "success": "feishu_success",
        "sign_mismatch": "feishu_sign_mismatch",
        "ip_not_allowed": "feishu_ip_not_allowed",
        "keyword_not_found": "feishu_keyword_not_found",
        "bad_request": "feishu_bad_request",
        "invalid_token": "feishu_invalid_token",
        "rate_limited": "feishu_frequency_limited",
        "server_error": "feishu_server_error",
    }


class DingTalkReceiver(ChatServer):
    kind = "dingtalk"
    path = "/robot/send"
    query = "access_token=5f2b7c9e1a3d4f6b8c0e2a4d6f8b0c2e4a6d8f0b2c4e6a8d0f2b4c6e8a0d2f4b"
    presets = {
        "success": "dingtalk_success",
        "keyword_missing": "dingtalk_keyword_missing",
        "sign_mismatch": "dingtalk_sign_mismatch",
        "ip_not_allowed": "dingtalk_ip_not_allowed",
        "token_missing": "dingtalk_token_not_exist",
        "rate_limited": "dingtalk_send_too_fast",
        "server_error": "dingtalk_server_error",
    }


class WeComReceiver(ChatServer):
    kind = "wecom"
    path = "/cgi-bin/webhook/send"
    query = "key=693a91f6-7a0c-4bc4-97a0-0ec2f1fa5aaa"
    presets = {
        "success": "wecom_success",
        "freq_limit": "wecom_api_freq_out_of_limit",
        "invalid_url": "wecom_invalid_webhook_url",
        "too_long": "wecom_content_too_long",
        "rate_limited": "wecom_api_freq_out_of_limit",
        "server_error": "wecom_server_error",
    }


CHAT_RECEIVERS: dict[str, type[ChatServer]] = {
    r.kind: r
    for r in (
        RocketChatReceiver,
        SlackReceiver,
        MattermostReceiver,
        DiscordReceiver,
        TeamsReceiver,
        FeishuReceiver,
        DingTalkReceiver,
        WeComReceiver,
        ChatServer,
    )
}
GenericReceiver = ChatServer
RECEIVERS = CHAT_RECEIVERS  # the first kinds; tests/fakes/receivers.py has every kind


def self_signed_cert(directory: Path | str, host: str = "127.0.0.1") -> tuple[str, str]:
    """Write a throw-away certificate for `host`; returns (certfile, keyfile).

    Clients that verify certificates reject it, which is what the TLS tests want.
    """
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), False
        )
        .sign(key, hashes.SHA256())
    )
    directory = Path(directory)
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(certfile), str(keyfile)


def refused_url(path: str = "/hooks/abc/Zt3kPq9VmW2xLr8NcY4bJh6D") -> str:
    """A URL on a port nobody listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


# -- standalone ----------------------------------------------------------------


def _print_request(request: Received, answer: Answer) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(
        f"\n[{stamp}] {request.method} {request.path}{'?' + request.raw_query if request.raw_query else ''}"
    )
    for name in ("Content-Type", "webhook-id", "webhook-timestamp", "webhook-signature"):
        if request.header(name):
            print(f"  {name}: {request.header(name)}")
    data = request.json
    print(json.dumps(data, ensure_ascii=False, indent=2) if data is not None else request.text)
    print(f"-> {answer.status} {answer.name}{f' after {answer.delay:g} s' if answer.delay else ''}")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    from tests.fakes.receivers import RECEIVERS  # every kind's receiver, the later ones too

    parser = argparse.ArgumentParser(
        description="Fake chat webhook receiver (prints what it gets)."
    )
    parser.add_argument("--port", type=int, default=5002)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--kind", default="webhook", choices=sorted(RECEIVERS))
    parser.add_argument("--answer", default="success", help="preset name or fixture file name")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before answering")
    parser.add_argument("--list", action="store_true", help="list kinds and presets, then exit")
    args = parser.parse_args(argv)
    if args.list:
        for kind, cls in RECEIVERS.items():
            print(f"{kind}: {', '.join(cls.all_presets())}")
        return
    receiver_class = RECEIVERS[args.kind]
    server = receiver_class(args.port, args.host, on_request=_print_request)
    server.always(server._resolve(args.answer).delayed(args.delay))
    server.start()
    print(f"{receiver_class.__name__} answering '{args.answer}' at:\n  {server.url}")
    print("Ctrl-C to stop.")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
