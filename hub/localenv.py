"""First-start secrets for `make run` / `make test` on a machine with no configuration.

Writes var/local.env (mode 0600) with a generated SECRET_KEY and HUB_ENCRYPTION_KEYS unless
they (or their `_FILE`, hub/env.py) are set in the environment or in .env. Settings read that
file after the real environment, so production deployments that set the variables never use
it. Keep var/ safe: losing HUB_ENCRYPTION_KEYS makes the stored API keys and webhook URLs
unreadable.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_ENV = BASE_DIR / "var" / "local.env"


def _configured(name: str) -> bool:
    """Set, or read from a file (`NAME_FILE`, hub/env.py): then a generated value would
    clash with it."""
    return any(_set_anywhere(variable) for variable in (name, f"{name}_FILE"))


def _set_anywhere(name: str) -> bool:
    if os.environ.get(name):
        return True
    for path in (BASE_DIR / ".env", LOCAL_ENV):
        if path.is_file():
            for line in path.read_text().splitlines():
                if line.strip().startswith(f"{name}=") and line.split("=", 1)[1].strip():
                    return True
    return False


def main() -> int:
    LOCAL_ENV.parent.mkdir(parents=True, exist_ok=True)
    additions = []
    if not _configured("SECRET_KEY"):
        additions.append(f"SECRET_KEY={secrets.token_urlsafe(50)}")
    if not _configured("HUB_ENCRYPTION_KEYS"):
        additions.append(f"HUB_ENCRYPTION_KEYS={Fernet.generate_key().decode()}")
    if additions:
        fd = os.open(LOCAL_ENV, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as handle:
            handle.write(
                "# Generated on first start by `make`. Back this file up with the database.\n"
            )
            handle.write("\n".join(additions) + "\n")
        print(f"Generated {', '.join(a.split('=')[0] for a in additions)} in {LOCAL_ENV}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
