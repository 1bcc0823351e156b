"""Scopes: `read` lists and reads runs; `trigger` also runs digests, and retries, stops and
redelivers runs."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from integrations.models import HubAPIKey


class ScopePermission(BasePermission):
    scope = ""
    code = "missing_scope"

    def has_permission(self, request, view) -> bool:
        api_key = request.auth
        if not isinstance(api_key, HubAPIKey):
            return False  # nobody authenticated: DRF answers 401 with WWW-Authenticate
        if api_key.has_scope(self.scope):
            return True
        self.message = (
            f"The API key '{api_key.name}' has the {api_key.scope} scope; this needs "
            f"{self.scope}. Create a key with --scope {self.scope}."
        )
        return False


class CanRead(ScopePermission):
    scope = HubAPIKey.Scope.READ


class CanTrigger(ScopePermission):
    scope = HubAPIKey.Scope.TRIGGER
