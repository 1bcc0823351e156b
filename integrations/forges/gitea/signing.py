"""Gitea's and Forgejo's delivery signature: bare hex HMAC-SHA256 of the raw body.

Gitea sends ``X-Gitea-Signature`` (and, for tools written for GitHub, ``X-Hub-Signature-256``
with ``sha256=``); Forgejo adds ``X-Forgejo-Signature`` in front of Gitea's headers
(``services/webhook/deliver.go``, ``shared/payloader.go``). The hub reads Forgejo's first,
then Gitea's. Pure Python.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

__all__ = ["SIGNATURE_HEADERS", "signature", "signature_problem"]

SIGNATURE_HEADERS = ("x-forgejo-signature", "x-gitea-signature")


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_problem(secret: str, body: bytes, headers: Mapping[str, str]) -> str:
    """Why the delivery does not prove it came from the server ("" when it does).

    `headers` keys are lower-case.
    """
    if not secret:
        return "the endpoint has no webhook secret; set one here and in the webhook's settings"
    name = next((h for h in SIGNATURE_HEADERS if headers.get(h)), None)
    if name is None:
        return (
            "the delivery has no X-Gitea-Signature or X-Forgejo-Signature header: set the same "
            "secret in the webhook's settings (Secret field)"
        )
    value = headers[name].strip().lower()
    if not hmac.compare_digest(value.encode("ascii", "replace"), signature(secret, body).encode()):
        return (
            f"{name} does not match the body: the webhook's secret differs from the "
            "endpoint's, or the body was changed on the way"
        )
    return ""
