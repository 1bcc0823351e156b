"""The email kind, against a real SMTP server on 127.0.0.1 (aiosmtpd, tests/fakes/smtp_server.py).

Every answer the hub must judge is a recorded one from tests/fixtures/email/ (real servers'
wording, with sources), one test each; settings come from EMAIL_URL through the same reader
as hub/settings.py (override_settings: configuration, not a mock).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from integrations.channels import Message, OptionsError, TransportError, get_transport
from integrations.email.settings import email_settings
from integrations.email.transport import MAX_TEXT_BYTES, EmailTransport
from tests.fakes.smtp_server import SmtpServer, fixture_names, load_fixture, reply_of

from .conftest import FROM, PASSWORD, USER, configured

ROOT = Path(__file__).resolve().parents[2]
MESSAGE = Message(
    text="Deploy **done** & <b>not bold</b>\n\n| a | b |\n|---|--:|\n| 1 | 2 |",
    title="Tägliche Übersicht",
    footer="Sent by dify-hub",
    key="delivery-42",
)


def make(options: dict | None = None) -> EmailTransport:
    return EmailTransport("", options if options is not None else {"to": "ana@example.com"})


def failure(options: dict | None = None, message: Message = MESSAGE) -> TransportError:
    with pytest.raises(TransportError) as info:
        make(options).send(message)
    return info.value


def assert_no_password(error: TransportError) -> None:
    for text in (str(error), repr(error), error.body, error.message):
        assert PASSWORD not in text
        assert "pa:ss/w#rd" not in text


# -- EMAIL_URL and EMAIL_FROM ----------------------------------------------------------------


class TestSettings:
    def test_it_reads_a_submission_url_with_starttls(self):
        conf = email_settings(
            "smtp://me%40example.com:app%2Fpass@smtp.example.com:587/?tls=true", ""
        )
        assert {k: v for k, v in conf.items() if k.startswith("EMAIL_")} == {
            "EMAIL_BACKEND": "integrations.email.backend.EmailBackend",
            "EMAIL_HOST": "smtp.example.com",
            "EMAIL_PORT": 587,
            "EMAIL_HOST_USER": "me@example.com",
            "EMAIL_HOST_PASSWORD": "app/pass",
            "EMAIL_USE_TLS": True,
            "EMAIL_USE_SSL": False,
            "EMAIL_TIMEOUT": 30,
        }
        # No EMAIL_FROM: the account's own address, as Gmail and Outlook send it anyway.
        assert conf["DEFAULT_FROM_EMAIL"] == "me@example.com"
        assert conf["HUB_EMAIL_CONFIGURED"] is True

    def test_smtps_means_implicit_tls_on_465(self):
        conf = email_settings("smtps://u:p@smtp.gmail.com", "hub@example.com")
        assert (conf["EMAIL_PORT"], conf["EMAIL_USE_SSL"], conf["EMAIL_USE_TLS"]) == (
            465,
            True,
            False,
        )

    @pytest.mark.parametrize(
        "url, port, tls, ssl",
        [
            ("smtp://localhost:25", 25, False, False),
            ("smtp://mail.internal", 25, False, False),
            ("submission://u:p@smtp.example.com", 587, True, False),
            ("smtp://u:p@smtp.example.com:2525/?ssl=true", 2525, False, True),
            ("smtp://u:p@smtp.example.com:587?tls=True", 587, True, False),
        ],
    )
    def test_it_reads_ports_and_encryption(self, url, port, tls, ssl):
        conf = email_settings(url, "hub@example.com")
        assert (conf["EMAIL_PORT"], conf["EMAIL_USE_TLS"], conf["EMAIL_USE_SSL"]) == (
            port,
            tls,
            ssl,
        )
        assert conf["EMAIL_HOST_USER"] in ("", "u")

    def test_it_decodes_percent_encoded_passwords(self):
        conf = email_settings(
            f"smtp://{USER.replace('@', '%40')}:Zq7%24pa%3Ass%2Fw%23rd%2540@h:587", ""
        )
        assert conf["EMAIL_HOST_USER"] == USER
        assert conf["EMAIL_HOST_PASSWORD"] == PASSWORD

    def test_it_takes_a_timeout_from_the_url(self):
        assert email_settings("smtp://h?timeout=5", "a@example.com")["EMAIL_TIMEOUT"] == 5

    def test_it_keeps_a_display_name_in_email_from(self):
        conf = email_settings("smtp://localhost", "dify-hub <hub@example.com>")
        assert conf["DEFAULT_FROM_EMAIL"] == conf["SERVER_EMAIL"] == "dify-hub <hub@example.com>"

    def test_without_email_url_it_changes_nothing(self):
        assert email_settings("", "hub@example.com") == {}
        assert email_settings("   ", "") == {}

    @pytest.mark.parametrize(
        "url, words",
        [
            ("http://u:Hunter2Secret@smtp.example.com", "must start with smtp://"),
            ("smtp://u:Hunter2Secret@smtp.example.com:58x7", "not a valid URL"),
            ("smtp://u:Hunter2/Secret@smtp.example.com:587", "not a valid URL"),  # "/" unencoded
            ("smtp://u:Hunter2Secret@smtp.example.com?timeout=soon", "not a valid URL"),
            ("smtp://u@smtp.example.com", "a user without a password"),
            ("smtps://", "no host name"),
        ],
    )
    def test_it_refuses_a_bad_url_without_quoting_it(self, url, words):
        with pytest.raises(ImproperlyConfigured) as info:
            email_settings(url, "hub@example.com")
        assert words in str(info.value)
        assert "EMAIL_URL" in str(info.value)
        assert "Hunter2" not in str(info.value) and "Secret" not in str(info.value)

    def test_it_names_the_unknown_scheme(self):
        with pytest.raises(ImproperlyConfigured, match=r"got 'imap://'"):
            email_settings("imap://u:p@h", "")

    @pytest.mark.parametrize("value", ["not an address", "hub@", "a@b.c\nBcc: x@evil.example"])
    def test_it_refuses_a_bad_email_from(self, value):
        with pytest.raises(ImproperlyConfigured, match="EMAIL_FROM is not an email address"):
            email_settings("smtp://localhost", value)

    def test_it_wants_email_from_when_the_user_is_no_address(self):
        with pytest.raises(ImproperlyConfigured, match="EMAIL_FROM is not set"):
            email_settings("smtp://apikey:SG.xyz@smtp.sendgrid.net:587", "")

    def test_hub_settings_read_the_environment(self):
        env = {
            **os.environ,
            "EMAIL_URL": "smtps://me%40example.com:p%40ss@smtp.example.com",
            "EMAIL_FROM": "dify-hub <hub@example.com>",
            "DJANGO_SETTINGS_MODULE": "hub.settings_test",
        }
        code = (
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_SSL, s.EMAIL_HOST_PASSWORD, "
            "s.DEFAULT_FROM_EMAIL, s.EMAIL_BACKEND, sep='|')"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip().split("|") == [
            "smtp.example.com",
            "465",
            "True",
            "p@ss",
            "dify-hub <hub@example.com>",
            "integrations.email.backend.EmailBackend",
        ]


# -- the recipient's options -----------------------------------------------------------------


class TestOptions:
    def test_it_is_registered_under_its_kind(self):
        assert get_transport("email") is EmailTransport
        assert (EmailTransport.label, EmailTransport.url_required) == ("Email", False)
        assert EmailTransport.needs_secret is False

    def test_without_email_url_a_recipient_says_so(self, settings):
        if hasattr(settings, "HUB_EMAIL_CONFIGURED"):
            del settings.HUB_EMAIL_CONFIGURED
        with pytest.raises(OptionsError, match=r"^EMAIL_URL is not set; "):
            make()
        # The admin and `hub apply` validate options without constructing a transport.
        with pytest.raises(OptionsError, match=r"^EMAIL_URL is not set; "):
            EmailTransport.clean_options({"to": "ana@example.com"})

    def test_it_takes_a_comma_separated_string_with_names(self, smtp):
        transport = make(
            {"to": 'Ana <ana@example.com>, "Doe, Jane" <jane@example.com>,bo@example.com'}
        )
        assert transport.opts["to"] == [
            '"Ana" <ana@example.com>',
            '"Doe, Jane" <jane@example.com>',
            "bo@example.com",
        ]

    def test_it_takes_a_list(self, smtp):
        transport = make({"to": ["ana@example.com", "José <jose@example.com>"]})
        assert transport.opts["to"] == ["ana@example.com", '"José" <jose@example.com>']

    @pytest.mark.parametrize(
        "to, bad",
        [
            ("ana@example.com, bob@", "bob@"),
            (["ana@example.com", "not-an-address"], "not-an-address"),
            ("ana@example.com; bo@example.com", "ana@example.com; bo@example.com"),
        ],
    )
    def test_it_names_the_bad_address(self, smtp, to, bad):
        with pytest.raises(OptionsError) as info:
            make({"to": to})
        assert f"'{bad}' is not an email address" in str(info.value)
        assert "option 'to'" in str(info.value)

    @pytest.mark.parametrize("options", [{}, {"to": ""}, {"to": []}, {"to": " , "}])
    def test_it_needs_an_address(self, smtp, options):
        with pytest.raises(OptionsError, match="option 'to'"):
            make(options)

    @pytest.mark.parametrize("to", [12, {"a": 1}, [12]])
    def test_it_refuses_other_types(self, smtp, to):
        with pytest.raises(OptionsError, match="option 'to' for email"):
            make({"to": to})

    def test_it_caps_the_recipients(self, smtp):
        with pytest.raises(OptionsError, match="at most 100"):
            make({"to": [f"u{i}@example.com" for i in range(101)]})

    def test_it_checks_reply_to(self, smtp):
        assert make({"to": "a@example.com", "reply_to": "ops@example.com"}).opts["reply_to"] == (
            "ops@example.com"
        )
        with pytest.raises(OptionsError, match="'ops@' is not an email address"):
            make({"to": "a@example.com", "reply_to": "ops@"})
        with pytest.raises(OptionsError, match="must be one address"):
            make({"to": "a@example.com", "reply_to": "a@example.com, b@example.com"})

    def test_it_names_an_unknown_placeholder(self, smtp):
        with pytest.raises(OptionsError) as info:
            make({"to": "a@example.com", "subject": "{{ title }} for {{weekday}}"})
        assert "unknown placeholder {{ weekday }}" in str(info.value)
        assert "{{ title }}, {{ date }}" in str(info.value)

    def test_it_refuses_unknown_options(self, smtp):
        with pytest.raises(OptionsError, match="unknown option 'cc' for email"):
            make({"to": "a@example.com", "cc": "b@example.com"})

    def test_its_url_stays_empty(self, smtp):
        assert EmailTransport.clean_url("") == EmailTransport.clean_url("  ") == ""
        with pytest.raises(OptionsError, match="Email takes no URL"):
            EmailTransport.clean_url("smtp://u:p@host")


# -- what it builds --------------------------------------------------------------------------


class TestBuild:
    def test_the_subject_has_the_title_and_the_hubs_date(self, smtp):
        # Kiritimati (UTC+14) and Pago Pago (UTC-11) are on different dates most of the day.
        for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
            with configured(smtp.email_url, TIME_ZONE=zone):
                [part] = make().build(Message(text="x", title="Daily  digest"))
            today = datetime.now(ZoneInfo(zone)).date().isoformat()
            assert part["subject"] == f"Daily digest – {today}"

    def test_a_subject_template_and_no_title(self, smtp):
        [part] = make({"to": "a@example.com", "subject": "[hub] {{title}}"}).build(
            Message(text="x", title="Weekly")
        )
        assert part["subject"] == "[hub] Weekly"
        [part] = make().build(Message(text="x"))
        assert part["subject"] == datetime.now(ZoneInfo(settings.TIME_ZONE)).date().isoformat()

    def test_the_text_part_is_the_markdown_with_title_and_footer(self, smtp):
        [part] = make().build(MESSAGE)
        assert part["text"] == (
            "Tägliche Übersicht\n\n"
            "Deploy **done** & <b>not bold</b>\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n\n"
            "-- \nSent by dify-hub\n"
        )

    def test_the_html_part_renders_markdown_and_escapes_html(self, smtp):
        [part] = make().build(MESSAGE)
        html = part["html"]
        assert html.startswith("<!DOCTYPE html>")
        assert '<h1 style="' in html and "Tägliche Übersicht</h1>" in html
        assert "<strong>done</strong> &amp; &lt;b&gt;not bold&lt;/b&gt;" in html
        assert "<b>" not in html
        assert (
            '<td style="border:1px solid #d0d7de;padding:6px 10px;text-align:right">2</td>' in html
        )
        assert "Sent by dify-hub</p>" in html
        assert "<style" not in html  # inline styles only (Outlook, Gmail)

    def test_parts_are_plain_json_and_stable(self, smtp):
        transport = make({"to": "a@example.com", "reply_to": "ops@example.com"})
        [part] = transport.build(MESSAGE)
        assert json.loads(json.dumps(part)) == part
        assert part["to"] == ["a@example.com"] and part["reply_to"] == ["ops@example.com"]
        assert transport.build(MESSAGE)[0]["message_id"] == part["message_id"] != ""
        assert transport.build(Message(text="x"))[0]["message_id"] == ""

    def test_a_huge_text_is_cut_with_a_note(self, smtp):
        line = "ü" * 99 + "\n"  # 199 bytes
        text = line * 10_000  # about 2 MB
        [part] = make().build(Message(text=text))
        assert len(part["text"].encode()) < MAX_TEXT_BYTES + 1000
        assert "cut by dify-hub: the text was 2.0 MB" in part["text"]
        assert part["text"].split("\n\n[…")[0].endswith("ü")  # cut at a line end
        assert "cut by dify-hub" in part["html"]


# -- sending to a real SMTP server -----------------------------------------------------------


class TestSending:
    def test_it_sends_one_message_with_text_and_html(self, smtp):
        transport = make(
            {"to": "José Núñez <jose@example.com>, bo@example.com", "reply_to": "ops@example.com"}
        )
        replies = transport.send(MESSAGE)
        assert [(r.status, r.body) for r in replies] == [
            (250, "accepted for jose@example.com, bo@example.com")
        ]
        [mail] = smtp.messages
        assert mail.mail_from == "hub@example.com"
        assert mail.rcpt_tos == ["jose@example.com", "bo@example.com"]
        message = mail.message
        assert message["From"] == "dify-hub Ünïcode <hub@example.com>"
        assert message["To"] == "José Núñez <jose@example.com>, bo@example.com"
        assert message["Reply-To"] == "ops@example.com"
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["Subject"].startswith("Tägliche Übersicht – 20")
        assert message["Message-ID"].startswith("<dify-hub.") and message["Message-ID"].endswith(
            "@example.com>"
        )
        assert message.get_content_type() == "multipart/alternative"
        plain = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
        html = message.get_body(("html",)).get_content()
        assert plain == transport.build(MESSAGE)[0]["text"]
        assert "<strong>done</strong>" in html and "&lt;b&gt;not bold&lt;/b&gt;" in html

    def test_non_ascii_headers_are_encoded(self, smtp):
        make({"to": "José Núñez <jose@example.com>"}).send(MESSAGE)
        raw_headers = smtp.messages[0].raw.split(b"\r\n\r\n", 1)[0]
        raw_headers.decode("ascii")  # RFC 2047 encoded words, no raw UTF-8
        assert b"=?utf-8?" in raw_headers

    def test_the_same_delivery_keeps_its_message_id(self, smtp):
        transport = make()
        [part] = transport.build(MESSAGE)
        transport.post(part)
        transport.post(part)
        first, second = (m.message["Message-ID"] for m in smtp.messages)
        assert first == second

    def test_it_logs_in_with_the_user_and_password_from_email_url(self, auth_smtp):
        assert "%24" in auth_smtp.email_url  # the password went through percent-encoding
        make().send(MESSAGE)
        assert auth_smtp.logins == [(USER, PASSWORD)]
        assert auth_smtp.messages[0].login == USER

    def test_a_wrong_password_is_permanent_and_never_shown(self, auth_smtp):
        wrong = auth_smtp.email_url.replace("Zq7", "Xx9")
        with configured(wrong):
            error = failure()
        assert (error.retryable, error.status, error.code) == (False, 535, "smtp_535")
        assert "app password" in error.message
        assert "Xx9" not in str(error) + error.body + repr(error)
        assert not auth_smtp.messages

    def test_a_server_without_auth_says_so(self, smtp):
        login = f"{quote(USER, safe='')}:{quote(PASSWORD, safe='')}"
        with configured(f"smtp://{login}@{smtp.host}:{smtp.port}"):
            error = failure()
        assert error.retryable is False
        assert "offers no login" in error.message and "?tls=true" in error.message
        assert_no_password(error)

    def test_partly_refused_is_permanent_and_names_both_sides(self, smtp):
        smtp.play("rcpt_no_such_user", address="ghost@example.com")
        smtp.play("rcpt_greylisted", address="grey@example.com")
        error = failure({"to": "ana@example.com, ghost@example.com, grey@example.com"})
        assert error.retryable is False
        assert error.code == "smtp_partly_refused"
        assert error.status == 550
        assert "took the message for ana@example.com but refused ghost@example.com (550 5.1.1" in (
            error.message
        )
        assert "and grey@example.com (450 4.2.0" in error.message
        assert "a retry would send ana@example.com a second copy" in error.message
        assert error.body.startswith("accepted: ana@example.com\nrefused:\nghost@example.com: 550")
        [mail] = smtp.messages
        assert mail.rcpt_tos == ["ana@example.com"]

    def test_all_refused_with_4xx_is_transient(self, smtp):
        smtp.play("rcpt_greylisted", address="ana@example.com")
        smtp.play("rcpt_over_quota", address="bo@example.com")
        error = failure({"to": "ana@example.com, bo@example.com"})
        assert (error.retryable, error.status) == (True, 450)
        assert "refused ana@example.com (450 4.2.0" in error.message
        assert "and bo@example.com (452 4.2.2" in error.message
        assert "nothing was sent" in error.message
        assert not smtp.messages

    def test_all_refused_with_5xx_is_permanent(self, smtp):
        smtp.play("rcpt_no_such_user", address="ana@example.com")
        smtp.play("rcpt_no_such_user", address="bo@example.com")
        error = failure({"to": "ana@example.com, bo@example.com"})
        assert (error.retryable, error.status) == (False, 550)
        assert "check the addresses in the 'to' option" in error.message
        # Gmail's multi-line reply, its enhanced code once.
        assert error.body.startswith(
            "ana@example.com: 550 5.1.1 The email account that you tried to reach does not "
            "exist. Please try double-checking"
        )

    def test_relay_denied_points_at_the_login(self, smtp):
        smtp.play("rcpt_relay_denied")
        error = failure()
        assert (error.retryable, error.status) == (False, 554)
        assert "relaying or policy" in error.message and "EMAIL_URL logs in" in error.message

    def test_all_refused_with_5xx_and_4xx_is_retried_for_the_4xx(self, smtp):
        smtp.play("rcpt_no_such_user", address="ana@example.com")
        smtp.play("rcpt_greylisted", address="bo@example.com")
        assert failure({"to": "ana@example.com, bo@example.com"}).retryable is True

    def test_it_sends_again_after_a_421_disconnect(self, smtp):
        smtp.play("mail_temporary_problem")
        assert failure().retryable is True
        make().send(MESSAGE)
        assert len(smtp.messages) == 1

    def test_connection_refused_is_transient(self):
        with configured(SmtpServer.closed_url()):
            error = failure()
        assert (error.retryable, error.code, error.status) == (True, "connect", None)
        assert "could not be reached: connection refused" in error.message

    @pytest.mark.parametrize("stage", ["connect", "data"])
    def test_a_silent_server_times_out_quickly(self, smtp, stage):
        smtp.hang(stage, 5)
        started = time.monotonic()
        with configured(smtp.email_url, EMAIL_TIMEOUT=0.5):
            error = failure()
        assert time.monotonic() - started < 2
        assert (error.retryable, error.code) == (True, "timeout")
        assert "gave no answer within 0.5 s (the message may still have been delivered)" in (
            error.message
        )

    def test_starttls_with_a_trusted_certificate(self, trusted):
        server = SmtpServer(auth=(USER, PASSWORD), starttls=trusted, require_tls=True)
        with server, configured(server.email_url + "/?tls=true"):
            make().send(MESSAGE)
        [mail] = server.messages
        assert (mail.tls, mail.login) == (True, USER)

    def test_starttls_with_an_untrusted_certificate_is_permanent(self, certificate):
        with SmtpServer(starttls=certificate) as server, configured(server.email_url + "?tls=true"):
            error = failure()
        assert (error.retryable, error.code) == (False, "tls")
        assert "TLS certificate was not accepted" in error.message
        assert not server.messages

    def test_a_server_that_insists_on_starttls(self, certificate):
        with (
            SmtpServer(starttls=certificate, require_tls=True) as server,
            configured(server.email_url),
        ):
            error = failure()
        assert (error.retryable, error.status) == (False, 530)
        assert "Must issue a STARTTLS command first" in error.message
        assert "?tls=true" in error.message

    def test_starttls_asked_of_a_server_without_it(self, smtp):
        with configured(smtp.email_url + "?tls=true"):
            error = failure()
        assert error.retryable is False
        assert "offers no STARTTLS" in error.message

    def test_smtps_with_implicit_tls(self, trusted):
        server = SmtpServer(auth=(USER, PASSWORD), implicit_tls=trusted)
        with server, configured(server.email_url):
            assert server.email_url.startswith("smtps://")
            make().send(MESSAGE)
        assert server.messages[0].tls is True

    def test_smtps_against_a_plain_port_is_permanent(self, smtp):
        with configured(smtp.email_url.replace("smtp://", "smtps://")):
            error = failure()
        assert (error.retryable, error.code) == (False, "tls")
        assert "smtps:// is for a TLS port (465)" in error.message


# -- one test per recorded answer ------------------------------------------------------------


@pytest.mark.parametrize("name", fixture_names())
def test_it_judges_the_recorded_answer(auth_smtp, name):
    fixture = auth_smtp.play(name)
    error = failure()
    assert error.retryable is (fixture["expect"] == "transient"), error.message
    assert error.status == fixture["status"]
    first = reply_of(fixture).split("\r\n")[0]
    enhanced = first[4:].split()[0]  # e.g. 5.1.1 (RFC 3463)
    assert f"{fixture['status']} {enhanced}" in error.message
    assert error.message.startswith("SMTP server 127.0.0.1 refused ")
    assert_no_password(error)
    assert not auth_smtp.messages


def test_every_fixture_names_its_source():
    for name in fixture_names():
        fixture = load_fixture(name)
        assert fixture["source"] and fixture["description"]
        assert fixture["stage"] in ("connect", "auth", "mail", "rcpt", "data")
        assert fixture["expect"] in ("permanent", "transient")
        assert (fixture["expect"] == "transient") is (400 <= fixture["status"] < 500)
        assert reply_of(fixture).startswith(str(fixture["status"]))


def test_the_backend_is_used_only_with_email_url(smtp):
    assert settings.EMAIL_BACKEND == "integrations.email.backend.EmailBackend"
    assert settings.DEFAULT_FROM_EMAIL == FROM
