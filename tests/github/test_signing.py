"""X-Hub-Signature-256, with the test vector from GitHub's "Validating webhook deliveries"."""

from __future__ import annotations

from integrations.forges.github.signing import signature, signature_problem

SECRET = "It's a Secret to Everybody"
BODY = b"Hello, World!"
DOCS_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_the_documented_test_vector():
    assert signature(SECRET, BODY) == DOCS_SIGNATURE
    assert signature_problem(SECRET, BODY, DOCS_SIGNATURE) == ""


def test_a_changed_body_or_another_secret_is_refused():
    assert "does not match the body" in signature_problem(SECRET, BODY + b" ", DOCS_SIGNATURE)
    assert "does not match the body" in signature_problem("other", BODY, DOCS_SIGNATURE)


def test_a_missing_header_says_where_to_set_the_secret():
    assert "Secret field" in signature_problem(SECRET, BODY, None)


def test_the_legacy_sha1_form_and_garbage_are_refused():
    assert "sha256=<hex>" in signature_problem(SECRET, BODY, "sha1=0123abcd")
    assert "does not match" in signature_problem(SECRET, BODY, "sha256=zz\u00e9")


def test_an_endpoint_without_a_secret_refuses_everything():
    assert "no webhook secret" in signature_problem("", BODY, DOCS_SIGNATURE)
