"""django-axes under a heading that says what it is (its own app is called "Axes")."""

from __future__ import annotations

from axes.apps import AppConfig as AxesAppConfig


class LoginProtectionConfig(AxesAppConfig):
    verbose_name = "Login protection: failed logins and lockouts"
