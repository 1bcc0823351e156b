"""The Apprise kind, through Apprise itself to real local receivers.

Apprise's `json://` plugin POSTs to the fake chat receiver (tests/fakes/chat_server.py), which
answers from tests/fixtures/apprise/ (README.md there says where each answer comes from).
Other schemes are only parsed: no test talks to a real service.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from integrations.channels import Message, OptionsError, Reply, TransportError, get_transport
from integrations.channels.apprise import AppriseTransport, apprise_secrets, load
from tests.fakes.chat_server import Answer, ChatServer, load_fixture

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "apprise"
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "S3cretPa55w0rd"
TOKEN = "Tk9xQ2mLp4Rs7Vb1Zc3N"
TELEGRAM = "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-1001234567"
FAST = (0.5, 0.5)


class AppriseJsonReceiver(ChatServer):
    """A JSON webhook behind a token in its path, as Apprise's json:// plugin reaches it."""

    kind = "apprise"
    path = f"/hooks/dify-hub/{TOKEN}"
    query = ""
    fixtures = FIXTURES
    presets = {"success": "json_success"}

    def apprise_url(self, suffix: str = "") -> str:
        return f"json://hub:{PASSWORD}@{self.host}:{self.port}{self.path}{suffix}"

    @property
    def secrets(self) -> list[str]:
        return [self.apprise_url(), PASSWORD, TOKEN, f"hub:{PASSWORD}"]


def answer_fixtures() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("json_*.json") if p.stem != "json_request")


@pytest.fixture
def receiver():
    with AppriseJsonReceiver() as server:
        yield server


def make(url: str, timeout: tuple[float, float] = (2.0, 2.0)) -> AppriseTransport:
    return AppriseTransport(url, {}, "", timeout=timeout)


def failure(url: str, message: Message | None = None, **kwargs) -> TransportError:
    with pytest.raises(TransportError) as info:
        make(url, **kwargs).send(message or Message(text="hello", title="Daily"))
    return info.value


def assert_no_secrets(receiver: AppriseJsonReceiver, error: TransportError) -> None:
    for secret in receiver.secrets:
        for text in (str(error), repr(error), error.body):
            assert secret not in text


# -- configuration ---------------------------------------------------------------------------


def test_it_is_registered_under_its_kind():
    assert get_transport("apprise") is AppriseTransport
    cls = AppriseTransport
    assert (cls.label, cls.url_label, cls.url_required, cls.needs_secret) == (
        "Apprise",
        "Apprise URL",
        True,
        False,
    )


def test_importing_the_registry_does_not_load_apprise():
    code = (
        "import sys, integrations.channels as c\n"
        "c.get_transport('apprise')\n"
        "assert 'apprise' not in sys.modules, 'apprise imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.mark.parametrize(
    "url",
    [
        TELEGRAM,
        "mailto://hub:abcdefghijklmnop@gmail.com?to=ops@example.com",
        "json://hooks.example.com/notify",
        "discord://1234567890123456789/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
        # A service's own webhook URL Apprise recognises (its "native" URLs)
        "https://discord.com/api/webhooks/1234567890123456789/AbCdEfGhIjKlMnOpQrStUvWxYz0123",
        "  ntfys://ntfy.sh/hub-alerts-8f3k2  ",
    ],
)
def test_it_accepts_urls_apprise_understands(url):
    assert AppriseTransport.clean_url(url) == url.strip()


def test_it_names_an_unknown_scheme_and_never_the_url():
    with pytest.raises(OptionsError) as info:
        AppriseTransport.clean_url(f"gopher://bot:{PASSWORD}@host/{TOKEN}")
    message = str(info.value)
    assert message.startswith("Apprise URL: Apprise does not know the scheme 'gopher://'")
    assert PASSWORD not in message and TOKEN not in message and "host" not in message


@pytest.mark.parametrize(
    "url, words",
    [
        ("", "Apprise URL is required"),
        ("tgram://a b", "must not contain spaces"),
        ("hooks.example.com/notify", "must look like service://"),
        ("discord://", "Apprise cannot use this discord:// URL (An invalid Discord Webhook ID"),
        ("https://example.com/hook", "does not recognise this https:// address"),
    ],
)
def test_it_says_why_apprise_cannot_use_a_url(url, words):
    with pytest.raises(OptionsError) as info:
        AppriseTransport.clean_url(url)
    assert words in str(info.value)


def test_a_refused_url_leaves_its_password_out_of_the_reason_and_the_logs(caplog):
    # Gotify without its token: the plugin refuses it, saying why.
    with pytest.raises(OptionsError) as info:
        AppriseTransport.clean_url(f"gotify://hub:{PASSWORD}@gotify.example.com")
    assert str(info.value) == (
        "Apprise URL: Apprise cannot use this gotify:// URL (An invalid Gotify Token (None) "
        "was specified.); see https://appriseit.com/services/gotify/"
    )
    assert PASSWORD not in caplog.text  # Apprise's own log lines, on their way to the console


def test_it_takes_no_options():
    with pytest.raises(
        OptionsError, match=r"unknown option 'colour' for apprise \(allowed: none\)"
    ):
        AppriseTransport.clean_options({"colour": "red"})


def test_the_repr_hides_the_url():
    assert "AAHdq" not in repr(make(TELEGRAM))


# -- redaction ---------------------------------------------------------------------------


def test_every_credential_of_a_url_is_redacted():
    secrets = apprise_secrets(TELEGRAM)
    assert "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" in secrets  # the bot token
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" in secrets
    gmail = apprise_secrets("mailto://hub:abcdefghijklmnop@gmail.com?to=ops@example.com")
    assert "abcdefghijklmnop" in gmail  # an app password, lower-case letters only
    assert not {"hub", "gmail.com", "ops@example.com"} & gmail  # readable words stay


def test_apprise_lines_are_redacted_in_the_error(receiver):
    transport = make(TELEGRAM)
    token = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    error = transport.failed("Telegram", None, [f"WARNING: bot 123456789:{token} was refused"])
    assert token not in error.body and token not in error.message
    assert error.body == "WARNING: bot *** was refused"


# -- sending ---------------------------------------------------------------------------------


def test_it_builds_one_markdown_part():
    transport = make(TELEGRAM)
    parts = transport.build(
        Message(text="  Hello **world**\n", title="Daily  digest", footer="hub")
    )
    assert parts == [{"title": "Daily digest", "body": "Hello **world**\n\nhub"}]
    assert json.loads(json.dumps(parts)) == parts


def test_it_sends_the_documented_request(receiver):
    fixture = json.loads((FIXTURES / "json_request.json").read_text(encoding="utf-8"))
    reply = make(receiver.apprise_url()).send(Message(**fixture["message"]))
    assert reply == [Reply(status=200, body="Apprise: JSON accepted the message")]
    [request] = receiver.requests
    assert (request.method, request.path) == (fixture["method"], receiver.path)
    for name, value in fixture["headers"].items():
        assert request.header(name) == value
    assert request.header("Authorization").startswith("Basic ")  # hub:PASSWORD
    assert request.text == fixture["raw_body"]


def test_services_that_show_html_get_html_with_raw_html_escaped(receiver):
    make(receiver.apprise_url("?format=html")).send(
        Message(text="Hello **world** <img src=x onerror=alert(1)>")
    )
    message = receiver.requests[0].json["message"]
    assert message.startswith("<p>Hello <strong>world</strong> &lt;img src=x")
    assert "<img" not in message


@pytest.mark.parametrize("name", answer_fixtures())
def test_it_judges_the_recorded_answer(receiver, name):
    fixture = load_fixture(name, FIXTURES)
    receiver.answer(name)
    transport = make(receiver.apprise_url())
    [part] = transport.build(Message(text="hello", title="Daily"))
    if fixture["expect"] == "success":
        assert transport.post(part).status == 200
        return
    with pytest.raises(TransportError) as info:
        transport.post(part)
    error = info.value
    assert error.retryable is True  # Apprise reports only "failed"
    assert error.status is None
    assert error.code == "apprise_failed"
    assert error.body == fixture["log"]
    assert error.message.startswith("Apprise could not deliver to JSON: Failed to send JSON")
    assert_no_secrets(receiver, error)


def test_a_closed_port_is_transient(receiver):
    url = receiver.apprise_url().replace(f":{receiver.port}", f":{_closed_port()}")
    error = failure(url)
    assert error.retryable is True
    assert "A Connection error occurred sending JSON notification" in error.body
    assert_no_secrets(receiver, error)


def test_a_silent_server_is_given_up_on_at_the_read_timeout(receiver):
    receiver.hang(10)
    started = time.monotonic()
    error = failure(receiver.apprise_url(), timeout=FAST)
    assert time.monotonic() - started < 3
    assert error.retryable is True
    assert_no_secrets(receiver, error)


def test_the_whole_call_is_bounded(receiver):
    # Headers at once, then one byte every 0.1 s: no read waits longer than the read
    # timeout, so only Apprise's call timeout (twice connect + read) ends it.
    receiver.answer(Answer(200, b"x" * 100, (("Content-Type", "text/plain"),)).dripping(0.1))
    started = time.monotonic()
    error = failure(receiver.apprise_url(), timeout=FAST)
    assert time.monotonic() - started < 4
    assert (error.retryable, error.code) == (True, "timeout")
    assert error.message == (
        "Apprise: JSON gave no answer within 2 s (the message may still have been delivered)"
    )


def test_the_urls_own_timeouts_win(receiver):
    receiver.hang(1)
    make(receiver.apprise_url("?rto=3"), timeout=(0.3, 0.3)).send(Message(text="slow but fine"))
    assert len(receiver.requests) == 1


def test_it_fills_in_timeouts_and_overflow_only_where_the_url_is_silent():
    plugin, _ = load("json://hooks.example.com/x", cto=1.5, rto=2.5, overflow="truncate")
    assert (plugin.socket_connect_timeout, plugin.socket_read_timeout) == (1.5, 2.5)
    assert plugin.overflow_mode.value == "truncate"
    plugin, _ = load(
        "json://hooks.example.com/x?rto=9&overflow=split", rto=2.5, overflow="truncate"
    )
    assert (plugin.socket_read_timeout, plugin.overflow_mode.value) == (9.0, "split")


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
