"""What the GitHub review tests share: the repository of the octokit fixtures, its heads."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

WEBHOOKS = Path(__file__).resolve().parent.parent / "fixtures" / "github" / "webhooks"
SECRET = "a-github-webhook-secret-of-some-length"
REPO = "Codertocat/Hello-World"
HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"  # pull request #2 in the fixtures
NEWER = "1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e"


def payload(name: str) -> dict:
    return copy.deepcopy(json.loads((WEBHOOKS / f"{name}.json").read_text()))


def key_pair() -> tuple[str, str]:
    """A GitHub App's key pair: (private PEM, public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


PRIVATE_KEY, PUBLIC_KEY = key_pair()
