"""Checking that a webhook delivery really comes from GitLab (pure: no Django, no I/O).

Two mechanisms (GitLab's webhook docs; docs/research.md, "GitLab webhooks"):

* ``X-Gitlab-Token``: GitLab sends the hook's secret token in clear text on every delivery.
  The hub generates that token (``generate_token``), shows it once, and keeps only a salted
  hash (``hash_token``); ``token_matches`` checks a delivery in constant time.
* Signing token (GitLab 2026+, feature flag ``webhook_signing_token``): Standard Webhooks
  headers ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature: v1,<base64>``, an
  HMAC-SHA256 over ``"{id}.{timestamp}.{raw body}"`` keyed with the base64-decoded
  ``whsec_...`` secret. ``verify_signature`` computes it with integrations/http/signatures.py
  (the ``standardwebhooks`` reference library), as the outgoing webhook recipient does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from typing import Any

from integrations.http import header
from integrations.http.signatures import SECRET_PREFIX, sign, signing_key

__all__ = [
    "TOKEN_PREFIX",
    "SignatureError",
    "check_signing_secret",
    "generate_signing_secret",
    "generate_token",
    "hash_token",
    "token_matches",
    "verify_signature",
]

TOKEN_PREFIX = "dhgl_"  # "dify-hub GitLab": recognisable in GitLab's form and in secret scanners
_TOKEN_BYTES = 32
_HASH_SCHEME = "sha256"
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX = re.compile(r"[0-9a-f]{64}")
# Standard Webhooks accepts secrets of 24 to 64 bytes; GitLab generates 32.
_MIN_SECRET_BYTES, _MAX_SECRET_BYTES = 24, 64


class SignatureError(Exception):
    """The delivery's signature does not check out; the message says why in plain words."""


# --- X-Gitlab-Token -------------------------------------------------------------------------


def generate_token() -> str:
    """A fresh webhook secret token: the prefix plus 32 random bytes, URL-safe base64."""
    return TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)


def hash_token(token: str) -> str:
    """``sha256$<salt>$<hex>`` for storing a token.

    One salted SHA-256, not PBKDF2/bcrypt: slow hashes protect low-entropy passwords from
    guessing, but these tokens are 256-bit random values nobody can guess, and the check runs
    on every webhook delivery, where it must take microseconds, not a hundred milliseconds.
    The salt keeps equal tokens from having equal hashes.
    """
    salt = secrets.token_hex(16)
    return f"{_HASH_SCHEME}${salt}${_digest(salt, token)}"


def token_matches(stored_hash: str, given: str | None) -> bool:
    """Does ``given`` (the ``X-Gitlab-Token`` header) match the stored hash? Constant time."""
    if not given or not isinstance(given, str) or not isinstance(stored_hash, str):
        return False
    parts = stored_hash.split("$")
    if len(parts) != 3 or parts[0] != _HASH_SCHEME or not parts[1] or not _HEX.fullmatch(parts[2]):
        return False  # malformed: never a match (and compare_digest needs ASCII strings)
    _, salt, expected = parts
    return hmac.compare_digest(_digest(salt, given), expected)


def _digest(salt: str, token: str) -> str:
    return hashlib.sha256(f"{salt}${token}".encode()).hexdigest()


# --- Standard Webhooks signature ------------------------------------------------------------


def generate_signing_secret() -> str:
    """A fresh ``whsec_`` secret (32 random bytes), the format GitLab expects."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def check_signing_secret(secret: Any) -> str | None:
    """Problem with a signing secret typed into a form, or None if it is usable."""
    if not isinstance(secret, str) or not secret.strip():
        return "the signing token is empty"
    if secret != secret.strip():
        return "the signing token has spaces or line breaks around it"
    if not secret.startswith(SECRET_PREFIX):
        return "a GitLab signing token starts with whsec_ followed by base64"
    try:
        key = signing_key(secret)
    except ValueError as exc:
        return str(exc)
    if not _MIN_SECRET_BYTES <= len(key) <= _MAX_SECRET_BYTES:
        return (
            f"the signing token holds {len(key)} bytes; "
            f"it should hold {_MIN_SECRET_BYTES} to {_MAX_SECRET_BYTES} (GitLab uses 32)"
        )
    return None


def verify_signature(
    secret: str, headers: Mapping[str, Any], body: bytes, *, now: float, tolerance: int = 300
) -> str:
    """Check a Standard Webhooks signature; return the ``webhook-id`` or raise SignatureError.

    ``webhook-signature`` may hold several space-separated ``v1,<base64>`` values (senders
    list old and new keys while rotating); one match is enough. ``now`` is passed in so the
    replay window is testable; the timestamp may be at most ``tolerance`` seconds off.
    """
    key = _key_for(secret)
    webhook_id, timestamp, signatures = _signature_headers(headers)
    _check_timestamp(timestamp, now, tolerance)
    try:
        expected = sign(key, webhook_id, timestamp, body).encode()
    except UnicodeDecodeError:
        raise SignatureError("the body is not UTF-8 text, so it cannot carry a signature") from None
    offered = [s for s in signatures.split() if s.startswith("v1,")]
    if not offered:
        raise SignatureError("webhook-signature holds no v1 signature")
    # Compare every candidate (no early exit) so timing does not depend on which one matched.
    matched = False
    for candidate in offered:
        matched |= hmac.compare_digest(candidate.encode(), expected)
    if not matched:
        count = f"{len(offered)} signatures" if len(offered) > 1 else "the signature"
        raise SignatureError(f"{count} in webhook-signature did not match the signing token")
    return webhook_id


def _key_for(secret: str) -> bytes:
    if not isinstance(secret, str) or not secret:
        raise SignatureError("no signing token is configured for this endpoint")
    try:
        return signing_key(secret)
    except ValueError as exc:
        raise SignatureError(str(exc)) from None


def _signature_headers(headers: Mapping[str, Any]) -> tuple[str, str, str]:
    names = ("webhook-id", "webhook-timestamp", "webhook-signature")
    values = [header(headers, name) or "" for name in names]
    missing = [name for name, value in zip(names, values, strict=True) if not value]
    if missing:
        raise SignatureError(
            f"missing header{'s' if len(missing) > 1 else ''}: {', '.join(missing)}"
        )
    return values[0], values[1], values[2]


def _check_timestamp(timestamp: str, now: float, tolerance: int) -> None:
    if not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureError(
            f"webhook-timestamp {timestamp[:40]!r} is not a whole number of seconds"
        )
    age = int(now) - int(timestamp)
    if age > tolerance:
        raise SignatureError(f"timestamp is {age} s old; the limit is {tolerance} s")
    if -age > tolerance:
        raise SignatureError(f"timestamp is {-age} s in the future; the limit is {tolerance} s")
