"""`Authorization: Bearer <hub API key>`: who is calling, and is the key still good?"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from integrations.models import HubAPIKey

HOW = 'send "Authorization: Bearer <hub API key>"'


class KeyUser:
    """request.user for a call made with an API key (there is no Django user behind it)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, api_key: HubAPIKey) -> None:
        self.api_key = api_key
        self.pk = None

    def get_username(self) -> str:
        return f"API key '{self.api_key.name}'"

    def __str__(self) -> str:
        return self.get_username()


class HubAPIKeyAuthentication(BaseAuthentication):
    """No header: anonymous (the view's permission answers 401). A wrong one: 401 at once."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, key = header.strip().partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key or " " in key:
            raise AuthenticationFailed(
                f"Malformed Authorization header: {HOW}.", code="malformed_authorization"
            )
        api_key = HubAPIKey.find(key)
        if api_key is None:
            raise AuthenticationFailed(
                "Unknown API key. Create one in the admin (Hub API keys) or with "
                "`manage.py hub apikey create NAME --scope read`.",
                code="invalid_key",
            )
        if not api_key.is_active:
            raise AuthenticationFailed(
                f"The API key '{api_key.name}' was revoked on "
                f"{api_key.revoked_at:%Y-%m-%d %H:%M} UTC.",
                code="revoked_key",
            )
        api_key.touch(timezone.now())
        return KeyUser(api_key), api_key

    def authenticate_header(self, request) -> str:
        # Present on every 401, so DRF answers 401 (not 403) to a call without a key.
        return 'Bearer realm="dify-hub"'


class HubAPIKeyScheme(OpenApiAuthenticationExtension):
    """Declares the Bearer scheme in the OpenAPI schema."""

    target_class = HubAPIKeyAuthentication
    name = "hubApiKey"

    def get_security_definition(self, auto_schema):
        return {
            **build_bearer_security_scheme_object(
                header_name="Authorization", token_prefix="Bearer"
            ),
            "description": "A hub API key (dhk_…), created in the admin or with "
            "`manage.py hub apikey create`.",
        }
