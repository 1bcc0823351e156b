"""Optional single sign-on with OpenID Connect, on mozilla-django-oidc (docs/sso.md).

settings.py   the Django settings from HUB_OIDC_* and HUB_LOCAL_LOGIN (read by hub/settings.py)
roles.py      who gets in and as what: claims -> a Grant, or LoginRefused (pure)
discovery.py  the identity provider's endpoints from its discovery document, on first use
accounts.py   the hub user for a Grant: linked by email or created, roles kept in step, audited
backend.py    the library's backend with strict id token checks and errors in plain words
views.py      the login page with the button, and the library's views that never answer 500

Nothing is imported here, so hub/settings.py can read integrations.sso.settings before
Django is set up.
"""
