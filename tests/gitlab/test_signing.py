"""Webhook secret tokens (X-Gitlab-Token) and Standard Webhooks signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import pytest

from integrations.channels.webhook import WebhookTransport
from integrations.gitlab import signing
from integrations.gitlab.signing import (
    TOKEN_PREFIX,
    SignatureError,
    check_signing_secret,
    generate_signing_secret,
    generate_token,
    hash_token,
    token_matches,
    verify_signature,
)

KEY = bytes(range(32))
SECRET = "whsec_" + base64.b64encode(KEY).decode()
BODY = b'{"object_kind":"merge_request","object_attributes":{"iid":342}}'
NOW = 1_772_443_000.0
WEBHOOK_ID = "6c2d8e5a-0b7f-4f4e-9d1a-2e3f4a5b6c7d"


def signature(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    """Written out here rather than borrowed from the code under test."""
    signed = webhook_id.encode() + b"." + timestamp.encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(timestamp: float = NOW, key: bytes = KEY, body: bytes = BODY, **extra) -> dict:
    stamp = str(int(timestamp))
    result = {
        "Content-Type": "application/json",
        "X-Gitlab-Event": "Merge Request Hook",
        "webhook-id": WEBHOOK_ID,
        "webhook-timestamp": stamp,
        "webhook-signature": signature(key, WEBHOOK_ID, stamp, body),
    }
    result.update(extra)
    return result


def reason(secret=SECRET, hdrs=None, body=BODY, now=NOW, **kwargs) -> str:
    with pytest.raises(SignatureError) as info:
        verify_signature(secret, headers() if hdrs is None else hdrs, body, now=now, **kwargs)
    return str(info.value)


# --- Tokens ---------------------------------------------------------------------------------


def test_generated_tokens_are_long_random_and_url_safe():
    tokens = {generate_token() for _ in range(50)}

    assert len(tokens) == 50
    for token in tokens:
        assert token.startswith(TOKEN_PREFIX)
        body = token.removeprefix(TOKEN_PREFIX)
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", body)  # 32 bytes of base64url
        assert len(base64.urlsafe_b64decode(body + "=")) == 32


def test_a_token_hash_is_salted_sha256():
    token = generate_token()

    first, second = hash_token(token), hash_token(token)

    assert first != second  # different salts
    scheme, salt, digest = first.split("$")
    assert scheme == "sha256" and len(salt) == 32 and re.fullmatch(r"[0-9a-f]{64}", digest)
    assert token not in first


def test_the_right_token_matches_and_nothing_else_does():
    token = generate_token()
    stored = hash_token(token)

    assert token_matches(stored, token)
    assert not token_matches(stored, token + "x")
    assert not token_matches(stored, token[:-1])
    assert not token_matches(stored, token.upper())
    assert not token_matches(stored, " " + token)
    assert not token_matches(stored, "")
    assert not token_matches(stored, None)
    assert not token_matches(stored, "ünïcödé")


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "sha256",
        "sha256$$" + "0" * 64,
        "sha256$salt$",
        "sha256$salt$" + "0" * 63,
        "sha256$salt$" + "Z" * 64,
        "sha256$salt$" + "é" * 64,
        "md5$salt$" + "0" * 64,
        "sha256$a$b$" + "0" * 64,
        "pbkdf2_sha256$600000$salt$hash",
    ],
)
def test_a_malformed_stored_hash_never_matches(stored):
    assert token_matches(stored, "anything") is False
    assert token_matches(stored, stored) is False


def test_the_token_is_compared_in_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(signing.hmac, "compare_digest", spy)
    stored = hash_token("dhgl_example")

    assert token_matches(stored, "dhgl_example")
    assert not token_matches(stored, "dhgl_other")
    assert len(calls) == 2


# --- Signing secrets ------------------------------------------------------------------------


def test_a_generated_signing_secret_is_valid():
    secret = generate_signing_secret()

    assert secret.startswith("whsec_")
    assert check_signing_secret(secret) is None
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32


@pytest.mark.parametrize(
    "secret, problem",
    [
        ("", "empty"),
        (None, "empty"),
        ("   ", "empty"),
        (" " + SECRET, "spaces"),
        ("my-shared-secret", "starts with whsec_"),
        ("whsec_not base64!", "not valid base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "holds 5 bytes"),
        ("whsec_" + base64.b64encode(bytes(65)).decode(), "holds 65 bytes"),
    ],
)
def test_signing_secret_problems_are_explained(secret, problem):
    message = check_signing_secret(secret)

    assert message is not None and problem in message


def test_signing_secrets_of_24_to_64_bytes_are_accepted():
    for size in (24, 32, 64):
        assert check_signing_secret("whsec_" + base64.b64encode(bytes(size)).decode()) is None


# --- Signatures -----------------------------------------------------------------------------


def test_a_valid_signature_returns_the_webhook_id():
    assert verify_signature(SECRET, headers(), BODY, now=NOW) == WEBHOOK_ID


def test_header_names_are_case_insensitive():
    mixed = {key.title(): value for key, value in headers().items()}  # Webhook-Id, ...

    assert verify_signature(SECRET, mixed, BODY, now=NOW) == WEBHOOK_ID


def test_one_valid_signature_among_several_is_enough():
    good = headers()["webhook-signature"]
    other = signature(b"old key during rotation", WEBHOOK_ID, str(int(NOW)), BODY)
    hdrs = headers(**{"webhook-signature": f"{other} v1a,c29tZXRoaW5n {good}"})

    assert verify_signature(SECRET, hdrs, BODY, now=NOW) == WEBHOOK_ID


def test_a_wrong_secret_is_refused():
    other = "whsec_" + base64.b64encode(bytes(32)).decode()

    assert (
        reason(secret=other) == "the signature in webhook-signature did not match the signing token"
    )


def test_several_non_matching_signatures_are_counted():
    hdrs = headers(**{"webhook-signature": "v1,AAAA v1,BBBB"})

    assert reason(hdrs=hdrs) == "2 signatures in webhook-signature did not match the signing token"


def test_a_tampered_body_is_refused():
    assert "did not match" in reason(body=BODY.replace(b"342", b"343"))


def test_a_tampered_id_or_timestamp_is_refused():
    assert "did not match" in reason(hdrs=headers(**{"webhook-id": "another-id"}))
    assert "did not match" in reason(
        hdrs=headers(**{"webhook-timestamp": str(int(NOW) - 1)}), now=NOW
    )


def test_an_old_timestamp_is_refused():
    hdrs = headers(timestamp=NOW - 412)

    assert reason(hdrs=hdrs) == "timestamp is 412 s old; the limit is 300 s"
    assert verify_signature(SECRET, headers(timestamp=NOW - 300), BODY, now=NOW) == WEBHOOK_ID


def test_a_future_timestamp_is_refused():
    hdrs = headers(timestamp=NOW + 301)

    assert reason(hdrs=hdrs) == "timestamp is 301 s in the future; the limit is 300 s"
    assert verify_signature(SECRET, headers(timestamp=NOW + 300), BODY, now=NOW) == WEBHOOK_ID


def test_the_tolerance_can_be_changed():
    hdrs = headers(timestamp=NOW - 61)

    assert reason(hdrs=hdrs, tolerance=60) == "timestamp is 61 s old; the limit is 60 s"
    assert verify_signature(SECRET, hdrs, BODY, now=NOW, tolerance=61) == WEBHOOK_ID


@pytest.mark.parametrize(
    "missing", [("webhook-signature",), ("webhook-id",), ("webhook-timestamp", "webhook-id")]
)
def test_missing_headers_are_named(missing):
    hdrs = {k: v for k, v in headers().items() if k not in missing}
    ordered = [n for n in ("webhook-id", "webhook-timestamp", "webhook-signature") if n in missing]

    label = "header" if len(missing) == 1 else "headers"
    assert reason(hdrs=hdrs) == f"missing {label}: {', '.join(ordered)}"


def test_an_empty_header_counts_as_missing():
    assert reason(hdrs=headers(**{"webhook-id": "  "})) == "missing header: webhook-id"


@pytest.mark.parametrize("stamp", ["abc", "1.7e9", "-5", "1772443000.5", "１２３"])
def test_a_timestamp_that_is_not_whole_seconds_is_refused(stamp):
    hdrs = headers(**{"webhook-timestamp": stamp})

    assert "is not a whole number of seconds" in reason(hdrs=hdrs)


def test_a_signature_without_v1_entry_is_refused():
    hdrs = headers(**{"webhook-signature": "v1a,abc v2,def"})

    assert reason(hdrs=hdrs) == "webhook-signature holds no v1 signature"


def test_a_bad_secret_format_is_refused():
    assert "not valid base64" in reason(secret="whsec_!!not-base64!!")
    assert reason(secret="") == "no signing token is configured for this endpoint"


def test_a_non_whsec_secret_is_used_as_raw_bytes_like_the_outgoing_webhooks():
    raw = "plain shared secret"
    hdrs = headers(key=raw.encode())

    assert verify_signature(raw, hdrs, BODY, now=NOW) == WEBHOOK_ID


def test_it_verifies_what_the_outgoing_webhook_channel_signs():
    """One HMAC implementation for both directions: our own signer must pass our verifier."""
    transport = WebhookTransport("https://hooks.example.com/in", secret=SECRET)
    payload = {"webhook_id": "msg_0001", "body": '{"text":"hi","sent_at":"$SENT_AT"}'}

    _, sent_headers, sent_body = transport.prepare(payload)
    now = float(sent_headers["webhook-timestamp"])

    assert verify_signature(SECRET, sent_headers, sent_body, now=now) == "msg_0001"
