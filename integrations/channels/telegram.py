"""Telegram bot: the Bot API's `sendMessage` (https://core.telegram.org/bots/api#sendmessage).

The recipient's URL is the Bot API server (empty: https://api.telegram.org; a self-hosted
telegram-bot-api server is just another URL) and its secret is the bot token. The request is
`POST {server}/bot{token}/sendMessage` with JSON. The token sits in the URL path, so it is in
`self.redact` (base.py) and never reaches an error, a body or a repr; the hub's logging keeps
urllib3, which logs request paths at DEBUG, at WARNING (hub/settings.py).

Formatting (https://core.telegram.org/bots/api#formatting-options): the LLM's markdown is
parsed once with markdown-it-py into styled spans, and the spans are written out as HTML
("HTML style": escape exactly `&`, `<` and `>` outside tags; `<b> <i> <s> <code> <pre>
<a href>`) or as MarkdownV2 ("MarkdownV2 style": outside entities escape every one of
``_*[]()~`>#+-=|{}.!`` and `\\`; inside `pre`/`code` only `` ` `` and `\\`; inside a link's
URL only `)` and `\\`). Headings become bold lines, bullets `•`. The nesting rules of the same
page are kept: `pre` and `code` hold no other entity, and a link never holds `code`.

Size: `text` is "1-4096 characters after entities parsing", so the visible text of each part
is counted (in UTF-16 units, as Telegram counts entity offsets: conservative for emoji) and a
longer message is SPLIT. Splitting happens on the spans, before any markup is written, so no
part can end inside a tag, an escape or an entity: a code block cut in two is closed at the
end of one part and reopened, with its language, at the top of the next.

Answers (https://core.telegram.org/bots/api#making-requests): success is HTTP 200 with
`{"ok": true, "result": {...}}`; anything else is an error `{"ok": false, "error_code": N,
"description": "..."}`, some with `parameters` (#responseparameters). 429 carries
`parameters.retry_after` and is transient like 5xx and network errors; every 4xx is permanent
("chat not found", "bot was blocked by the user", "Unauthorized", "can't parse entities",
"message thread not found"...). A group upgraded to a supergroup answers 400 with
`parameters.migrate_to_chat_id`: the message says which id to put in `chat_id`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from html import escape
from typing import Any

from .base import (
    Message,
    OptionsError,
    Reply,
    Transport,
    encode_json,
    json_headers,
    parse_json,
    shorten,
)
from .spans import BOLD, ITALIC, Mark, Span, markdown_spans, split_spans

DEFAULT_SERVER = "https://api.telegram.org"
MAX_TEXT = 4096  # characters of visible text per message
PARSE_MODES = {"html": "HTML", "markdownv2": "MarkdownV2"}

# "123456789:AA..." as @BotFather gives it: the bot's id, a colon, ~35 URL-safe characters.
_TOKEN = re.compile(r"\d{3,20}:[A-Za-z0-9_-]{30,64}")
_TOKEN_IN_URL = re.compile(r"/bot\d+:|\d{3,20}:[A-Za-z0-9_-]{30,}")
# A numeric chat id (negative for groups and channels) or a public @username (5-32 characters).
_CHAT_ID = re.compile(r"-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31}")

# Telegram's own words (lower case) -> what to do, in plain words. The descriptions are the
# Bot API's (tests/fixtures/telegram/README.md says where each was seen).
_DESCRIPTION_HINTS = (
    (
        "chat not found",
        "the bot cannot see this chat: check option 'chat_id' and that the "
        "bot was added to the group or channel (a user must have started the bot)",
    ),
    ("bot was blocked by the user", "the user blocked the bot; they must unblock it"),
    ("bot was kicked", "the bot was removed from the chat; add it back"),
    ("bot is not a member", "add the bot to the chat (as an administrator in a channel)"),
    ("can't initiate conversation", "the user must open the bot and press Start first"),
    ("user is deactivated", "the user's Telegram account was deleted"),
    ("rights to send", "the bot may not post in this chat; give it the right to send messages"),
    (
        "can't parse entities",
        "Telegram could not read the formatting dify-hub produced (a bug "
        "in dify-hub; please report it); setting option 'parse_mode' to the other mode may help",
    ),
    (
        "message thread not found",
        "option 'thread_id' names no topic in this chat; check the topic's id or remove the option",
    ),
    (
        "message is too long",
        "the message was not split small enough (a bug in dify-hub; please report it)",
    ),
    (
        "upgraded to a supergroup",
        "the group became a supergroup with a new id: put the new id in option 'chat_id'",
    ),
    ("text is empty", "the message was empty"),
)


# -- spans -> markup ------------------------------------------------------------------------


def _serialize(
    spans: list[Span],
    opener: Callable[[Mark], str],
    closer: Callable[[Mark], str],
    escaper: Callable[[str, tuple[Mark, ...]], str],
) -> str:
    """Write spans with the fewest tags: close what the next span does not share, open what
    it adds. Tags always nest, since each span's marks are listed outermost first."""
    out: list[str] = []
    stack: tuple[Mark, ...] = ()
    for span in spans:
        shared = 0
        while shared < min(len(stack), len(span.marks)) and stack[shared] == span.marks[shared]:
            shared += 1
        out += [closer(mark) for mark in reversed(stack[shared:])]
        out += [opener(mark) for mark in span.marks[shared:]]
        out.append(escaper(span.text, span.marks))
        stack = span.marks
    out += [closer(mark) for mark in reversed(stack)]
    return "".join(out)


def to_html(spans: list[Span]) -> str:
    """Telegram's "HTML style"."""

    def opener(mark: Mark) -> str:
        kind, arg = mark
        if kind == "a":  # &quot; is one of the four named entities Telegram reads
            return '<a href="' + escape(arg, quote=False).replace('"', "&quot;") + '">'
        if kind == "pre":
            return f'<pre><code class="language-{arg}">' if arg else "<pre>"
        return f"<{kind}>"

    def closer(mark: Mark) -> str:
        kind, arg = mark
        if kind == "pre":
            return "</code></pre>" if arg else "</pre>"
        return f"</{kind}>"

    return _serialize(spans, opener, closer, lambda text, _: escape(text, quote=False))


_MD2_MARKERS = {"b": "*", "i": "_", "s": "~", "code": "`"}
_MD2_SPECIAL = re.compile(r"([_*\[\]()~`>#+\-=|{}.!\\])")
_MD2_CODE_SPECIAL = re.compile(r"([`\\])")
_MD2_URL_SPECIAL = re.compile(r"([)\\])")


def to_markdown_v2(spans: list[Span]) -> str:
    """Telegram's "MarkdownV2 style"."""

    def opener(mark: Mark) -> str:
        kind, arg = mark
        if kind == "a":
            return "["
        return f"```{arg}\n" if kind == "pre" else _MD2_MARKERS[kind]

    def closer(mark: Mark) -> str:
        kind, arg = mark
        if kind == "a":
            return "](" + _MD2_URL_SPECIAL.sub(r"\\\1", arg) + ")"
        return "\n```" if kind == "pre" else _MD2_MARKERS[kind]

    def escaper(text: str, marks: tuple[Mark, ...]) -> str:
        in_code = marks and marks[0][0] in ("pre", "code")
        return (_MD2_CODE_SPECIAL if in_code else _MD2_SPECIAL).sub(r"\\\1", text)

    return _serialize(spans, opener, closer, escaper)


def _joined(*blocks: list[Span]) -> list[Span]:
    """Blocks (title, body, footer) one blank line apart, adjacent equal marks merged."""
    spans: list[Span] = []
    for block in (b for b in blocks if b):
        for span in [Span("\n\n"), *block] if spans else block:
            if spans and spans[-1].marks == span.marks:
                spans[-1] = Span(spans[-1].text + span.text, span.marks)
            else:
                spans.append(span)
    return spans


# -- the transport --------------------------------------------------------------------------


class TelegramTransport(Transport):
    kind = "telegram"
    label = "Telegram"
    options = {
        "chat_id": str,  # an int from YAML is accepted too (clean_options)
        "parse_mode": str,
        "silent": bool,
        "thread_id": int,
        "link_preview": bool,
    }
    required_options = ("chat_id",)
    url_label = "Bot API server URL"
    url_required = False
    default_url = DEFAULT_SERVER
    needs_secret = True
    secret_required = True
    secret_label = "bot token"
    status_hints = {
        **Transport.status_hints,
        400: "Telegram rejected the message",
        401: "the bot token was refused: copy it again from @BotFather (revoking it makes a "
        "new one)",
        403: "the bot may not write to this chat",
        404: "no bot with this token here: check the bot token and the Bot API server URL",
    }

    # -- configuration -----------------------------------------------------------------

    @classmethod
    def clean_options(cls, options: dict | None) -> dict:
        if isinstance(options, Mapping) and options.get("chat_id") is not None:
            options = {**options, "chat_id": _chat_id_text(options["chat_id"])}
        cleaned = super().clean_options(options)
        if "parse_mode" in cleaned:
            cleaned["parse_mode"] = PARSE_MODES[cleaned["parse_mode"].lower()]
        return cleaned

    @classmethod
    def check_option_values(cls, options: dict) -> None:
        chat_id = options.get("chat_id", "")
        if chat_id and not _CHAT_ID.fullmatch(chat_id):
            raise OptionsError(
                "option 'chat_id' for telegram must be a chat id such as -1001234567890 or a "
                "public username such as @channelname"
            )
        mode = options.get("parse_mode", "HTML")
        if mode.lower() not in PARSE_MODES:
            raise OptionsError(
                "option 'parse_mode' for telegram must be HTML or MarkdownV2 (legacy Markdown "
                "cannot escape every character)"
            )
        if options.get("thread_id", 1) < 1:
            raise OptionsError("option 'thread_id' for telegram must be a topic id (1 or more)")

    @classmethod
    def clean_secret(cls, secret: str) -> str:
        secret = super().clean_secret(secret)
        if re.match(r"bot\d+:", secret):
            secret = secret[3:]  # copied out of a request URL
        if secret and not _TOKEN.fullmatch(secret):
            # Never quoted back: even a mistyped token is mostly a real one.
            raise OptionsError(
                "bot token does not look like a Telegram bot token (the bot's number, a colon "
                "and about 35 letters, digits, '-' or '_'); copy it again from @BotFather"
            )
        return secret

    @classmethod
    def check_url_shape(cls, parts: Any) -> None:
        if _TOKEN_IN_URL.search(parts.path) or _TOKEN_IN_URL.search(parts.query):
            raise OptionsError(
                "Bot API server URL must not contain the bot token: leave the URL empty for "
                "api.telegram.org (or give your own server's address) and put the token in "
                "the bot token field"
            )
        if parts.query or parts.fragment:
            raise OptionsError("Bot API server URL must not have a query string")

    # -- building ----------------------------------------------------------------------

    def build(self, message: Message) -> list[dict]:
        title, footer = message.title.strip(), message.footer.strip()
        spans = _joined(
            [Span(title, (BOLD,))] if title else [],
            markdown_spans(message.text.strip()),
            [Span(footer, (ITALIC,))] if footer else [],
        )
        mode = self.opts.get("parse_mode", "HTML")
        render = to_markdown_v2 if mode == "MarkdownV2" else to_html
        return [self._payload(render(part), mode) for part in split_spans(spans, MAX_TEXT)]

    def _payload(self, text: str, mode: str) -> dict:
        payload: dict[str, Any] = {
            "chat_id": self.opts["chat_id"],
            "text": text,
            "parse_mode": mode,
        }
        if "thread_id" in self.opts:
            payload["message_thread_id"] = self.opts["thread_id"]
        if self.opts.get("silent"):
            payload["disable_notification"] = True
        if not self.opts.get("link_preview", False):
            # A digest full of links would otherwise show a big preview of the first one.
            payload["link_preview_options"] = {"is_disabled": True}
        return payload

    def prepare(self, payload: dict) -> tuple[str, dict[str, str], bytes]:
        url = f"{self.url.rstrip('/')}/bot{self.secret}/sendMessage"
        return url, json_headers(), encode_json(payload)

    # -- judging the answer ------------------------------------------------------------

    def check(self, reply: Reply, headers: Mapping, text: str) -> None:
        data = parse_json(text)
        if reply.status == 200 and isinstance(data, dict) and data.get("ok") is True:
            return
        if reply.status == 200:
            raise self.error(
                'Telegram answered 200 without "ok": true; the Bot API server URL does not '
                "look like a Bot API server",
                retryable=False,
                reply=reply,
            )
        raise self.status_error(reply, headers, text)

    def error_detail(self, text: str) -> str:
        description = _answer(text).get("description")
        if isinstance(description, str) and description:
            return shorten(description)
        return super().error_detail(text)

    def hint(self, status: int, text: str) -> str:
        answer = _answer(text)
        new_id = _parameters(answer).get("migrate_to_chat_id")
        if isinstance(new_id, int) and not isinstance(new_id, bool):
            return f"the group became a supergroup with a new id: set option 'chat_id' to {new_id}"
        description = str(answer.get("description") or "").lower()
        for words, hint in _DESCRIPTION_HINTS:
            if words in description:
                return hint
        if status == 429:
            return "Telegram's flood control (about one message a second per chat); will retry"
        if 300 <= status < 400:
            return f"the {self.url_label} redirects elsewhere; use the final URL"
        return super().hint(status, text)

    def retry_after(self, status: int, headers: Mapping, text: str) -> float | None:
        seconds = _parameters(_answer(text)).get("retry_after")
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
            return max(0.0, float(seconds))
        return super().retry_after(status, headers, text)


def _chat_id_text(value: object) -> object:
    """YAML reads -1001234567890 as a number; the Bot API takes either, we keep a string."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise OptionsError(
            "option 'chat_id' for telegram must be a number or a string such as "
            f"'@channelname' (got {type(value).__name__})"
        )
    return value


def _answer(text: str) -> dict:
    data = parse_json(text)
    return data if isinstance(data, dict) else {}


def _parameters(answer: dict) -> dict:
    parameters = answer.get("parameters")
    return parameters if isinstance(parameters, dict) else {}
