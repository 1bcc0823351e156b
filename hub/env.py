"""Strict readers for environment settings.

Every reader names the variable in its error, so a typo stops start-up with a message a
person can act on instead of a silently wrong default (healthchecks' `envbool` does the same).

The secrets in SECRET_FILE_NAMES may instead come from a file named by `NAME_FILE`, as
Docker and Kubernetes secrets are mounted (`SECRET_KEY_FILE=/run/secrets/secret_key`): the
file's text with its trailing newline removed. Setting both is an error naming both.
"""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from dotenv import dotenv_values

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
# Only these are read from `NAME_FILE`: the values an orchestrator keeps as secrets. Other
# settings are plain configuration, and a `_FILE` for them would only be a second way to err.
SECRET_FILE_NAMES = frozenset(
    {"SECRET_KEY", "HUB_ENCRYPTION_KEYS", "DATABASE_URL", "EMAIL_URL", "HUB_OIDC_CLIENT_SECRET"}
)


def load_env_files(*paths: Path) -> None:
    """Read KEY=VALUE files without overriding variables already set in the environment (or
    by an earlier file). A secret given one way wins over the other way in a later place:
    SECRET_KEY_FILE in the environment hides a SECRET_KEY that `make run` once generated into
    var/local.env, instead of the two clashing."""
    for path in paths:
        if not path.is_file():
            continue
        # (A `${NAME}` inside a file resolves against that file first: dotenv_values.)
        for name, value in dotenv_values(path).items():
            if value is not None and not _given(name):
                os.environ[name] = value


def _given(name: str) -> bool:
    base = name.removesuffix("_FILE")
    other = f"{name}_FILE" if name in SECRET_FILE_NAMES else base
    return name in os.environ or (base in SECRET_FILE_NAMES and bool(os.environ.get(other)))


def env_raw(name: str) -> str | None:
    """The variable's value, or for a secret the content of the file `NAME_FILE` names; None
    when neither is set (an empty value counts as not set)."""
    value = os.environ.get(name) or None
    path = os.environ.get(f"{name}_FILE") if name in SECRET_FILE_NAMES else None
    if not path:
        return value
    if value is not None:
        raise ImproperlyConfigured(
            f"{name} and {name}_FILE are both set; set only one of them ({name} may also come "
            "from .env or var/local.env)."
        )
    return _read_secret_file(f"{name}_FILE", path)


def _read_secret_file(variable: str, path: str) -> str:
    # The messages name the variable and the path, never a byte of the content.
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ImproperlyConfigured(f"{variable}={path!r} cannot be read: {reason}.") from None
    except UnicodeDecodeError:
        raise ImproperlyConfigured(f"{variable}={path!r} is not UTF-8 text.") from None
    value = text.rstrip("\r\n")
    if not value:
        raise ImproperlyConfigured(f"{variable}={path!r} is empty.")
    return value


def env_str(name: str, default: str | None = None) -> str:
    value = env_raw(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"{name} is not set. See docs/configuration.md.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = env_raw(name) or ""
    if value == "":
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use true or false.")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    value = env_raw(name) or ""
    if value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name}={value!r} must be at least {minimum}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_raw(name) or ""
    if value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = (env_raw(name) or "").strip() or default
    if value.upper() not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of {', '.join(sorted(choices))}.")
    return value.upper()


def env_language(name: str, default: str, codes: list[str]) -> str:
    """One of the language codes the hub speaks (Django's form, any case: zh-Hans is zh-hans)."""
    given = (env_raw(name) or "").strip()
    value = given.lower() or default
    if value not in codes:
        raise ImproperlyConfigured(
            f"{name}={given!r} is not a language the hub speaks; use one of {', '.join(codes)}."
        )
    return value


def env_timezone(name: str, default: str) -> str:
    value = env_str(name, default)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not an IANA time zone (for example Europe/Berlin or UTC)."
        ) from None
    return value


def env_fernet_keys(name: str) -> list[str]:
    """Comma-separated Fernet keys: the first encrypts, all decrypt (key rotation)."""
    keys = env_list(name, [])
    if not keys:
        raise ImproperlyConfigured(
            f"{name} is not set. Generate a key with "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`."
        )
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"{name}: key number {position} is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes)."
            ) from None
    return keys
