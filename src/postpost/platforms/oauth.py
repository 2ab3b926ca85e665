"""The OAuth 2 authorization-code grant as the descriptors describe it, built on Authlib.

Authlib writes the authorization URL, the PKCE challenge and the token request (client
authentication included); the request itself goes through the adapters' aiohttp session, and the
answer becomes `Credentials` by the rule of `Credentials.expires_at`. Nothing here stores anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_qs
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from postpost.platforms import _http
from postpost.platforms.base import Credentials, ErrorCode, PlatformError, Secrets
from postpost.platforms.descriptor import OAuthFlow

_SCOPE_SPLIT = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class OAuthApp:
    """An app registered on a platform: this server's, an instance's, or the sandbox's."""

    client_id: str
    client_secret: str | None = None


def new_verifier() -> str:
    """A PKCE code verifier (RFC 7636: 43 to 128 unreserved characters)."""
    return str(generate_token(64))


def origin(endpoints: Mapping[str, str], role: str) -> str:
    """The origin of `role` (the API's when the platform names none for it)."""
    return (endpoints.get(role) or endpoints["api"]).rstrip("/")


def authorize_url(
    flow: OAuthFlow,
    endpoints: Mapping[str, str],
    app: OAuthApp,
    *,
    redirect_uri: str,
    state: str,
    scopes: Sequence[str],
    verifier: str | None,
) -> str:
    """Where the person's browser goes to approve the app (with a PKCE challenge when `verifier`)."""
    role, path = flow.authorize
    url = origin(endpoints, role) + path
    extra: dict[str, str] = dict(flow.authorize_params)
    if verifier is not None:
        extra |= {"code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256"}
    scope = flow.scope_separator.join(scopes)
    if flow.client_id_param == "client_id":
        return str(
            prepare_grant_uri(
                url, app.client_id, "code", redirect_uri=redirect_uri, scope=scope, state=state, **extra
            )
        )
    params = {
        flow.client_id_param: app.client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        **extra,
    }
    return f"{url}?{urlencode(params)}"


async def exchange_code(
    http: aiohttp.ClientSession,
    client_timeout: aiohttp.ClientTimeout,
    flow: OAuthFlow,
    endpoints: Mapping[str, str],
    app: OAuthApp,
    *,
    code: str,
    redirect_uri: str,
    verifier: str | None,
    platform: str,
) -> dict[str, Any]:
    """The token answer for an authorization code. Raises PlatformError when it is refused."""
    role, path = flow.token
    url = origin(endpoints, role) + path
    body = prepare_token_request("authorization_code", code=code, redirect_uri=redirect_uri)
    if verifier is not None:
        body = add_params_to_qs(body, [("code_verifier", verifier)])
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    if flow.client_id_param != "client_id":
        body = add_params_to_qs(
            body, [(flow.client_id_param, app.client_id), ("client_secret", app.client_secret or "")]
        )
    else:
        method = flow.client_auth if app.client_secret else "none"
        _, headers, body = ClientAuth(app.client_id, app.client_secret, method).prepare(
            "POST", url, headers, body
        )
    if flow.token_method == "GET":  # the parameters go in the query (Facebook)
        headers = {k: v for k, v in headers.items() if k != "Content-Type"}
        url, body = f"{url}?{body}", ""
    result = await _http.send(
        http,
        flow.token_method,
        url,
        client_timeout=client_timeout,
        platform=platform,
        headers=headers,
        data=body.encode() if body else None,
    )
    answer = _token_answer(_http.json_object(result.body))
    if result.status >= 300 or answer.get("error") or not answer.get("access_token"):
        raise PlatformError(
            ErrorCode.UNKNOWN_ERROR,
            f"{platform} did not accept the authorization (HTTP {result.status}): "
            f"{_refusal(answer) or _http.error_text(result.body) or 'no access token'}",
            status=result.status,
            platform_error=_http.error_text(result.body),
        )
    return answer


async def exchange_long_lived(
    http: aiohttp.ClientSession,
    client_timeout: aiohttp.ClientTimeout,
    flow: OAuthFlow,
    endpoints: Mapping[str, str],
    app: OAuthApp,
    answer: Mapping[str, Any],
    *,
    platform: str,
) -> dict[str, Any]:
    """`answer` with its token traded for a long-lived one when the flow says so (`flow.exchange`).

    Raises PlatformError when the platform refuses the exchange.
    """
    step = flow.exchange
    if step is None:
        return dict(answer)
    params = {
        "grant_type": step.grant_type,
        "client_secret": app.client_secret or "",
        step.token_param: str(answer["access_token"]),
    }
    if step.sends_client_id:
        params["client_id"] = app.client_id
    result = await _http.send(
        http,
        "GET",
        origin(endpoints, step.role) + step.path,
        client_timeout=client_timeout,
        platform=platform,
        params=params,
    )
    longer = _http.json_object(result.body)
    if result.status >= 300 or not longer.get("access_token"):
        raise PlatformError(
            ErrorCode.UNKNOWN_ERROR,
            f"{platform} did not give a long-lived token (HTTP {result.status}): "
            f"{_refusal(longer) or _http.error_text(result.body) or 'no access token'}",
            status=result.status,
            platform_error=_http.error_text(result.body),
        )
    merged = {k: v for k, v in answer.items() if k != "expires_in"}
    return merged | longer


def _token_answer(answer: dict[str, Any]) -> dict[str, Any]:
    """The token answer, unwrapped where it comes as ``{"data": [{…}]}`` (Instagram Login's docs)."""
    data = answer.get("data")
    if "access_token" not in answer and isinstance(data, list) and data and isinstance(data[0], dict):
        return dict(data[0])
    return answer


def _refusal(answer: Mapping[str, Any]) -> str:
    """Why a token request was refused: OAuth's error, a Graph error object, or Instagram's."""
    error = answer.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or "")
    return str(answer.get("error_description") or error or answer.get("error_message") or "")


def credentials_from_token(
    flow: OAuthFlow,
    token: Mapping[str, Any],
    endpoints: Mapping[str, str],
    *,
    now: datetime,
    requested_scopes: Sequence[str],
) -> Credentials:
    """Credentials from a token answer, with the connection's expiry by the `Credentials` rule.

    A token the adapter refreshes by itself keeps its end in ``secrets["access_expires_at"]``;
    the connection then ends with its refresh token (when the platform says when), else never.
    Any other token's end is the connection's.
    """
    access_ends = _after(now, token.get("expires_in"))
    refresh_token = token.get("refresh_token")
    values: dict[str, Any] = {"access_token": str(token["access_token"])}
    if refresh_token:
        values["refresh_token"] = str(refresh_token)
    expires_at = access_ends
    if flow.refreshes_access and refresh_token:
        if access_ends is not None:
            values["access_expires_at"] = str(int(access_ends.timestamp()))
        expires_at = _after(now, token.get("refresh_expires_in") or token.get("refresh_token_expires_in"))
    granted = [s for s in _SCOPE_SPLIT.split(str(token.get("scope") or "")) if s]
    account = token.get(flow.account_id_field) if flow.account_id_field else None
    return Credentials(
        account_id=str(account or ""),
        endpoints=dict(endpoints),
        secrets=Secrets(values),
        expires_at=expires_at,
        scopes=tuple(granted or requested_scopes),
    )


def _after(now: datetime, seconds: Any) -> datetime | None:
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        return None
    return now + timedelta(seconds=value) if value > 0 else None
