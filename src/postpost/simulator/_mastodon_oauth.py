"""A Mastodon instance's app registration and OAuth 2 for the fake.

``POST /api/v1/apps`` registers an app (any name, its redirect URIs and scopes); ``GET
/oauth/authorize`` approves at once for a new account and sends the browser back with a code;
``POST /oauth/token`` trades the code (good once, for ten minutes, with the app's secret and, when
a PKCE challenge was given, its verifier) for a token ``sandbox.<account>.<random>``, which the
fake's API accepts as that account's. Tokens never expire, as Mastodon's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from postpost.simulator.world import World

CODE_TTL = 600.0
KNOWN_SCOPES = frozenset(
    {"read", "write", "push", "follow", "profile", "read:accounts", "write:statuses", "write:media"}
)


def oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status)


@dataclass
class App:
    """A registered application."""

    client_id: str
    client_secret: str
    name: str
    redirect_uris: tuple[str, ...]
    scopes: frozenset[str]


@dataclass
class Code:
    """An authorization code waiting to be exchanged."""

    client_id: str
    redirect_uri: str
    account: str
    scope: str
    challenge: str | None
    method: str
    expires: float


class InstanceOAuth:
    """Apps, codes and the token endpoint of one fake instance."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.apps: dict[str, App] = {}
        self.codes: dict[str, Code] = {}

    def forget(self) -> None:
        """Drop pending codes. Registered apps stay, as an instance keeps them: servers cache them."""
        self.codes.clear()

    async def register(self, request: Request) -> Response:
        """``POST /api/v1/apps``."""
        params = await _params(request)
        name, uris = params.get("client_name"), params.get("redirect_uris")
        if not isinstance(name, str) or not name.strip():
            return JSONResponse({"error": "Validation failed: Application name can't be blank"}, 422)
        listed = [uris] if isinstance(uris, str) else uris if isinstance(uris, list) else []
        redirect_uris = tuple(u for part in listed if isinstance(part, str) for u in part.split())
        if not redirect_uris or not all(u.startswith(("http://", "https://")) for u in redirect_uris):
            return JSONResponse({"error": "Validation failed: Redirect URI must be an absolute URI."}, 422)
        scopes = frozenset(str(params.get("scopes") or "read").split())
        if not scopes <= KNOWN_SCOPES:
            return JSONResponse({"error": "Validation failed: Scopes are invalid"}, 422)
        app = App(secrets.token_urlsafe(32), secrets.token_urlsafe(32), name, redirect_uris, scopes)
        self.apps[app.client_id] = app
        return JSONResponse(
            {
                "id": str(len(self.apps)),
                "name": name,
                "website": params.get("website"),
                "scopes": sorted(scopes),
                "redirect_uri": "\n".join(redirect_uris),
                "redirect_uris": list(redirect_uris),
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "client_secret_expires_at": 0,
            }
        )

    async def authorize(self, request: Request) -> Response:
        """``GET /oauth/authorize``: the user approves at once; back to the app with a code."""
        q = request.query_params
        app = self.apps.get(q.get("client_id", ""))
        if app is None:
            return oauth_error(401, "invalid_client", "Client authentication failed due to unknown client.")
        redirect_uri = q.get("redirect_uri", "")
        if redirect_uri not in app.redirect_uris:
            return oauth_error(400, "invalid_redirect_uri", "The redirect uri included is not valid.")
        scope = q.get("scope") or "read"
        if q.get("response_type") != "code" or not frozenset(scope.split()) <= app.scopes:
            return _back(redirect_uri, error="invalid_scope", state=q.get("state"))
        method = q.get("code_challenge_method", "plain")
        if q.get("code_challenge") and method not in ("S256", "plain"):
            return _back(redirect_uri, error="invalid_request", state=q.get("state"))
        code = secrets.token_urlsafe(32)
        account = str(secrets.randbelow(9 * 10**14) + 10**14)
        expires = self.world.clock() + CODE_TTL
        self.codes[code] = Code(
            app.client_id, redirect_uri, account, scope, q.get("code_challenge"), method, expires
        )
        return _back(redirect_uri, code=code, state=q.get("state"))

    async def token(self, request: Request) -> Response:
        """``POST /oauth/token`` with the authorization_code grant."""
        params = await _params(request)
        app = self.apps.get(str(params.get("client_id") or ""))
        if app is None or not secrets.compare_digest(
            app.client_secret, str(params.get("client_secret") or "")
        ):
            return oauth_error(401, "invalid_client", "Client authentication failed due to unknown client.")
        if params.get("grant_type") != "authorization_code":
            return oauth_error(
                400, "unsupported_grant_type", "The authorization grant type is not supported."
            )
        code = self.codes.pop(str(params.get("code") or ""), None)
        invalid = (
            "The provided authorization grant is invalid, expired, revoked, or was issued to another client."
        )
        if (
            code is None
            or code.expires < self.world.clock()
            or code.client_id != app.client_id
            or code.redirect_uri != params.get("redirect_uri")
        ):
            return oauth_error(400, "invalid_grant", invalid)
        if code.challenge and not _verified(
            str(params.get("code_verifier") or ""), code.challenge, code.method
        ):
            return oauth_error(400, "invalid_grant", invalid)
        return JSONResponse(
            {
                "access_token": f"sandbox.{code.account}.{secrets.token_urlsafe(24)}",
                "token_type": "Bearer",
                "scope": code.scope,
                "created_at": int(self.world.clock()),
            }
        )


async def _params(request: Request) -> dict[str, Any]:
    """A JSON object or form body (``redirect_uris[]`` collected as a list)."""
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = json.loads(raw)
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}
    params: dict[str, Any] = {}
    for key, value in parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True):
        if key.endswith("[]"):
            params.setdefault(key[:-2], []).append(value)
        else:
            params[key] = value
    return params


def _verified(verifier: str, challenge: str, method: str) -> bool:
    if method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        verifier = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return bool(verifier) and secrets.compare_digest(verifier, challenge)


def _back(redirect_uri: str, **params: str | None) -> Response:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    joiner = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{joiner}{query}", 302)
