from __future__ import annotations

import html
import logging
import re
from html.parser import HTMLParser

import pytest

from integrations.channels import Message, OptionsError, TransportError
from integrations.channels.sizing import utf16_units
from integrations.channels.telegram import (
    MAX_TEXT,
    Span,
    TelegramTransport,
    markdown_spans,
    to_html,
    to_markdown_v2,
)
from tests.fakes.chat_server import Answer
from tests.fakes.telegram_server import TOKEN, TelegramReceiver

from .contract import FAST, SplittingContract, paragraphs

CHAT = {"chat_id": "-1001234567890"}


def transport(**options) -> TelegramTransport:
    return TelegramTransport("", {**CHAT, **options}, TOKEN)


def texts(message: Message, **options) -> list[str]:
    return [part["text"] for part in transport(**options).build(message)]


def visible(markup: str) -> str:
    """What Telegram shows for an HTML part: tags gone, entities read."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


class _TagChecker(HTMLParser):
    """Fails on a tag Telegram does not know or one that does not nest."""

    allowed = {"b", "i", "s", "code", "pre", "a"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        assert tag in self.allowed, tag
        self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack.pop() == tag, tag


def assert_well_formed(markup: str) -> None:
    checker = _TagChecker()
    checker.feed(markup)
    checker.close()
    assert checker.stack == []
    # No stray < or & outside tags and entities (the Bot API's "HTML style" rule).
    bare = re.sub(r"<(/?)(b|i|s|code|pre|a)( [^<>]*)?>|&(lt|gt|amp|quot);", "", markup)
    assert "<" not in bare and ">" not in bare and "&" not in bare


class TestTelegram(SplittingContract):
    transport_class = TelegramTransport
    receiver_class = TelegramReceiver
    options = CHAT
    permanent_answers = (
        "unauthorized",
        "not_found",
        "chat_not_found",
        "blocked_by_user",
        "kicked",
        "not_a_member",
        "not_started",
        "cant_parse_entities",
        "thread_not_found",
        "migrated",
        "too_long",
    )
    transient_answers = ("rate_limited", "server_error")
    long_message = Message(text=paragraphs(60), title="Digest", footer="end")

    # -- the request -------------------------------------------------------------------

    def test_it_posts_to_the_bot_method_with_the_token_in_the_path(self, receiver):
        self.make(receiver.url).send(Message(text="hi"))
        request = receiver.requests[0]
        assert (request.method, request.path) == ("POST", f"/bot{TOKEN}/sendMessage")
        assert request.header("Content-Type") == "application/json; charset=utf-8"

    def test_it_sends_the_exact_body(self, receiver):
        self.make(receiver.url).send(
            Message(
                text="Deploy **done** & see [log](https://ci.example.com/1?a=1&b=2)",
                title="CI <prod>",
                footer="dify-hub",
            )
        )
        assert receiver.requests[0].json == {
            "chat_id": "-1001234567890",
            "text": "<b>CI &lt;prod&gt;</b>\n\n"
            'Deploy <b>done</b> &amp; see <a href="https://ci.example.com/1?a=1&amp;b=2">log</a>'
            "\n\n<i>dify-hub</i>",
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }

    def test_it_sends_the_options_as_bot_api_fields(self, receiver):
        options = {
            "chat_id": "@ops_channel",
            "parse_mode": "MarkdownV2",
            "silent": True,
            "thread_id": 7,
            "link_preview": True,
        }
        self.make(receiver.url, options=options).send(Message(text="v1.2 is out!"))
        assert receiver.requests[0].json == {
            "chat_id": "@ops_channel",
            "text": "v1\\.2 is out\\!",
            "parse_mode": "MarkdownV2",
            "message_thread_id": 7,
            "disable_notification": True,
        }

    def test_it_uses_api_telegram_org_when_the_url_is_empty(self):
        sent = TelegramTransport("", CHAT, TOKEN).prepare({"text": "x"})[0]
        assert sent == f"https://api.telegram.org/bot{TOKEN}/sendMessage"
        assert TelegramTransport.clean_url(None) == "https://api.telegram.org"

    def test_it_posts_to_a_self_hosted_bot_api_server(self):
        own = TelegramTransport("https://tg.example.com/bot-api/", CHAT, TOKEN)
        assert own.prepare({})[0] == f"https://tg.example.com/bot-api/bot{TOKEN}/sendMessage"

    # -- HTML --------------------------------------------------------------------------

    def test_it_escapes_html_exactly_as_the_bot_api_asks(self):
        [text] = texts(
            Message(
                text='<script>alert("x")</script> & &amp; 5 > 3 `a<b && c>d` [q](https://e.x/?a="1"&b=2)',
                title="A & <B>",
                footer="<i>not italic</i>",
            )
        )
        assert text == (
            "<b>A &amp; &lt;B&gt;</b>\n\n"
            '&lt;script&gt;alert("x")&lt;/script&gt; &amp; &amp; 5 &gt; 3 '
            "<code>a&lt;b &amp;&amp; c&gt;d</code> "
            '<a href="https://e.x/?a=%221%22&amp;b=2">q</a>\n\n'
            "<i>&lt;i&gt;not italic&lt;/i&gt;</i>"
        )
        assert_well_formed(text)

    def test_it_converts_markdown_to_telegram_html(self):
        [text] = texts(
            Message(
                text="# Release **1.2**\n**bold** *italic* __strong__ _em_ ~~gone~~\n"
                "- one\n- two\n  - nested\n1. first\n2. second\n\n> quoted\n\n"
                "| a | b |\n|---|---|\n| 1 | 2 |\n\n---\n"
                "![chart](https://i.example/c.png) [relative](docs/x) <https://a.example>"
            )
        )
        assert text == (
            "<b>Release 1.2</b>\n\n"
            "<b>bold</b> <i>italic</i> <b>strong</b> <i>em</i> <s>gone</s>\n\n"
            "• one\n• two\n  • nested\n\n1. first\n2. second\n\n&gt; quoted\n\n"
            "<b>a</b> | <b>b</b>\n1 | 2\n\n———\n\n"
            '<a href="https://i.example/c.png">chart</a> relative '
            '<a href="https://a.example">https://a.example</a>'
        )
        assert_well_formed(text)

    def test_it_writes_code_blocks_with_their_language(self):
        [text] = texts(Message(text="```python title=x\nif a < b:\n    print('&')\n```"))
        assert text == (
            "<pre><code class=\"language-python\">if a &lt; b:\n    print('&amp;')</code></pre>"
        )

    def test_it_writes_the_fewest_tags_that_nest(self):
        spans = [
            Span("a", (("b", ""),)),
            Span("b", (("b", ""), ("i", ""))),
            Span("c", (("i", ""),)),
            Span('q"', (("a", 'https://e.x/?q="1"&r'),)),
            Span("x < y", (("pre", ""),)),
        ]
        assert to_html(spans) == (
            '<b>a<i>b</i></b><i>c</i><a href="https://e.x/?q=&quot;1&quot;&amp;r">q"</a>'
            "<pre>x &lt; y</pre>"
        )

    def test_it_keeps_telegrams_nesting_rules(self):
        # pre and code hold no other entity; a link cannot hold code (the link wins).
        [text] = texts(Message(text="**bold `code` bold** [`cmd`](https://x.example)"))
        assert text == (
            '<b>bold </b><code>code</code><b> bold</b> <a href="https://x.example">cmd</a>'
        )

    # -- MarkdownV2 ----------------------------------------------------------------------

    def test_it_escapes_every_markdown_v2_special_character_outside_entities(self):
        special = "_*[]()~`>#+-=|{}.!\\"
        assert to_markdown_v2([Span(special)]) == "".join("\\" + c for c in special)
        assert to_markdown_v2([Span("plain words 123")]) == "plain words 123"

    def test_it_escapes_only_backtick_and_backslash_inside_code(self):
        code = "a`b\\c_*[]()~>#+-=|{}.!"
        expected = "a\\`b\\\\c_*[]()~>#+-=|{}.!"
        assert to_markdown_v2([Span(code, (("code", ""),))]) == f"`{expected}`"
        assert to_markdown_v2([Span(code, (("pre", "py"),))]) == f"```py\n{expected}\n```"

    def test_it_escapes_only_parenthesis_and_backslash_in_link_urls(self):
        spans = [Span("see (1)", (("a", "https://e.x/a_(b)\\c?x=1.2"),))]
        assert to_markdown_v2(spans) == "[see \\(1\\)](https://e.x/a_(b\\)\\\\c?x=1.2)"

    def test_it_converts_tricky_markdown_to_markdown_v2(self):
        [text] = texts(
            Message(
                text="## Q3 (final)\nRevenue **+12.5%** vs. _plan_ - see [report](https://r.example/q3?v=1_2) "
                "or `x_y.z`!\n\n```sh\necho `date` \\\\\n```",
                title="Report #3",
                footer="by dify-hub.",
            ),
            parse_mode="MarkdownV2",
        )
        assert text == (
            "*Report \\#3*\n\n*Q3 \\(final\\)*\n\n"
            "Revenue *\\+12\\.5%* vs\\. _plan_ \\- see [report](https://r.example/q3?v=1_2) "
            "or `x_y.z`\\!\n\n```sh\necho \\`date\\` \\\\\\\\\n```\n\n_by dify\\-hub\\._"
        )

    def test_it_never_writes_italic_and_underline_markers_back_to_back(self):
        # "__" would be read as underline; closing and reopening italic never happens.
        text = to_markdown_v2(markdown_spans("*a* *b* ***c*** _d_e_"))
        assert "__" not in text

    # -- splitting -----------------------------------------------------------------------

    def test_it_splits_at_4096_visible_characters_in_order(self):
        parts = texts(self.long_message)
        assert len(parts) == 4
        assert all(utf16_units(visible(p)) <= MAX_TEXT for p in parts)
        assert parts[0].startswith("<b>Digest</b>\n\nP0 ")
        assert parts[-1].endswith("<i>end</i>")
        numbers = [int(n) for p in parts for n in re.findall(r"\bP(\d+) ", visible(p))]
        assert numbers == list(range(60))
        assert all(p.split("\n\n")[0].startswith(("<b>Digest", "P")) for p in parts)

    def test_it_counts_what_telegram_shows_not_the_markup(self):
        # 4,000 "&" are 20,000 characters of HTML but 4,000 after entity parsing: one message.
        [text] = texts(Message(text="&" * 4000))
        assert text == "&amp;" * 4000
        assert len(texts(Message(text="&" * 5000))) == 2

    def test_it_counts_emoji_as_telegram_does(self):
        parts = texts(Message(text="😀" * 3000))  # 6,000 UTF-16 units
        assert len(parts) == 2
        assert all(utf16_units(p) <= MAX_TEXT for p in parts)
        assert "".join(parts) == "😀" * 3000

    def test_it_closes_and_reopens_a_code_block_cut_across_parts(self):
        code = "```python\n" + "\n".join(f"print({i} < {i + 1})" for i in range(800)) + "\n```"
        parts = texts(Message(text=code))
        assert len(parts) == 4
        for part in parts:
            assert part.startswith('<pre><code class="language-python">print(')
            assert part.endswith(")</code></pre>")
            assert_well_formed(part)
        lines = [line for p in parts for line in visible(p).split("\n")]
        assert lines == [f"print({i} < {i + 1})" for i in range(800)]

    def test_it_never_cuts_inside_an_entity_in_markdown_v2_either(self):
        code = "```sh\n" + "\n".join(f"echo {i}." for i in range(1500)) + "\n```"
        parts = texts(Message(text=code), parse_mode="MarkdownV2")
        assert len(parts) > 1
        assert all(p.startswith("```sh\necho ") and p.endswith(".\n```") for p in parts)

    def test_it_keeps_bold_text_bold_on_both_sides_of_a_cut(self):
        parts = texts(Message(text="**" + "word " * 2000 + "end**"))
        assert len(parts) == 3
        for part in parts:
            assert part.startswith("<b>word") and part.endswith("</b>")
            assert_well_formed(part)

    def test_every_part_of_a_messy_message_is_valid_html(self):
        chunk = (
            "## Heading & more\n- **bold [link](https://l.example/?a=1&b=2)** `x<y`\n"
            "> quote *it* ~~s~~\n\n```js\nif (a < b && c > d) {}\n```\n\n"
        )
        parts = texts(Message(text=chunk * 80, title="T <1>", footer="F & G"))
        assert len(parts) > 1
        for part in parts:
            assert_well_formed(part)
            assert utf16_units(visible(part)) <= MAX_TEXT

    # -- answers -------------------------------------------------------------------------

    def test_it_explains_telegram_errors_with_its_description(self, receiver):
        error = self.failure(receiver, "chat_not_found")
        assert error.message.startswith(
            "Telegram answered HTTP 400 (Bad Request: chat not found): "
        )
        assert "option 'chat_id'" in error.message

    def test_it_says_which_chat_id_a_migrated_group_has_now(self, receiver):
        error = self.failure(receiver, "migrated")
        assert error.retryable is False
        assert "set option 'chat_id' to -100123456789" in error.message

    def test_it_calls_unparsable_entities_our_bug(self, receiver):
        error = self.failure(receiver, "cant_parse_entities")
        assert (error.retryable, error.status) == (False, 400)
        assert "a bug in dify-hub" in error.message

    def test_it_names_the_thread_id_option_for_a_missing_topic(self, receiver):
        error = self.failure(receiver, "thread_not_found")
        assert "option 'thread_id'" in error.message

    def test_it_passes_on_retry_after_from_the_answer_parameters(self, receiver):
        error = self.failure(receiver, "rate_limited")
        assert (error.retryable, error.retry_after) == (True, 8.0)

    def test_it_falls_back_to_the_retry_after_header(self, receiver):
        answer = Answer.json(429, {"ok": False, "error_code": 429}, **{"Retry-After": "3"})
        assert self.failure(receiver, answer).retry_after == 3.0

    def test_it_fails_on_200_without_ok(self, receiver):
        receiver.answer(Answer(200, b"<html>sign in</html>", (("Content-Type", "text/html"),)))
        with pytest.raises(TransportError) as info:
            self.make(receiver.url).send(Message(text="hi"))
        assert info.value.retryable is False
        assert "does not look like a Bot API server" in info.value.message

    def test_the_fake_refuses_another_token_like_telegram(self, receiver):
        with pytest.raises(TransportError) as info:
            self.make(receiver.url, secret="1234567890:" + "x" * 35).send(Message(text="hi"))
        assert (info.value.status, info.value.retryable) == (401, False)
        assert "@BotFather" in info.value.message

    # -- the token never leaks ---------------------------------------------------------

    def assert_token_absent(self, *texts: str) -> None:
        for text in texts:
            assert TOKEN not in text
            assert TOKEN.split(":")[1] not in text

    def test_the_token_is_kept_out_of_a_refused_connection(self, receiver):
        with pytest.raises(TransportError) as info:
            self.make(receiver.closed_url()).send(Message(text="hi"))
        self.assert_token_absent(str(info.value), repr(info.value), info.value.body)

    def test_the_token_is_kept_out_of_a_timeout(self, receiver):
        receiver.hang(10)
        with pytest.raises(TransportError) as info:
            self.make(receiver.url, timeout=FAST).send(Message(text="hi"))
        assert info.value.retryable is True
        self.assert_token_absent(str(info.value), repr(info.value), info.value.body)

    def test_the_token_is_scrubbed_from_an_answer_that_echoes_the_path(self, receiver):
        echo = f"<html>Cannot POST /bot{TOKEN}/sendMessage</html>".encode()
        receiver.answer(Answer(502, echo, (("Content-Type", "text/html"),)))
        with pytest.raises(TransportError) as info:
            self.make(receiver.url).send(Message(text="hi"))
        self.assert_token_absent(str(info.value), repr(info.value), info.value.body)
        assert "***" in info.value.body

    def test_the_token_is_not_in_the_repr_body_or_logs(self, receiver, caplog):
        caplog.set_level(logging.DEBUG)
        transport = self.make(receiver.url)
        transport.send(Message(text="hi"))
        receiver.answer("unauthorized")
        with pytest.raises(TransportError):
            transport.send(Message(text="hi"))
        self.assert_token_absent(repr(transport), caplog.text, receiver.requests[0].text)

    # -- configuration -------------------------------------------------------------------

    def test_it_rejects_options_of_the_wrong_type(self):
        """The contract's version, except that chat_id also takes a number (from YAML)."""
        for name, wrong in (
            ("parse_mode", 12),
            ("silent", 1),
            ("thread_id", "7"),
            ("link_preview", "no"),
        ):
            with pytest.raises(OptionsError, match=f"option '{name}'"):
                TelegramTransport.clean_options({**CHAT, name: wrong})
        for wrong in (True, 1.5, ["-100"]):
            with pytest.raises(
                OptionsError, match="option 'chat_id' for telegram must be a number"
            ):
                TelegramTransport.clean_options({"chat_id": wrong})

    def test_it_takes_a_numeric_chat_id_as_yaml_gives_it(self):
        assert TelegramTransport.clean_options({"chat_id": -1001234567890}) == {
            "chat_id": "-1001234567890"
        }
        assert TelegramTransport.clean_options({"chat_id": " @ops_channel "}) == {
            "chat_id": "@ops_channel"
        }

    @pytest.mark.parametrize(
        "chat_id", ["https://t.me/ops", "ops_channel", "@ab", "-100 123", "12a"]
    )
    def test_it_rejects_a_chat_id_that_is_no_id(self, chat_id):
        with pytest.raises(OptionsError, match="option 'chat_id' for telegram must be a chat id"):
            TelegramTransport.clean_options({"chat_id": chat_id})

    def test_it_requires_a_chat_id(self):
        with pytest.raises(OptionsError, match="option 'chat_id' is required for telegram"):
            TelegramTransport.clean_options({"silent": True})

    def test_it_normalises_and_checks_the_parse_mode(self):
        assert (
            TelegramTransport.clean_options({**CHAT, "parse_mode": "html"})["parse_mode"] == "HTML"
        )
        cleaned = TelegramTransport.clean_options({**CHAT, "parse_mode": "markdownV2"})
        assert cleaned["parse_mode"] == "MarkdownV2"
        with pytest.raises(
            OptionsError, match="option 'parse_mode' for telegram must be HTML or MarkdownV2"
        ):
            TelegramTransport.clean_options({**CHAT, "parse_mode": "Markdown"})

    def test_it_rejects_a_thread_id_below_one(self):
        with pytest.raises(OptionsError, match="option 'thread_id'"):
            TelegramTransport.clean_options({**CHAT, "thread_id": 0})

    def test_it_checks_the_token_shape_without_quoting_it(self):
        bad = "7312849905-AAGk3Xq9VmW2xLr8NcY4bJh6DzT1pQe5uIo"
        with pytest.raises(OptionsError) as info:
            TelegramTransport.clean_secret(bad)
        assert "bot token does not look like a Telegram bot token" in str(info.value)
        assert bad not in str(info.value) and "AAGk3Xq9" not in str(info.value)
        with pytest.raises(OptionsError, match="bot token is required for telegram"):
            TelegramTransport.clean_secret("  ")

    def test_it_drops_a_bot_prefix_copied_from_a_request_url(self):
        assert TelegramTransport.clean_secret(f" bot{TOKEN} ") == TOKEN

    def test_it_refuses_a_server_url_carrying_the_token_without_quoting_it(self):
        for url in (
            f"https://api.telegram.org/bot{TOKEN}/sendMessage",
            f"https://x.example/{TOKEN}",
        ):
            with pytest.raises(OptionsError) as info:
                TelegramTransport.clean_url(url)
            assert "must not contain the bot token" in str(info.value)
            self.assert_token_absent(str(info.value))
