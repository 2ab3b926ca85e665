"""X (Twitter) adapter: API v2 (``POST /2/tweets``, media upload) with OAuth 2.0 user tokens.

Credentials: `account_id` is the user id; ``secrets["access_token"]`` a bearer token of two hours
(its end in ``secrets["access_expires_at"]``, epoch seconds), ``secrets["refresh_token"]`` a
refresh token that X rotates on every use (single
use: the new one must be stored before anything else), ``secrets["scope"]`` the granted scopes and,
optionally, ``secrets["client_id"]`` when the tokens belong to another client than this server's
app (sandbox accounts). The app's own client id and secret come from `self.app`.

Reconciliation is by lookup: X has no idempotency key, so an attempt whose answer was lost is
looked for among the account's tweets since the attempt began (``GET /2/users/:id/tweets``), by
its exact text and, for a thread part, the tweet it replies to.
"""

from __future__ import annotations

import dataclasses
import html
import re
import secrets
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from postpost.platforms import _http
from postpost.platforms._twitter_upload import MediaUploader
from postpost.platforms.base import (
    ConnectionCheck,
    Credentials,
    ErrorCode,
    InProgress,
    PlatformAdapter,
    PlatformError,
    Profile,
    Published,
    PublishJob,
)
from postpost.platforms.descriptor import (
    MB,
    CredentialKind,
    MediaRules,
    OAuthFlow,
    Pacing,
    PlatformDescriptor,
    RateWindow,
    Reconciliation,
    SandboxAccount,
    TextRules,
)
from postpost.platforms.text import XWeighted

# bookmark.read: reading the account's bookmarks (X bookmarks, platforms/_twitter_bookmarks.py)
SCOPES = ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access", "bookmark.read")
ACCESS_TTL = timedelta(hours=2)
REFRESH_MARGIN = timedelta(minutes=5)
LOOKUP_SKEW = timedelta(minutes=2)
LOOKUP_PAGES = 5
SANDBOX_CLIENT_ID = "postpost-sandbox"
DUPLICATE_HINT = "duplicate content"
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
# (remaining, reset) header pairs, any of which may be the one exhausted
_LIMIT_HEADERS = (
    ("x-rate-limit-remaining", "x-rate-limit-reset"),
    ("x-user-limit-24hour-remaining", "x-user-limit-24hour-reset"),
    ("x-app-limit-24hour-remaining", "x-app-limit-24hour-reset"),
)


def _sandbox_account() -> SandboxAccount:
    user_id = str(secrets.randbelow(9 * 10**17) + 10**17)
    expires = datetime.now(UTC).replace(microsecond=0) + ACCESS_TTL
    return SandboxAccount(
        account_id=user_id,
        username=f"sandbox{user_id[-8:]}",
        display_name=f"Sandbox user {user_id}",
        secrets={
            "access_token": f"sandbox.{user_id}.{int(expires.timestamp())}.{secrets.token_urlsafe(16)}",
            "refresh_token": f"refresh.{user_id}.{secrets.token_urlsafe(24)}",
            "scope": " ".join(SCOPES),
            "client_id": SANDBOX_CLIENT_ID,
            "access_expires_at": str(int(expires.timestamp())),
        },
    )


DESCRIPTOR = PlatformDescriptor(
    name="twitter",
    title="X (Twitter)",
    text=TextRules(limit=280, counter=XWeighted(), threads=True),
    media=MediaRules(
        max_images=4,
        max_videos=1,
        image_types=frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"}),
        video_types=frozenset({"video/mp4", "video/quicktime"}),
        image_max_bytes=5 * MB,
        video_max_bytes=512 * MB,
        video_min_seconds=0.5,
        video_max_seconds=140,
        alt_text_max=1000,
        max_bytes_by_type={"image/gif": 15 * MB},
    ),
    credential=CredentialKind.OAUTH2,
    endpoints={"api": "https://api.x.com", "auth": "https://x.com"},
    reconciliation=Reconciliation.LOOKUP,
    pacing=Pacing(per_account=(RateWindow(100, 900),), per_app=(RateWindow(10_000, 86_400),)),
    rotating_refresh=True,
    scopes=SCOPES,
    sandbox_account=_sandbox_account,
    oauth=OAuthFlow(
        authorize=("auth", "/i/oauth2/authorize"),
        token=("api", "/2/oauth2/token"),
        scopes=SCOPES,
        client_auth="client_secret_basic",
        refreshes_access=True,
    ),
)


class TwitterAdapter(PlatformAdapter):
    """Publishes tweets, reply chains and media through X API v2."""

    descriptor = DESCRIPTOR

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        timeout: float = 10.0,
        app: dict[str, str] | None = None,
    ) -> None:
        super().__init__(http, timeout=timeout, app=app)
        self.uploads = MediaUploader(self._call, self.timeout)

    # ----- tokens ------------------------------------------------------------------------

    def needs_refresh(self, creds: Credentials, now: datetime) -> bool:
        """No access token, or one that expires within five minutes.

        The access token's own expiry is kept in the secrets: refreshed automatically, it is not
        the connection's (which never expires while its refresh token is used).
        """
        if not creds.secrets.get("access_token"):
            return True
        expires = _http.epoch_time(creds.secrets.get("access_expires_at"))
        return expires is not None and expires - now < REFRESH_MARGIN

    async def refresh(self, creds: Credentials) -> Credentials:
        """Trade the refresh token for new tokens (``POST /2/oauth2/token``); X rotates it."""
        refresh_token = creds.secrets.get("refresh_token")
        if not refresh_token:
            raise PlatformError(
                ErrorCode.PLATFORM_AUTH_EXPIRED,
                "The X access token expired and no usable refresh token is stored; reconnect the account",
            )
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        headers: dict[str, str] = {}
        own_client = creds.secrets.get("client_id")
        client_id, client_secret = self.app.get("client_id"), self.app.get("client_secret")
        if own_client:
            form["client_id"] = own_client
        elif client_id:
            form["client_id"] = client_id
            if client_secret:
                headers["Authorization"] = aiohttp.BasicAuth(client_id, client_secret).encode()
        result = await _http.send(
            self.http,
            "POST",
            creds.base_url + "/2/oauth2/token",
            client_timeout=self.timeout,
            platform="X",
            headers=headers,
            data=form,
        )
        body = _http.json_object(result.body)
        if result.status in (400, 401):
            detail = str(body.get("error_description") or body.get("error") or f"HTTP {result.status}")
            raise PlatformError(
                ErrorCode.PLATFORM_AUTH_EXPIRED,
                f"X refused to refresh the access token ({detail}); reconnect the account",
                status=result.status,
                platform_error=_http.error_text(result.body),
            )
        if result.status >= 300:
            raise classify(result, creating=False)
        access = body.get("access_token")
        if not access:
            raise PlatformError(
                ErrorCode.UNKNOWN_ERROR,
                "X answered the token refresh without an access token",
                status=result.status,
                platform_error=_http.error_text(result.body),
            )
        expires_in = body.get("expires_in")
        scope = str(body.get("scope") or creds.secrets.get("scope") or "")
        return dataclasses.replace(
            creds,
            secrets=creds.secrets.merged(
                access_token=str(access),
                refresh_token=str(body["refresh_token"]) if body.get("refresh_token") else None,
                scope=scope or None,
                access_expires_at=str(int(datetime.now(UTC).timestamp() + expires_in))
                if isinstance(expires_in, int | float)
                else None,
            ),
            scopes=tuple(scope.split()) or creds.scopes,
        )

    # ----- publishing --------------------------------------------------------------------

    async def publish(self, job: PublishJob) -> Published | InProgress:
        """Upload the part's media (in resumable steps), then create the tweet."""
        payload: dict[str, Any] = {"text": job.part.text}
        if job.part.media:
            media_ids = await self.uploads.media_ids(job.creds, job.part.media, job.state)
            if isinstance(media_ids, InProgress):
                return media_ids
            payload["media"] = {"media_ids": media_ids}
        if job.reply_to is not None:
            payload["reply"] = {"in_reply_to_tweet_id": job.reply_to.parent.remote_id}
        if job.unsure and job.state is not None:  # a create after the upload steps may have gone through
            found = await self.find_published(job)
            if found is not None:
                return found
        body = await self._call(job.creds, "POST", "/2/tweets", json_data=payload, creating=True)
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        tweet_id = data.get("id") if isinstance(data, dict) else None
        if not tweet_id:
            raise PlatformError(
                ErrorCode.UNKNOWN_ERROR,
                "X accepted the post but its answer has no id",
                platform_error=str(body)[:500] if body else None,
                maybe_published=True,
                retryable=True,  # retried after a lookup, which finds the post if it exists
            )
        return self._published(job.creds, str(tweet_id))

    async def find_published(self, job: PublishJob) -> Published | None:
        """The account's tweet with this part's text (and parent) since the attempt began, if any."""
        creds = job.creds
        params = {"max_results": "100", "tweet.fields": "created_at,referenced_tweets"}
        if job.since is not None:
            params["start_time"] = (job.since - LOOKUP_SKEW).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        want = _normal(job.part.text)
        parent = job.reply_to.parent.remote_id if job.reply_to is not None else None
        for _ in range(LOOKUP_PAGES):
            body = await self._call(creds, "GET", f"/2/users/{creds.account_id}/tweets", params=params)
            tweets = body.get("data")
            for tweet in tweets if isinstance(tweets, list) else []:
                if _matches(tweet, want, parent, has_media=bool(job.part.media)):
                    return self._published(creds, str(tweet["id"]))
            meta = body.get("meta")
            next_token = meta.get("next_token") if isinstance(meta, dict) else None
            if not next_token:
                return None
            params["pagination_token"] = str(next_token)
        return None

    def _published(self, creds: Credentials, tweet_id: str) -> Published:
        user = (creds.username or "").lstrip("@") or "i/web"
        return Published(remote_id=tweet_id, url=f"https://x.com/{user}/status/{tweet_id}")

    # ----- connection check --------------------------------------------------------------

    async def check_connection(self, creds: Credentials) -> ConnectionCheck:
        """``GET /2/users/me``; a rejected token raises (refreshable) so the caller refreshes."""
        try:
            body = await self._call(creds, "GET", "/2/users/me")
        except PlatformError as exc:
            if exc.refreshable:
                raise
            return ConnectionCheck(False, exc.platform_error or exc.message)
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        username = str(data.get("username") or creds.username or "") if isinstance(data, dict) else ""
        scope = creds.secrets.get("scope")
        permissions = scope.split() if scope else list(creds.scopes or self.descriptor.scopes)
        return ConnectionCheck(True, f"Connected as {username}", username or None, permissions)

    async def read_profile(self, creds: Credentials) -> Profile:
        """``GET /2/users/me`` with the profile picture."""
        body = await self._call(creds, "GET", "/2/users/me", params={"user.fields": "profile_image_url"})
        data = body.get("data")
        if not isinstance(data, dict) or not data.get("id"):
            raise PlatformError(ErrorCode.UNKNOWN_ERROR, "X answered /2/users/me without a user id")
        username = str(data.get("username") or "") or None
        return Profile(
            account_id=str(data["id"]),
            username=username,
            display_name=str(data.get("name") or username or "") or None,
            avatar_url=str(data["profile_image_url"]) if data.get("profile_image_url") else None,
            profile_url=f"https://x.com/{username}" if username else None,
        )

    # ----- transport ---------------------------------------------------------------------

    async def _call(
        self,
        creds: Credentials,
        method: str,
        path: str,
        *,
        creating: bool = False,
        client_timeout: aiohttp.ClientTimeout | None = None,
        json_data: Any = None,
        data: Any = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        token = creds.secrets.get("access_token")
        if not token:
            raise PlatformError(ErrorCode.PLATFORM_AUTH_EXPIRED, "No X access token stored", refreshable=True)
        result = await _http.send(
            self.http,
            method,
            creds.base_url + path,
            client_timeout=client_timeout or self.timeout,
            platform="X",
            maybe_published=creating,
            headers={"Authorization": f"Bearer {token}"},
            json_data=json_data,
            data=data,
            params=params,
        )
        if result.status >= 300:
            raise classify(result, creating=creating)
        return _http.json_object(result.body)


ADAPTER = TwitterAdapter


def _normal(text: str) -> str:
    """Text reduced for comparison: NFC, whitespace runs as one space, every link as one token."""
    text = unicodedata.normalize("NFC", text)
    return _SPACE.sub(" ", _URL.sub("<url>", text)).strip()


def _matches(tweet: Any, want: str, parent: str | None, *, has_media: bool) -> bool:
    if not isinstance(tweet, dict) or not tweet.get("id"):
        return False
    text = _normal(html.unescape(str(tweet.get("text") or "")))  # X escapes &, < and >
    if has_media and text.count("<url>") > want.count("<url>"):
        text = text.removesuffix("<url>").rstrip()  # X appends the media's link
    if text != want:
        return False
    refs = tweet.get("referenced_tweets")
    replied = (
        next(
            (str(r.get("id")) for r in refs if isinstance(r, dict) and r.get("type") == "replied_to"),
            None,
        )
        if isinstance(refs, list)
        else None
    )
    return replied == parent


def classify(result: _http.HttpResult, *, creating: bool) -> PlatformError:
    """Map a failed X answer (RFC 7807 problem, ``errors`` list or OAuth error) to a PlatformError."""
    body = _http.json_object(result.body)
    errors = body.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    pieces = [str(p) for p in (body.get("detail"), first.get("message")) if p]
    platform_error = " ".join(dict.fromkeys(pieces)) or _http.error_text(result.body)
    text = str(platform_error or f"HTTP {result.status}")
    lowered = text.lower()
    status = result.status

    def err(code: ErrorCode, what: str, **kw: Any) -> PlatformError:
        return PlatformError(code, what, status=status, platform_error=platform_error, **kw)

    if status == 401:
        return err(ErrorCode.PLATFORM_AUTH_EXPIRED, f"X rejected the access token: {text}", refreshable=True)
    if status == 429 or str(body.get("type", "")).endswith("usage-capped"):
        return err(ErrorCode.RATE_LIMITED, f"X rate limit exceeded: {text}", retry_at=_reset_time(result))
    if status == 403 and DUPLICATE_HINT in lowered:
        return err(
            ErrorCode.INVALID_CONTENT,
            "X refused the post as a duplicate: this account recently posted the same text",
            retryable=False,
        )
    if status == 413 or (status in (400, 403) and ("too long" in lowered or "exceeds" in lowered)):
        return err(ErrorCode.CONTENT_TOO_LARGE, f"X refused the content as too large: {text}")
    if status >= 500:
        return err(
            ErrorCode.PLATFORM_SERVER_ERROR,
            f"X server error (HTTP {status}): {text}",
            maybe_published=creating,
        )
    if status in (400, 422):
        return err(ErrorCode.INVALID_CONTENT, f"X refused the request: {text}")
    return err(ErrorCode.UNKNOWN_ERROR, f"X request failed (HTTP {status}): {text}")


def _reset_time(result: _http.HttpResult) -> datetime | None:
    """When the exhausted limit resets: the latest reset among windows with nothing left."""
    exhausted = [
        when
        for remaining, reset in _LIMIT_HEADERS
        if result.headers.get(remaining) == "0" and (when := _http.epoch_time(result.headers.get(reset)))
    ]
    if exhausted:
        return max(exhausted)
    return _http.epoch_time(result.headers.get("x-rate-limit-reset")) or _http.retry_after(
        result.headers.get("Retry-After")
    )
