"""The two ways a single sign-on login fails, told apart by who said no (integrations/errors.py).

LoginRefused: the identity provider vouched for the person, and the hub says no (address not
verified, domain not allowed, no group with a role, an account it cannot link). Fixed by
whoever manages the IdP's groups or the hub's settings.

ProviderFailed: the identity provider said no (access_denied), could not be reached, or
answered something the hub cannot trust (a bad signature, an expired token). Plain Python.
"""

from __future__ import annotations

from integrations.errors import HubError


class LoginRefused(HubError):
    default_code = "sso_refused"


class ProviderFailed(HubError):
    default_code = "sso_provider"
