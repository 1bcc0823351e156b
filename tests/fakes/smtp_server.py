"""A real SMTP server on 127.0.0.1 for the email tests: aiosmtpd's threaded `Controller` on a
free port, recording what it accepts and answering from a script, stage by stage.

aiosmtpd speaks the protocol (EHLO, AUTH PLAIN/LOGIN, STARTTLS, DATA, dot-stuffing, size
limits), so the hub's client code runs exactly as against Postfix or Gmail. What the fake
adds is a script of answers per stage of the dialogue, consumed in order:

    with SmtpServer() as server:                         # plain SMTP, no login
        server.answer("rcpt", "550 5.1.1 <ghost@example.com>: Recipient address rejected",
                      address="ghost@example.com")       # that address only, every time
        server.answer("data", "452 4.3.1 Insufficient system storage")   # the next DATA
        server.answer("mail", "421 4.7.0 Try again later", disconnect=True)
        server.answer("connect", "421 4.7.0 Too many connections")       # next greeting
        server.hang("data", 5)                           # answer DATA 5 s late
        server.play("rcpt_no_such_user")                 # a fixture, tests/fixtures/email/
        server.messages[-1].message["Subject"]           # what arrived, parsed

    SmtpServer(auth=("hub@example.com", "s3cret"))       # AUTH offered, MAIL needs it (530)
    SmtpServer(starttls=(certfile, keyfile))             # offers STARTTLS (require_tls: insist)
    SmtpServer(implicit_tls=(certfile, keyfile))         # smtps: TLS from the first byte

`server.email_url` is the EMAIL_URL that reaches it (login included); `closed_url()` one on a
port nobody listens on. Fixtures are real servers' answers with their source (README.md).

Standalone, to try the email kind by hand (prints each mail it gets):

    python -m tests.fakes.smtp_server --port 2525
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import ssl
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "email"
STAGES = ("connect", "auth", "mail", "rcpt", "data")
# aiosmtpd logs every command at INFO and a deprecation notice per login at WARNING.
logging.getLogger("mail.log").setLevel(logging.ERROR)


@dataclass(frozen=True)
class Answer:
    """One scripted reply. `reply` None: the normal answer (after `delay`)."""

    reply: str | None = None
    delay: float = 0.0
    disconnect: bool = False  # close the connection after the reply (421, RFC 5321 §3.8)


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    login: str | None  # the user that logged in, if any
    tls: bool
    received_at: float = field(default_factory=time.time)

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)


def load_fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def fixture_names() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


def reply_of(fixture: dict) -> str:
    """A fixture's reply: lines joined as a multi-line SMTP reply (RFC 5321 §4.2.1)."""
    lines = fixture["reply"]
    return "\r\n".join(lines) if isinstance(lines, list) else lines


# -- the aiosmtpd side ------------------------------------------------------------------


class _Handler:
    """aiosmtpd's hooks: a scripted answer if there is one, else accept and record."""

    def __init__(self, fake: SmtpServer) -> None:
        self.fake = fake

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.fake.auth and not session.authenticated:
            return "530 5.7.0 Authentication Required"
        reply = await self.fake.scripted(server, "mail")
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = await self.fake.scripted(server, "rcpt", address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        reply = await self.fake.scripted(server, "data")
        if reply:
            return reply
        self.fake.record(session, envelope, server)
        return f"250 2.0.0 OK: queued as {len(self.fake.messages):04X}"


class _SMTP(SMTP):
    """aiosmtpd's SMTP with a scriptable greeting (a 421 or 554 instead of 220)."""

    def __init__(self, fake: SmtpServer, *args: Any, **kwargs: Any) -> None:
        self.fake = fake
        super().__init__(*args, **kwargs)

    async def _handle_client(self) -> None:
        answer = self.fake.take("connect")
        if answer is not None:
            if answer.delay and await self.fake.sleep(answer.delay):
                return
            if answer.reply:
                await self.push(answer.reply)
                self.transport.close()
                return
        await super()._handle_client()


class _Controller(Controller):
    """aiosmtpd's Controller on port 0: reads the port the OS chose before its self-test."""

    def __init__(self, fake: SmtpServer, **kwargs: Any) -> None:
        self.fake = fake
        super().__init__(_Handler(fake), hostname="127.0.0.1", port=0, **kwargs)

    def factory(self) -> SMTP:
        return _SMTP(self.fake, self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def _server_context(pair: tuple[str, str]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*pair)
    return context


# -- the test side --------------------------------------------------------------------------


class SmtpServer:
    def __init__(
        self,
        *,
        auth: tuple[str, str] | None = None,
        starttls: tuple[str, str] | None = None,
        require_tls: bool = False,
        implicit_tls: tuple[str, str] | None = None,
        hostname: str = "mx.test.invalid",
        on_mail=None,
    ) -> None:
        self.auth = auth
        self.implicit_tls = implicit_tls is not None
        self.lock = threading.Lock()
        self.messages: list[ReceivedMail] = []
        self.logins: list[tuple[str, str]] = []  # every AUTH tried (user, password)
        self._script: dict[str, deque[Answer]] = defaultdict(deque)
        self._by_address: dict[str, Answer] = {}
        self._stopping = threading.Event()
        self._on_mail = on_mail
        kwargs: dict[str, Any] = {"server_hostname": hostname, "ident": "fake ESMTP"}
        if auth:
            # AUTH is offered over plain text too (real servers insist on TLS first; tests
            # of that use starttls=...); MAIL without a login gets 530 (handle_MAIL).
            kwargs.update(authenticator=self._authenticate, auth_require_tls=bool(starttls))
        if starttls:
            kwargs.update(tls_context=_server_context(starttls), require_starttls=require_tls)
        if implicit_tls:
            kwargs["ssl_context"] = _server_context(implicit_tls)
        self._controller = _Controller(self, **kwargs)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> SmtpServer:
        self._stopping.clear()
        self._controller.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._controller.stop()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return self._controller.port

    @property
    def email_url(self) -> str:
        """The EMAIL_URL for this server (with its login, percent-encoded)."""
        scheme = "smtps" if self.implicit_tls else "smtp"
        login = ""
        if self.auth:
            login = f"{quote(self.auth[0], safe='')}:{quote(self.auth[1], safe='')}@"
        return f"{scheme}://{login}{self.host}:{self.port}"

    @staticmethod
    def closed_url() -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        return f"smtp://127.0.0.1:{port}"

    # -- scripting ---------------------------------------------------------------------

    def answer(
        self,
        stage: str,
        reply: str | None,
        *,
        address: str | None = None,
        delay: float = 0.0,
        disconnect: bool = False,
        times: int = 1,
    ) -> None:
        """Script the next `times` answers at `stage`; with `address` (rcpt only), that
        address's answer for good."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r} (known: {', '.join(STAGES)})")
        answer = Answer(reply, delay, disconnect)
        with self.lock:
            if address is not None:
                self._by_address[address.lower()] = answer
            else:
                self._script[stage].extend([answer] * times)

    def hang(self, stage: str, seconds: float) -> None:
        self.answer(stage, None, delay=seconds)

    def play(self, name: str, *, address: str | None = None) -> dict:
        """Script a fixture's answer; returns the fixture."""
        fixture = load_fixture(name)
        self.answer(
            fixture["stage"],
            reply_of(fixture),
            address=address,
            disconnect=fixture.get("disconnect", False),
            # smtplib tries each mechanism the server offers (PLAIN, then LOGIN) in turn.
            times=2 if fixture["stage"] == "auth" else 1,
        )
        return fixture

    def take(self, stage: str, address: str | None = None) -> Answer | None:
        with self.lock:
            if address is not None and address.lower() in self._by_address:
                return self._by_address[address.lower()]
            queue = self._script.get(stage)
            return queue.popleft() if queue else None

    # -- called from the server thread -------------------------------------------------

    async def sleep(self, seconds: float) -> bool:
        """Wait, waking early when the server stops; True if it is stopping."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._stopping.is_set():
                return True
            await asyncio.sleep(0.02)
        return False

    async def scripted(self, server: SMTP, stage: str, address: str | None = None) -> str | None:
        answer = self.take(stage, address)
        if answer is None:
            return None
        if answer.delay and await self.sleep(answer.delay):
            return "421 4.3.2 Shutting down"
        if answer.disconnect:
            # Runs once the reply is written: the server hangs up as RFC 5321 §3.8 says.
            server.loop.call_soon(server.transport.close)
        return answer.reply

    def record(self, session, envelope, server: SMTP) -> None:
        tls = session.ssl is not None or server.transport.get_extra_info("sslcontext") is not None
        login = session.auth_data.login.decode() if session.auth_data else None
        mail = ReceivedMail(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            raw=envelope.original_content or b"",
            login=login,
            tls=tls,
        )
        with self.lock:
            self.messages.append(mail)
        if self._on_mail:
            self._on_mail(mail)

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        with self.lock:
            self.logins.append((login, password))
        answer = self.take("auth")
        if answer is not None and answer.reply:
            return AuthResult(success=False, handled=False, message=answer.reply)
        if self.auth == (login, password):
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)


# -- standalone ----------------------------------------------------------------------------


def _print_mail(mail: ReceivedMail) -> None:
    message = mail.message
    print(f"\n[{time.strftime('%H:%M:%S')}] from {mail.mail_from} to {', '.join(mail.rcpt_tos)}")
    for header in ("From", "To", "Reply-To", "Subject", "Message-ID"):
        if message[header]:
            print(f"  {header}: {message[header]}")
    body = message.get_body(("plain",))
    print(body.get_content() if body is not None else "(no text/plain part)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake SMTP server (prints what it gets).")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--answer", help="a fixture name to answer once (--list shows them)")
    parser.add_argument("--list", action="store_true", help="list the fixtures, then exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(fixture_names()))
        return
    server = SmtpServer(on_mail=_print_mail)
    server._controller.port = args.port
    server._controller.start()  # on the given port, not a free one
    if args.answer:
        server.play(args.answer)
    print(f"Fake SMTP server. In the hub's environment:\n  EMAIL_URL=smtp://127.0.0.1:{args.port}")
    print("Ctrl-C to stop.")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
