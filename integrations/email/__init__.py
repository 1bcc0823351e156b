"""The email recipient kind: SMTP through Django's mail API (transport.py), a backend that
reports partly refused recipients (backend.py) and the EMAIL_URL reader (settings.py).

It lives outside integrations/channels, which must stay free of Django. Nothing is imported
here, so hub/settings.py can read integrations.email.settings before Django is set up.
"""
