"""Header lookup whatever the case of the name, as WSGI, requests and plain dicts give it."""

from integrations.http import header


def test_header_lookup_ignores_case_and_strips():
    headers = {"Idempotency-Key": " abc ", "X-Count": 5}

    assert header(headers, "idempotency-key") == "abc"
    assert header(headers, "IDEMPOTENCY-KEY") == "abc"
    assert header(headers, "x-count") == "5"
    assert header(headers, "Missing") is None
    assert header(None, "Anything") is None
