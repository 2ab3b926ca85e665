"""X's OAuth 2.0 for the fake: the authorization page, the token endpoint and token checks.

Tokens are stateless so that sandbox accounts need no I/O: ``sandbox.<user id>.<expiry epoch>.<x>``
is an access token of that user until its expiry; ``refresh.<user id>.<x>`` a refresh token, good
once (a spent one is refused as X refuses a reused rotated token). Tokens issued through the
authorization-code grant with fewer than all scopes are remembered with their scopes. Codes are
good once, for 30 seconds, and checked against the PKCE challenge (``S256`` or ``plain``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from postpost.simulator.world import World

ACCESS_TTL = 7200
CODE_TTL = 30.0
# what a sandbox account's (stateless) tokens carry; an authorization may also ask for GRANTABLE
ALL_SCOPES = frozenset(
    {"tweet.read", "tweet.write", "users.read", "media.write", "offline.access", "bookmark.read"}
)
GRANTABLE = ALL_SCOPES | {"bookmark.write"}


def oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status)


@dataclass
class Grant:
    """An authorization code waiting to be exchanged."""

    account: str
    client_id: str
    redirect_uri: str
    scopes: frozenset[str]
    challenge: str
    method: str
    expires: float


class OAuthServer:
    """Issues, rotates and checks the fake X's tokens."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.codes: dict[str, Grant] = {}
        self.scopes: dict[str, frozenset[str]] = {}  # tokens issued with fewer than all scopes
        self.spent: set[str] = set()

    def forget(self, account: str | None) -> None:
        """Drop codes and token records: all, or one account's spent refresh tokens."""
        if account is None:
            self.codes.clear()
            self.scopes.clear()
            self.spent.clear()
            return
        self.spent = {t for t in self.spent if t.split(".")[1:2] != [account]}

    def bearer(self, token: str) -> tuple[str, frozenset[str]] | None:
        """The user and scopes of a live access token, or None."""
        parts = token.split(".")
        valid = (
            len(parts) == 4
            and parts[0] == "sandbox"
            and parts[1].isascii()
            and parts[1].isdigit()
            and parts[2].isascii()
            and parts[2].isdigit()
            and int(parts[2]) > self.world.clock()
        )
        return (parts[1], self.scopes.get(token, ALL_SCOPES)) if valid else None

    def issue(self, account: str, scopes: frozenset[str]) -> dict[str, Any]:
        """A new token answer for `account`; a refresh token only with ``offline.access``."""
        expiry = int(self.world.clock()) + ACCESS_TTL
        access = f"sandbox.{account}.{expiry}.{secrets.token_urlsafe(16)}"
        body: dict[str, Any] = {
            "token_type": "bearer",
            "expires_in": ACCESS_TTL,
            "access_token": access,
            "scope": " ".join(sorted(scopes)),
        }
        if scopes != ALL_SCOPES:
            self.scopes[access] = scopes
        if "offline.access" in scopes:
            body["refresh_token"] = refresh = f"refresh.{account}.{secrets.token_urlsafe(24)}"
            if scopes != ALL_SCOPES:
                self.scopes[refresh] = scopes
        return body

    async def authorize(self, request: Request) -> Response:
        """``GET /i/oauth2/authorize``: approve at once and redirect back with a code.

        The user is ``sandbox_user`` when given (a sandbox extension), else a new one.
        """
        q = request.query_params
        for name in ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge"):
            if not q.get(name):
                return oauth_error(400, "invalid_request", f"Missing required parameter [{name}].")
        if q["response_type"] != "code":
            return oauth_error(400, "unsupported_response_type", "Only response_type=code is supported.")
        method = q.get("code_challenge_method", "plain")
        if method not in ("S256", "plain"):
            return oauth_error(400, "invalid_request", "Unsupported code_challenge_method.")
        scopes = frozenset(q["scope"].split())
        if not scopes <= GRANTABLE:
            return oauth_error(400, "invalid_scope", f"Unknown scope in [{q['scope']}].")
        account = q.get("sandbox_user") or str(secrets.randbelow(9 * 10**17) + 10**17)
        if not (account.isascii() and account.isdigit()):
            return oauth_error(400, "invalid_request", "sandbox_user must be a numeric user id.")
        code = secrets.token_urlsafe(24)
        self.codes[code] = Grant(
            account,
            q["client_id"],
            q["redirect_uri"],
            scopes,
            q["code_challenge"],
            method,
            self.world.clock() + CODE_TTL,
        )
        separator = "&" if "?" in q["redirect_uri"] else "?"
        target = q["redirect_uri"] + separator + urlencode({"state": q["state"], "code": code})
        return RedirectResponse(target, 302)

    async def token(self, request: Request) -> Response:
        """``POST /2/oauth2/token``: the authorization_code (PKCE) and refresh_token grants."""
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        client_id = form.get("client_id")
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id = base64.b64decode(credentials, validate=True).decode().partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                client_id = None
        if not client_id:
            return oauth_error(401, "unauthorized_client", "Missing valid authorization header")
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange_code(form, client_id)
        if grant_type == "refresh_token":
            return self._refresh(form.get("refresh_token", ""))
        if not grant_type:
            return oauth_error(400, "invalid_request", "Missing required parameter [grant_type].")
        return oauth_error(400, "unsupported_grant_type", f"Grant type {grant_type} is not supported.")

    def _exchange_code(self, form: Mapping[str, str], client_id: str) -> Response:
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or grant.expires < self.world.clock():
            return oauth_error(400, "invalid_request", "Value passed for the authorization code was invalid.")
        if grant.client_id != client_id or grant.redirect_uri != form.get("redirect_uri"):
            return oauth_error(400, "invalid_request", "Value passed for the authorization code was invalid.")
        verifier = form.get("code_verifier", "")
        if grant.method == "S256":
            digest = hashlib.sha256(verifier.encode()).digest()
            verifier = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        if not verifier or verifier != grant.challenge:
            return oauth_error(400, "invalid_request", "Value passed for the code verifier was invalid.")
        return JSONResponse(self.issue(grant.account, grant.scopes))

    def _refresh(self, token: str) -> Response:
        parts = token.split(".")
        valid = len(parts) == 3 and parts[0] == "refresh" and parts[1].isascii() and parts[1].isdigit()
        if not valid or token in self.spent:
            return oauth_error(400, "invalid_request", "Value passed for the token was invalid.")
        self.spent.add(token)
        return JSONResponse(self.issue(parts[1], self.scopes.pop(token, ALL_SCOPES)))
