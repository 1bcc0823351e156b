"""Standard Webhooks signatures (https://www.standardwebhooks.com), for both directions.

The outgoing webhook recipient signs what it posts and the GitLab endpoint checks what GitLab
signs; both compute the HMAC here, through the specification's reference library
(``standardwebhooks``), so there is one implementation in the project. What the library leaves
to us: keys that are not ``whsec_`` base64 (the webhook recipient accepts a plain passphrase,
used as its UTF-8 bytes, as the specification allows), and error messages in plain words.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

__all__ = ["SECRET_PREFIX", "sign", "signing_key"]

SECRET_PREFIX = "whsec_"


def signing_key(secret: str) -> bytes:
    """The HMAC key: base64-decoded after ``whsec_``, else the secret's UTF-8 bytes.

    Raises ValueError for a ``whsec_`` value that is not valid base64, or an empty key.
    """
    if secret.startswith(SECRET_PREFIX):
        try:
            key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("signing secret starts with whsec_ but is not valid base64") from None
    else:
        key = secret.encode("utf-8")
    if not key:
        raise ValueError("signing secret is empty")
    return key


def sign(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` over ``{webhook_id}.{timestamp}.{body}``.

    Raises UnicodeDecodeError for a body that is not UTF-8: Standard Webhooks payloads are
    JSON, and the library signs text.
    """
    moment = datetime.fromtimestamp(int(timestamp), UTC)
    return Webhook(key).sign(webhook_id, moment, body.decode("utf-8"))
