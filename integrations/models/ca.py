"""CA bundles for self-hosted services: requests wants a file path, the admin stores PEM text."""

from __future__ import annotations

import hashlib

from django.conf import settings


def ca_bundle_path(pem: str) -> str:
    """A file under var/ca holding `pem`, named by its hash (written once)."""
    digest = hashlib.sha256(pem.encode()).hexdigest()[:16]
    folder = settings.VAR_DIR / "ca"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}.pem"
    if not path.exists():
        path.write_text(pem.strip() + "\n")
    return str(path)
