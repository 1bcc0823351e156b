"""GitHub's delivery signature: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256>``.

The HMAC is over the raw body, keyed with the webhook's secret as UTF-8 (GitHub's
"Validating webhook deliveries"). The legacy SHA-1 ``X-Hub-Signature`` is not accepted:
GitHub sends both, and a receiver that took SHA-1 would let a weaker check through.
Pure Python.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["SIGNATURE_HEADER", "signature", "signature_problem"]

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def signature(secret: str, body: bytes) -> str:
    """The header value GitHub sends for `body` with `secret`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def signature_problem(secret: str, body: bytes, value: str | None) -> str:
    """Why the delivery's signature does not prove it came from GitHub ("" when it does)."""
    if not secret:
        return "the endpoint has no webhook secret; set one here and in GitHub's webhook"
    if not value:
        return (
            f"the delivery has no {SIGNATURE_HEADER} header: set the same secret in GitHub's "
            "webhook settings (Secret field)"
        )
    value = value.strip()
    if not value.startswith(_PREFIX):
        return f"{SIGNATURE_HEADER} is not of the form sha256=<hex>"
    if not hmac.compare_digest(value.encode("ascii", "replace"), signature(secret, body).encode()):
        return (
            f"{SIGNATURE_HEADER} does not match the body: the secret in GitHub's webhook "
            "differs from the endpoint's, or the body was changed on the way"
        )
    return ""
