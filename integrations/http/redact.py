"""Keeping credentials out of every message: the one redaction rule for all clients."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

MASK = "***"


def looks_secret(fragment: str) -> bool:
    """Tokens and hook ids mix digits and case or are long; plain words ("hooks", "services")
    are left alone so messages stay readable."""
    if len(fragment) < 8:
        return False
    return len(fragment) >= 20 or bool(re.search(r"[0-9A-Z]", fragment))


def url_secrets(url: str) -> set[str]:
    """The parts of a URL that may be credentials: user, password, path segments and query
    values that look like tokens, and the URL itself."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return {url}
    candidates = {url, parts.password or "", parts.username or ""}
    candidates.update(parts.path.split("/"))
    candidates.update(value for _, value in parse_qsl(parts.query))
    candidates.update(unquote(c) for c in list(candidates))
    return {c for c in candidates if c == url or looks_secret(c)}


class Redactor:
    """Replaces each known secret with *** (longest first, so a token inside a URL goes too)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        if not text:
            return text
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(self._secrets)
