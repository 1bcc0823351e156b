"""GitHub App authentication: the app's private key signs a JWT, which buys an installation
token for the installation a delivery names, cached until shortly before it expires.

GitHub's rules ("Generating a JSON Web Token for a GitHub App", "Generating an installation
access token"): RS256; ``iat`` 60 s in the past against clock drift; ``exp`` at most 10
minutes ahead; ``iss`` the app's id; ``POST /app/installations/{id}/access_tokens`` with
``Authorization: Bearer <JWT>`` answers ``{"token": "ghs_…", "expires_at": "…Z"}`` (an hour).
Pure Python (no Django).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import jwt

from .api import GitHubClient, api_url
from .errors import GitHubAuthError, GitHubBadResponse
from .types import User

__all__ = ["AppClient", "InstallationTokens", "app_jwt", "tokens"]

JWT_LIFETIME = 540  # s; GitHub allows 600, less leaves room for a slow clock
REFRESH_BEFORE = 300  # s before expiry a cached token is replaced


def app_jwt(app_id: int, private_key: str, now: float) -> str:
    """The JWT that authenticates as the app itself."""
    claims = {"iat": int(now) - 60, "exp": int(now) + JWT_LIFETIME, "iss": str(app_id)}
    try:
        return jwt.encode(claims, private_key, algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        raise GitHubAuthError(
            "The hub: the GitHub App's private key is not a PEM RSA key (paste the whole "
            f"file GitHub gave you, BEGIN and END lines included): {type(exc).__name__}",
            code="bad_private_key",
            who="The hub",
        ) from None


class AppClient(GitHubClient):
    """Calls made as the app (with its JWT), not as an installation."""

    def __init__(self, base_url: str, app_id: int, private_key: str, **kwargs) -> None:
        self.app_token = app_jwt(app_id, private_key, time.time())
        super().__init__(base_url, self.app_token, **kwargs)

    def app(self) -> User:
        """GET /app: the app; its bot posts as ``<slug>[bot]``."""
        data, response = self._call("GET", "/app")
        slug = data.get("slug") if isinstance(data, dict) else None
        app_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(slug, str) or not isinstance(app_id, int):
            raise GitHubBadResponse(
                "GitHub answered GET /app without the app's id and slug", status=response.status
            )
        return User(id=app_id, login=f"{slug}[bot]", type="Bot")

    def installation_token(self, installation_id: int) -> tuple[str, float]:
        """(token, expiry as a Unix time) for one installation."""
        path = f"/app/installations/{int(installation_id)}/access_tokens"
        data, response = self._call("POST", path, {})
        token = data.get("token") if isinstance(data, dict) else None
        expires = data.get("expires_at") if isinstance(data, dict) else None
        try:
            expiry = datetime.fromisoformat(str(expires).replace("Z", "+00:00")).timestamp()
        except ValueError:
            expiry = None
        if not isinstance(token, str) or not token or expiry is None:
            raise GitHubBadResponse(
                f"GitHub answered POST {path} without a token and its expiry",
                status=response.status,
            )
        return token, expiry


@dataclass(frozen=True)
class _Cached:
    token: str
    expiry: float


class InstallationTokens:
    """Per-process cache: one installation token per (GitHub, app, installation)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: dict[tuple[str, int, int], _Cached] = {}

    def token(
        self,
        base_url: str,
        app_id: int,
        private_key: str,
        installation_id: int,
        *,
        verify: bool | str = True,
    ) -> str:
        key = (api_url(base_url), int(app_id), int(installation_id))
        with self._lock:
            cached = self._cached.get(key)
        if cached is not None and cached.expiry - REFRESH_BEFORE > self._clock():
            return cached.token
        with AppClient(base_url, app_id, private_key, verify=verify) as app:
            token, expiry = app.installation_token(installation_id)
        with self._lock:
            self._cached[key] = _Cached(token, expiry)
        return token


tokens = InstallationTokens()
