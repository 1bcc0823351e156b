"""X-Gitea-Signature and X-Forgejo-Signature: bare hex HMAC-SHA256 of the body."""

from __future__ import annotations

import hashlib
import hmac

from integrations.forges.gitea.signing import signature, signature_problem

SECRET, BODY = "gitea-secret", b'{"action":"opened"}'
GOOD = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()


def test_the_bare_hex_signature_of_the_body():
    assert signature(SECRET, BODY) == GOOD and not GOOD.startswith("sha256=")
    assert signature_problem(SECRET, BODY, {"x-gitea-signature": GOOD}) == ""
    assert signature_problem(SECRET, BODY, {"x-gitea-signature": GOOD.upper()}) == ""


def test_forgejos_header_is_read_first():
    headers = {"x-forgejo-signature": GOOD, "x-gitea-signature": "0" * 64}
    assert signature_problem(SECRET, BODY, headers) == ""
    headers = {"x-forgejo-signature": "0" * 64, "x-gitea-signature": GOOD}
    assert "x-forgejo-signature does not match" in signature_problem(SECRET, BODY, headers)


def test_one_byte_changed_or_another_secret_is_refused():
    changed = BODY.replace(b"opened", b"openef")
    assert "does not match" in signature_problem(SECRET, changed, {"x-gitea-signature": GOOD})
    assert "does not match" in signature_problem("other", BODY, {"x-gitea-signature": GOOD})


def test_githubs_prefixed_form_alone_is_not_enough():
    # Gitea also sends X-Hub-Signature-256 for GitHub tools; the hub reads Gitea's own.
    problem = signature_problem(SECRET, BODY, {"x-hub-signature-256": "sha256=" + GOOD})
    assert "has no X-Gitea-Signature or X-Forgejo-Signature" in problem
    assert "no webhook secret" in signature_problem("", BODY, {"x-gitea-signature": GOOD})
