from __future__ import annotations

import base64
import json
import re

import pytest

from integrations.channels import Message, OptionsError, TransportError
from integrations.channels.ntfy import MAX_BODY, NtfyTransport, header_value
from tests.fakes.chat_server import Answer
from tests.fakes.ntfy_server import FIXTURES, NtfyReceiver, published, published_header

from .contract import FAST, SplittingContract, paragraphs

URL = "https://ntfy.sh/family-morning"
TOKEN = NtfyReceiver.secret


class TestNtfy(SplittingContract):
    transport_class = NtfyTransport
    receiver_class = NtfyReceiver
    sends_json = False
    permanent_answers = (
        "unauthorized",
        "forbidden",
        "invalid_priority",
        "attachments_disallowed",
        "attachment_too_large",
    )
    transient_answers = (
        "rate_limited",
        "daily_quota",
        "auth_failures",
        "unifiedpush_no_subscriber",
        "server_error",
    )
    long_message = Message(text=paragraphs(60), title="Digest")

    def received(self, request):
        return published(request)

    # -- what is sent ---------------------------------------------------------

    def test_it_posts_the_plain_message_with_headers(self, receiver):
        self.make(receiver.url).send(
            Message(text="Deploy **done** <ok>", title="CI", footer="dify-hub")
        )
        request = receiver.requests[0]
        assert (request.method, request.path) == ("POST", "/dify-hub-family-alerts")
        assert request.text == "Deploy **done** <ok>\n\n_dify-hub_"
        assert request.header("Content-Type") == "text/plain; charset=utf-8"
        assert request.header("Authorization") == f"Bearer {TOKEN}"
        assert published(request)["headers"] == {"X-Title": "CI", "X-Markdown": "yes"}

    def test_it_turns_options_into_headers(self, receiver):
        options = {
            "priority": "HIGH",
            "tags": ["warning", " skull "],
            "click": "https://ci.example.com/jobs/42?tab=log",
            "icon": "https://example.com/icon.png",
        }
        self.make(receiver.url, options=options).send(Message(text="hi"))
        assert published(receiver.requests[0])["headers"] == {
            "X-Priority": "high",
            "X-Tags": "warning,skull",
            "X-Markdown": "yes",
            "X-Click": "https://ci.example.com/jobs/42?tab=log",
            "X-Icon": "https://example.com/icon.png",
        }

    def test_it_takes_a_whole_number_priority(self):
        assert NtfyTransport.clean_options({"priority": 5}) == {"priority": "5"}
        assert NtfyTransport.clean_options({"priority": " Urgent "}) == {"priority": "urgent"}

    def test_it_sends_plain_text_when_markdown_is_off(self, receiver):
        transport = self.make(receiver.url, options={"markdown": False})
        transport.send(Message(text="a *b*", footer="dify-hub"))
        request = receiver.requests[0]
        assert request.header("X-Markdown") is None
        assert request.text == "a *b*\n\ndify-hub"

    def test_it_sends_no_title_header_without_a_title(self, receiver):
        self.make(receiver.url).send(Message(text="hi"))
        assert receiver.requests[0].header("X-Title") is None

    def test_it_sends_basic_auth_for_user_and_password(self, receiver):
        self.make(receiver.url, secret="phil:s3cret-Pass").send(Message(text="hi"))
        expected = base64.b64encode(b"phil:s3cret-Pass").decode()
        assert receiver.requests[0].header("Authorization") == f"Basic {expected}"

    def test_it_sends_no_authorization_without_a_secret(self, receiver):
        self.make(receiver.url, secret="").send(Message(text="hi"))
        assert receiver.requests[0].header("Authorization") is None

    # -- non-ASCII headers (RFC 2047) ---------------------------------------------

    def test_it_encodes_a_non_ascii_title_as_rfc_2047_words(self, receiver):
        title = "Météo du jour ☀️ — Пекин, 北京 " * 3
        self.make(receiver.url).send(Message(text="hi", title=title))
        raw = receiver.requests[0].header("X-Title")
        assert raw.isascii()
        words = raw.split(" ")
        assert len(words) > 1
        assert all(re.fullmatch(r"=\?utf-8\?b\?[A-Za-z0-9+/=]+\?=", w) for w in words)
        assert all(len(w) <= 75 for w in words)  # RFC 2047's limit for one word
        assert published_header(receiver.requests[0], "X-Title") == " ".join(title.split())

    def test_it_leaves_ascii_headers_alone_unless_they_look_encoded(self):
        assert header_value("Daily  digest\n") == "Daily digest"
        encoded = header_value("=?utf-8?q?fake?=")
        assert encoded.startswith("=?utf-8?b?")
        assert base64.b64decode(encoded[10:-2]) == b"=?utf-8?q?fake?="

    def test_it_encodes_non_ascii_tags(self, receiver):
        self.make(receiver.url, options={"tags": ["tada", "Äpfel"]}).send(Message(text="hi"))
        request = receiver.requests[0]
        assert request.header("X-Tags").startswith("=?utf-8?b?")
        assert published_header(request, "X-Tags") == "tada,Äpfel"

    # -- splitting ------------------------------------------------------------------

    def test_it_splits_at_4096_bytes_and_numbers_the_titles(self):
        transport = NtfyTransport(URL)
        text = paragraphs(40, words=30, word="天气晴")  # 3 bytes a character
        parts = transport.build(Message(text=text, title="Digest", footer="end"))
        assert len(parts) >= 3
        assert all(len(p["body"].encode()) <= MAX_BODY for p in parts)
        assert [p["headers"]["X-Title"] for p in parts] == [
            f"Digest ({n}/{len(parts)})" for n in range(1, len(parts) + 1)
        ]
        bodies = "\n\n".join(p["body"] for p in parts)
        assert re.findall(r"P\d+", bodies) == [f"P{n}" for n in range(40)]
        assert parts[-1]["body"].endswith("_end_")

    def test_it_numbers_parts_without_a_title(self):
        parts = NtfyTransport(URL).build(Message(text=paragraphs(60)))
        assert [p["headers"]["X-Title"] for p in parts][:2] == [
            f"(1/{len(parts)})",
            f"(2/{len(parts)})",
        ]

    def test_it_does_not_number_a_single_part(self):
        [part] = NtfyTransport(URL).build(Message(text="x" * MAX_BODY, title="Digest"))
        assert part["headers"]["X-Title"] == "Digest"

    def test_it_keeps_code_blocks_closed_across_parts(self):
        code = "```python\n" + "\n".join(f"print({i})" for i in range(900)) + "\n```"
        parts = [p["body"] for p in NtfyTransport(URL).build(Message(text=code))]
        assert len(parts) >= 3
        assert all(p.startswith("```python\n") and p.endswith("\n```") for p in parts)

    def test_it_stores_parts_as_plain_json(self):
        parts = NtfyTransport(URL, {"tags": ["a"]}).build(Message(text=paragraphs(60)))
        assert json.loads(json.dumps(parts)) == parts

    # -- answers ----------------------------------------------------------------------

    def test_it_explains_ntfy_error_codes(self, receiver):
        error = self.failure(receiver, "forbidden")
        assert error.message == (
            "ntfy answered HTTP 403 (forbidden, code 40301): this account (or anyone without a "
            "token) may not publish to the topic: it is reserved or protected; set an access "
            "token with write access, or use another topic"
        )
        error = self.failure(receiver, "unauthorized")
        assert "code 40101" in error.message
        assert "check the recipient's access token" in error.message

    def test_it_retries_the_daily_quota(self, receiver):
        error = self.failure(receiver, "daily_quota")
        assert (error.retryable, error.status) == (True, 429)
        assert "daily message quota" in error.message

    def test_it_honours_a_proxys_retry_after(self, receiver):
        answer = Answer.from_fixture("rate_limited", FIXTURES)
        receiver.answer(Answer(429, answer.body, (*answer.headers, ("Retry-After", "12"))))
        with pytest.raises(TransportError) as info:
            self.make(receiver.url).send(Message(text="hi"))
        assert (info.value.retryable, info.value.retry_after) == (True, 12.0)

    def test_it_has_no_retry_after_when_ntfy_gives_none(self, receiver):
        assert self.failure(receiver, "rate_limited").retry_after is None

    def test_it_fails_on_200_without_a_message_id(self, receiver):
        receiver.answer(
            Answer(200, b"<html>captive portal</html>", (("Content-Type", "text/html"),))
        )
        with pytest.raises(TransportError) as info:
            self.make(receiver.url).send(Message(text="hi"))
        assert info.value.retryable is False
        assert "without a message id" in info.value.message

    # -- secrets: the token and the topic ---------------------------------------------

    def test_it_keeps_a_plain_word_topic_out_of_errors(self):
        class WordTopic(NtfyReceiver):
            topic = "alerts"
            path = "/alerts"

        with WordTopic() as receiver:
            echo = {"code": 40301, "http": 403, "error": "forbidden: topic alerts is reserved"}
            receiver.answer(Answer.json(403, echo))
            with pytest.raises(TransportError) as info:
                self.make(receiver.url).send(Message(text="hi"))
            assert "alerts" not in str(info.value) and "alerts" not in info.value.body
            assert "***" in info.value.message
            with pytest.raises(TransportError) as refused:
                self.make(receiver.closed_url()).send(Message(text="hi"))
            assert "alerts" not in str(refused.value)
            receiver.hang(5)
            with pytest.raises(TransportError) as slow:
                self.make(receiver.url, timeout=FAST).send(Message(text="hi"))
            assert "alerts" not in str(slow.value)

    def test_it_redacts_the_password_of_basic_auth(self, receiver):
        echo = {"code": 40101, "http": 401, "error": "unauthorized: s3cret-Pass is wrong"}
        receiver.answer(Answer.json(401, echo))
        with pytest.raises(TransportError) as info:
            self.make(receiver.url, secret="phil:s3cret-Pass").send(Message(text="hi"))
        assert "s3cret-Pass" not in str(info.value) and "s3cret-Pass" not in info.value.body

    # -- configuration -------------------------------------------------------------------

    @pytest.mark.parametrize(
        "url, why",
        [
            ("https://ntfy.sh", "one topic name"),
            ("https://ntfy.sh/", "one topic name"),
            ("https://ntfy.sh/family/morning", "one topic name"),
            ("https://ntfy.sh/family-morning/", "one topic name"),
            ("https://ntfy.sh/family.morning", "one topic name"),
            ("https://ntfy.sh/" + "a" * 65, "one topic name"),
            ("https://ntfy.sh/family-morning?auth=abc", "query string"),
            ("https://phil:pass@ntfy.sh/family-morning", "user or password"),
            ("https://ntfy.sh/docs", "keeps 'docs'"),
        ],
    )
    def test_it_checks_the_topic_url(self, url, why):
        with pytest.raises(OptionsError) as info:
            NtfyTransport.clean_url(url)
        assert why in str(info.value)
        assert "topic URL" in str(info.value)
        assert "family" not in str(info.value)  # the topic is never quoted back

    def test_it_accepts_self_hosted_topic_urls(self):
        for url in (URL, "https://ntfy.example.com:8443/alerts_2", "http://10.0.0.5/" + "a" * 64):
            assert NtfyTransport.clean_url(url) == url

    @pytest.mark.parametrize(
        "options, name",
        [
            ({"priority": "7"}, "priority"),
            ({"priority": 0}, "priority"),
            ({"priority": "loud"}, "priority"),
            ({"tags": ["a,b"]}, "tags"),
            ({"tags": [""]}, "tags"),
            ({"tags": [3]}, "tags"),
            ({"click": "ci.example.com/jobs"}, "click"),
            ({"click": "https://ci.example.com/a b"}, "click"),
            ({"icon": "ftp://example.com/icon.png"}, "icon"),
            ({"icon": "https://"}, "icon"),
        ],
    )
    def test_it_rejects_option_values_naming_the_option(self, options, name):
        with pytest.raises(OptionsError, match=f"option '{name}' for ntfy"):
            NtfyTransport.clean_options(options)

    def test_it_accepts_non_web_click_actions(self):
        for click in ("mailto:phil@example.com", "geo:0,0?q=1600+Amphitheatre"):
            assert NtfyTransport.clean_options({"click": click}) == {"click": click}

    @pytest.mark.parametrize(
        "secret, why",
        [
            ("AgQdq7mVBoFD37zQVN29RhuMzNIz2", "tk_"),
            ("tk_abc def", "spaces"),
            ("phil:", "both"),
            (":pass", "both"),
            ("tk_abc\nX-Evil: 1", "one line"),
        ],
    )
    def test_it_checks_the_access_token(self, secret, why):
        with pytest.raises(OptionsError) as info:
            NtfyTransport.clean_secret(secret)
        assert "access token" in str(info.value) and why in str(info.value)

    def test_it_takes_no_secret_or_a_token_or_a_password(self):
        assert NtfyTransport.clean_secret("  ") == ""
        assert NtfyTransport.clean_secret(f" {TOKEN} ") == TOKEN
        assert (
            NtfyTransport.clean_secret("phil:pass word:with colon") == "phil:pass word:with colon"
        )


def test_the_request_fixtures_name_the_path_and_the_title_ntfy_shows():
    for path in sorted(FIXTURES.glob("request_*.json")):
        fixture = json.loads(path.read_text())
        with NtfyReceiver() as server:
            transport = NtfyTransport(server.url, fixture["options"], server.secret)
            transport.send(Message(**fixture["message"]))
        request = server.requests[0]
        assert request.path == fixture["sent_path"], path.name
        assert published_header(request, "X-Title") == fixture["message"]["title"], path.name
