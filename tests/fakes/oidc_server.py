"""A local OpenID Connect identity provider: authorization code flow, as Keycloak, Entra ID or
Google speak it, for one registered client (OpenID Connect Core 1.0, Discovery 1.0, RFC 6749,
RFC 7636 PKCE, RFC 7517 JWKS).

- `GET /.well-known/openid-configuration`: the discovery document, `issuer` = `base_url`;
- `GET /authorize`: checks client_id, the registered redirect_uri (a wrong one gets an error
  page, never a redirect: RFC 6749 §4.1.2.1), response_type=code and scope openid, then
  approves `user` at once: 302 to redirect_uri with `code` and `state` (the nonce and the PKCE
  challenge are kept with the code);
- `POST /token`: client_secret_basic (RFC 6749 §2.3.1, form-encoded then base64) or
  client_secret_post, never both; grant_type, a one-time code of that client for that
  redirect_uri, the PKCE verifier; answers an RS256 id token with iss, aud, sub, exp, iat,
  nonce, email, email_verified, groups;
- `GET /userinfo`: the claims, for the bearer access token;
- `GET /jwks`: the public key, with its kid.

Misbehaviour, set on the instance: `deny` (error=access_denied on the redirect), `wrong_key`
(signed with another key under the published kid), `expired` (exp an hour ago),
`token_status` (the token endpoint answers that status with an RFC 6749 §5.2 error body),
`audience` / `issuer_claim` (other aud or iss in the id token). `stop()` makes it unreachable.

    with FakeIdP() as idp:
        idp.register("http://testserver/oidc/callback/")
        idp.user = person("ana@example.com", groups=["hub-ops"])
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.fakes.base import FakeServer, RecordedRequest

CLIENT_ID = "dify-hub"
CLIENT_SECRET = "s3cr3t-0f-the-hub-client-7f9c2b"
CODE_SECONDS = 60  # RFC 6749 §4.1.2 recommends at most ten minutes


def person(email: str, *, groups: list[str] | None = None, verified: bool = True, **claims) -> dict:
    """The claims of the account the fake logs in."""
    return {
        "sub": hashlib.sha256(email.encode()).hexdigest()[:24],
        "email": email,
        "email_verified": verified,
        "preferred_username": email.partition("@")[0],
        "name": email.partition("@")[0].title(),
        "groups": list(groups or []),
        **claims,
    }


@dataclass
class Code:
    client_id: str
    redirect_uri: str
    nonce: str | None
    challenge: str | None
    method: str | None
    claims: dict
    issued: float


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeIdP(FakeServer[RecordedRequest]):
    def __init__(self, *, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris: set[str] = set()
        self.auth_methods = ["client_secret_basic", "client_secret_post"]
        self.user = person("ana@example.com", groups=["hub-ops"])
        self.key, self.kid = _rsa_key(), "fake-idp-1"
        self._other_key: rsa.RSAPrivateKey | None = None
        self.codes: dict[str, Code] = {}
        self.access_tokens: dict[str, dict] = {}
        self.auth_used: list[str] = []  # client authentication method per token request
        self.reset_behaviour()

    def reset_behaviour(self) -> None:
        self.deny = False
        self.wrong_key = False
        self.expired = False
        self.token_status: int | None = None
        self.audience: str | None = None
        self.issuer_claim: str | None = None

    def register(self, redirect_uri: str) -> None:
        self.redirect_uris.add(redirect_uri)

    @property
    def issuer(self) -> str:
        return self.base_url

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.base_url}/authorize",
            "token_endpoint": f"{self.base_url}/token",
            "userinfo_endpoint": f"{self.base_url}/userinfo",
            "jwks_uri": f"{self.base_url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile", "groups"],
            "token_endpoint_auth_methods_supported": list(self.auth_methods),
            "code_challenge_methods_supported": ["S256", "plain"],
            "grant_types_supported": ["authorization_code"],
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "nonce",
                "email",
                "email_verified",
                "groups",
                "preferred_username",
                "name",
            ],
        }

    def jwks(self) -> dict:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    # -- the endpoints ---------------------------------------------------------------

    def authorize(self, query: dict[str, str]):
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id:
            return _page(400, "Client not found")  # never redirects to an unknown client
        if redirect_uri not in self.redirect_uris:
            return _page(400, "Invalid parameter: redirect_uri")
        back = {"state": query["state"]} if "state" in query else {}
        if query.get("response_type") != "code":
            return _redirect(redirect_uri, error="unsupported_response_type", **back)
        if "openid" not in query.get("scope", "").split():
            return _redirect(redirect_uri, error="invalid_scope", **back)
        if self.deny:
            return _redirect(
                redirect_uri, error="access_denied", error_description="The user said no", **back
            )
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = Code(
                self.client_id,
                redirect_uri,
                query.get("nonce"),
                query.get("code_challenge"),
                query.get("code_challenge_method", "plain") if "code_challenge" in query else None,
                dict(self.user),
                time.time(),
            )
        return _redirect(redirect_uri, code=code, **back)

    def token(self, request: RecordedRequest):
        if self.token_status:
            return _oauth_error("server_error", "The fake IdP was told to fail", self.token_status)
        form = dict(parse_qsl(request.raw_body.decode()))
        client, problem = self._client(request.header("Authorization"), form)
        if problem:
            return problem
        if form.get("grant_type") != "authorization_code":
            return _oauth_error("unsupported_grant_type", "Only authorization_code")
        with self.lock:
            code = self.codes.pop(form.get("code", ""), None)  # one use only (§4.1.2)
        if code is None or code.client_id != client or time.time() - code.issued > CODE_SECONDS:
            return _oauth_error("invalid_grant", "Code not valid")
        if form.get("redirect_uri") != code.redirect_uri:
            return _oauth_error("invalid_grant", "Incorrect redirect_uri")
        if not _pkce_ok(code, form.get("code_verifier")):
            return _oauth_error("invalid_grant", "PKCE verification failed")
        access = secrets.token_urlsafe(32)
        with self.lock:
            self.access_tokens[access] = code.claims
        body = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "openid email profile",
            "id_token": self.id_token(code),
        }
        return 200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"}

    def _client(self, authorization: str | None, form: dict[str, str]):
        """(client_id, None) when the client proved itself, else (None, the 401)."""
        if authorization and authorization.lower().startswith("basic "):
            if "client_secret" in form:  # RFC 6749 §2.3: one method per request
                return None, _oauth_error("invalid_request", "Two client authentication methods")
            raw = base64.b64decode(authorization.split(" ", 1)[1]).decode()
            name, _, secret = raw.partition(":")
            name, secret, method = unquote_plus(name), unquote_plus(secret), "client_secret_basic"
        else:
            name, secret = form.get("client_id", ""), form.get("client_secret", "")
            method = "client_secret_post"
        with self.lock:
            self.auth_used.append(method)
        if method not in self.auth_methods or (name, secret) != (
            self.client_id,
            self.client_secret,
        ):
            return None, _oauth_error("invalid_client", "Invalid client credentials", 401)
        return name, None

    def id_token(self, code: Code) -> str:
        now = int(time.time()) - (3600 if self.expired else 0)
        claims = {
            "iss": self.issuer_claim or self.issuer,
            "aud": self.audience or code.client_id,
            "azp": code.client_id,
            "iat": now,
            "exp": now + 300,
            "auth_time": now,
            **code.claims,
        }
        if code.nonce is not None:
            claims["nonce"] = code.nonce
        if self.wrong_key and self._other_key is None:
            self._other_key = _rsa_key()
        key = self._other_key if self.wrong_key else self.key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid})

    def userinfo(self, authorization: str | None):
        token = (authorization or "").removeprefix("Bearer ").strip()
        with self.lock:
            claims = self.access_tokens.get(token)
        if claims is None:
            return (
                401,
                {"error": "invalid_token"},
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return 200, claims, {}

    def answer(self, request: RecordedRequest):
        route = (request.method, request.path)
        if route == ("GET", "/.well-known/openid-configuration"):
            return 200, self.discovery(), {}
        if route == ("GET", "/jwks"):
            return 200, self.jwks(), {}
        if route == ("GET", "/authorize"):
            return self.authorize(request.query)
        if route == ("POST", "/token"):
            return self.token(request)
        if request.path == "/userinfo" and request.method in ("GET", "POST"):
            return self.userinfo(request.header("Authorization"))
        return 404, {"error": "not_found"}, {}


def _pkce_ok(code: Code, verifier: str | None) -> bool:
    if code.challenge is None:
        return verifier is None
    if verifier is None:
        return False
    if code.method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == code.challenge
    return verifier == code.challenge


def _redirect(uri: str, **params: str):
    joiner = "&" if urlsplit(uri).query else "?"
    return 302, b"", {"Location": f"{uri}{joiner}{urlencode(params)}"}


def _page(status: int, text: str):
    return (
        status,
        f"<html><body><h1>{text}</h1></body></html>".encode(),
        {"Content-Type": "text/html; charset=utf-8"},
    )


def _oauth_error(error: str, description: str, status: int = 400):
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="fake-idp"'
    return status, {"error": error, "error_description": description}, headers


class IdPHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-idp"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return

    def do_GET(self) -> None:
        fake: FakeIdP = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query)),
            headers={k.lower(): v for k, v in self.headers.items()},
            json=None,
            raw_body=raw,
        )
        fake.record(request)
        status, body, headers = fake.answer(request)
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        if not isinstance(body, bytes):
            headers = {"Content-Type": "application/json", **headers}
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_GET


FakeIdP.handler = IdPHandler
