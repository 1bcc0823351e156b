"""Standard Webhooks signatures, against the specification's published example."""

import pytest

from integrations.http.signatures import sign, signing_key

# The example in the Standard Webhooks specification and its reference libraries' tests
# (github.com/standard-webhooks/standard-webhooks, spec and libraries/*/tests).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = "1614265330"
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_matches_the_specification_example():
    key = signing_key(SPEC_SECRET)

    assert sign(key, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_a_plain_passphrase_is_used_as_its_utf8_bytes():
    assert signing_key("pässword") == "pässword".encode()
    assert sign(b"k", "id", "1", b"{}") != sign(b"k2", "id", "1", b"{}")


@pytest.mark.parametrize(
    ("secret", "message"),
    [("whsec_not*base64", "not valid base64"), ("", "empty"), ("whsec_", "empty")],
)
def test_unusable_secrets_are_refused_in_plain_words(secret, message):
    with pytest.raises(ValueError, match=message):
        signing_key(secret)


def test_a_body_that_is_not_utf8_cannot_be_signed():
    with pytest.raises(UnicodeDecodeError):
        sign(b"key", "id", "1", b"\xff\xfe")
