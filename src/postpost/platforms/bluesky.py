"""Bluesky adapter: AT Protocol XRPC against the account's PDS.

Credentials: `account_id` is the DID, `base_url` the PDS origin; `secrets` holds ``identifier``
and ``app_password`` for logging in, and the session tokens ``access_jwt`` / ``refresh_jwt``.
`prepare` and `refresh` may return new credentials (the refresh token rotates on every refresh),
which the caller must persist.

Idempotency: the record key is a TID derived from the idempotency key, so every attempt writes
the same ``at://`` URI; a repeated create is refused by the PDS and `find_published` reads the
record back with ``com.atproto.repo.getRecord``. That holds after media steps too: a part whose
create may have gone through after a video was processed is looked up before anything else.

Media (images as blobs, a video through the video service, in steps) is in `_bluesky_media`.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp

from postpost.platforms import _http
from postpost.platforms._bluesky_facets import build_facets
from postpost.platforms._bluesky_media import VIDEO_ALT_MAX, BlueskyMedia
from postpost.platforms.base import (
    ConnectionCheck,
    Credentials,
    ErrorCode,
    InProgress,
    PlatformAdapter,
    PlatformError,
    Published,
    PublishJob,
)
from postpost.platforms.descriptor import (
    CredentialKind,
    MediaRules,
    Pacing,
    PlatformDescriptor,
    RateWindow,
    Reconciliation,
    SandboxAccount,
    TextRules,
)
from postpost.platforms.text import Graphemes

COLLECTION = "app.bsky.feed.post"
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
EXPIRY_MARGIN_SECONDS = 60

# "bytes" alone is not a hint: facet offset errors also mention bytes.
_TOO_LONG_HINTS = ("longer than", "graphemes", "too long", "too large")


def rkey_for(idempotency_key: str) -> str:
    """A valid TID (13 chars, top bit zero) derived deterministically from the idempotency key."""
    value = int.from_bytes(hashlib.sha256(idempotency_key.encode()).digest()[:8], "big") >> 1
    return "".join(TID_ALPHABET[(value >> (5 * i)) & 31] for i in range(12, -1, -1))


def jwt_expiry(token: str | None) -> float | None:
    """The ``exp`` claim of a JWT (unverified), or None when absent or unreadable."""
    if not token or token.count(".") != 2:
        return None
    payload = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (ValueError, KeyError, TypeError):
        return None


def _token_usable(token: str | None, now: float) -> bool:
    exp = jwt_expiry(token)
    return bool(token) and (exp is None or exp - now > EXPIRY_MARGIN_SECONDS)


def _sandbox_account() -> SandboxAccount:
    suffix = "".join(secrets.choice(TID_ALPHABET) for _ in range(24))
    return SandboxAccount(
        account_id=f"did:plc:{suffix}",
        username=f"{suffix}.sandbox.bsky",
        secrets={"identifier": f"did:plc:{suffix}", "app_password": _app_password()},
    )


def _app_password() -> str:
    return "-".join(secrets.token_hex(2) for _ in range(4))


DESCRIPTOR = PlatformDescriptor(
    name="bluesky",
    title="Bluesky",
    text=TextRules(limit=300, counter=Graphemes(), threads=True, max_bytes=3000),
    media=MediaRules(
        max_images=4,
        max_videos=1,
        image_types=frozenset(
            {"image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp", "image/tiff"}
        ),
        video_types=frozenset({"video/mp4"}),
        image_max_bytes=1_000_000,
        video_max_bytes=100_000_000,  # the video embed's blob limit (decimal)
        video_max_seconds=180,
        alt_text_max=2000,
        video_alt_text_max=VIDEO_ALT_MAX,
        image_max_pixels=(2000, 2000),
        convert={
            "image/png": "image/jpeg",
            "image/webp": "image/jpeg",
            "image/gif": "image/jpeg",
            "image/bmp": "image/jpeg",
            "image/tiff": "image/jpeg",
        },
    ),
    credential=CredentialKind.APP_PASSWORD,
    endpoints={"api": "https://bsky.social", "video": "https://video.bsky.app"},
    reconciliation=Reconciliation.CHOSEN_ID,
    # 5,000 write points an hour and 35,000 a day; a post costs 3
    pacing=Pacing(per_account=(RateWindow(1666, 3600), RateWindow(11666, 86400))),
    rotating_refresh=True,
    scopes=("atproto",),
    sandbox_account=_sandbox_account,
)


class BlueskyAdapter(PlatformAdapter):
    """Publishes ``app.bsky.feed.post`` records."""

    descriptor = DESCRIPTOR

    def __init__(
        self, http: aiohttp.ClientSession, *, timeout: float = 10.0, app: dict[str, str] | None = None
    ) -> None:
        super().__init__(http, timeout=timeout, app=app)
        self.media = BlueskyMedia(self._xrpc, self._auth, self.timeout)

    # ----- session -----------------------------------------------------------------------

    def needs_refresh(self, creds: Credentials, now: datetime) -> bool:
        """No live access token: refresh the session (or log in) first."""
        return not _token_usable(creds.secrets.get("access_jwt"), now.timestamp())

    async def refresh(self, creds: Credentials) -> Credentials:
        """New session tokens: refreshSession while the refresh token lives, else createSession."""
        if _token_usable(creds.secrets.get("refresh_jwt"), time.time()):
            try:
                return await self._session_call(creds, "com.atproto.server.refreshSession", None)
            except PlatformError as exc:
                if exc.code is not ErrorCode.PLATFORM_AUTH_EXPIRED and exc.status not in (400, 401):
                    raise
        try:
            return await self._create_session(creds)
        except PlatformError as exc:
            if exc.code in (ErrorCode.PLATFORM_AUTH_EXPIRED, ErrorCode.INVALID_CONTENT):
                raise PlatformError(
                    ErrorCode.PLATFORM_AUTH_EXPIRED,
                    f"Bluesky login failed: {exc.platform_error or exc.message}",
                    status=exc.status,
                    platform_error=exc.platform_error,
                ) from exc
            raise

    async def _create_session(self, creds: Credentials) -> Credentials:
        identifier = creds.secrets.get("identifier") or creds.username or creds.account_id
        password = creds.secrets.get("app_password")
        if not identifier or not password:
            raise PlatformError(
                ErrorCode.PLATFORM_AUTH_EXPIRED, "No Bluesky app password stored; reconnect the account"
            )
        body = {"identifier": identifier, "password": password}
        return await self._session_call(creds, "com.atproto.server.createSession", body)

    async def _session_call(
        self, creds: Credentials, method: str, body: dict[str, str] | None
    ) -> Credentials:
        headers = {} if body else {"Authorization": f"Bearer {creds.secrets.get('refresh_jwt')}"}
        result = await self._xrpc(creds, "POST", method, headers=headers, json_data=body)
        data = _http.json_object(result.body)
        access, refresh, did = data.get("accessJwt"), data.get("refreshJwt"), data.get("did")
        if not (access and refresh and did):
            raise PlatformError(
                ErrorCode.UNKNOWN_ERROR,
                "Bluesky session answer lacks tokens",
                status=result.status,
                platform_error=_http.error_text(result.body),
            )
        return dataclasses.replace(  # the app password does not expire: neither does the connection
            creds,
            account_id=str(did),
            secrets=creds.secrets.merged(access_jwt=str(access), refresh_jwt=str(refresh)),
            username=data.get("handle") or creds.username,
        )

    # ----- publishing --------------------------------------------------------------------

    async def publish(self, job: PublishJob) -> Published | InProgress:
        """Upload the part's media (a video in steps), then create the post record under the rkey
        derived from the job's idempotency key."""
        creds = job.creds
        if job.unsure and job.state is not None:  # the engine looks up only parts without steps
            found = await self.find_published(job)
            if found is not None:
                return found
        embed = None
        if job.part.media:
            step = await self.media.embed(creds, job.part.media, job.state)
            if isinstance(step, InProgress):
                return step
            embed = step
        rkey = rkey_for(job.idempotency_key)
        record: dict[str, Any] = {
            "$type": COLLECTION,
            "text": job.part.text,
            "createdAt": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        facets = await self.facets(job.part.text, creds)
        if facets:
            record["facets"] = facets
        if embed is not None:
            record["embed"] = embed
        if job.reply_to is not None:
            record["reply"] = {
                "root": await self._strong_ref(creds, job.reply_to.root),
                "parent": await self._strong_ref(creds, job.reply_to.parent),
            }
        body = {"repo": creds.account_id, "collection": COLLECTION, "rkey": rkey, "record": record}
        try:
            result = await self._xrpc(
                creds,
                "POST",
                "com.atproto.repo.createRecord",
                headers=self._auth(creds),
                json_data=body,
                creating=True,
            )
        except PlatformError as exc:
            if exc.status == 400 and "already exists" in (exc.platform_error or "").lower():
                found = await self.find_published(job)
                if found is not None:
                    return found
            raise
        data = _http.json_object(result.body)
        if not data.get("uri") or not data.get("cid"):
            raise PlatformError(
                ErrorCode.UNKNOWN_ERROR,
                "Bluesky accepted the record but its answer has no uri/cid",
                status=result.status,
                platform_error=_http.error_text(result.body),
                maybe_published=True,
            )
        return self._published(creds, str(data["uri"]), str(data["cid"]))

    async def find_published(self, job: PublishJob) -> Published | None:
        """Read back the record an earlier attempt with this key would have written."""
        creds = job.creds
        params = {"repo": creds.account_id, "collection": COLLECTION, "rkey": rkey_for(job.idempotency_key)}
        try:
            result = await self._xrpc(creds, "GET", "com.atproto.repo.getRecord", params=params)
        except PlatformError as exc:
            if exc.status == 404 or (exc.status == 400 and _not_found(exc.platform_error)):
                return None
            raise
        data = _http.json_object(result.body)
        if not data.get("uri") or not data.get("cid"):
            return None
        return self._published(creds, str(data["uri"]), str(data["cid"]))

    def _published(self, creds: Credentials, uri: str, cid: str) -> Published:
        rkey = uri.rsplit("/", 1)[-1]
        url = f"https://bsky.app/profile/{creds.account_id}/post/{rkey}"
        return Published(remote_id=uri, url=url, ref={"uri": uri, "cid": cid})

    async def _strong_ref(self, creds: Credentials, post: Published) -> dict[str, str]:
        uri = str(post.ref.get("uri") or post.remote_id)
        cid = post.ref.get("cid")
        if not cid:  # only the URI was kept: read the record for its cid
            _, _, path = uri.removeprefix("at://").partition("/")
            collection, _, rkey = path.partition("/")
            params = {"repo": uri.removeprefix("at://").split("/")[0], "collection": collection, "rkey": rkey}
            result = await self._xrpc(creds, "GET", "com.atproto.repo.getRecord", params=params)
            cid = _http.json_object(result.body).get("cid")
        return {"uri": uri, "cid": str(cid)}

    async def facets(self, text: str, creds: Credentials) -> list[dict[str, Any]]:
        """Link, tag and (resolvable) mention facets with UTF-8 byte offsets."""
        return await build_facets(text, lambda handle: self._resolve_handle(creds, handle))

    async def _resolve_handle(self, creds: Credentials, handle: str) -> str | None:
        try:
            result = await self._xrpc(
                creds, "GET", "com.atproto.identity.resolveHandle", params={"handle": handle.lower()}
            )
        except PlatformError:
            return None
        did = _http.json_object(result.body).get("did")
        return str(did) if isinstance(did, str) and did.startswith("did:") else None

    # ----- connection check --------------------------------------------------------------

    async def check_connection(self, creds: Credentials) -> ConnectionCheck:
        """``getSession`` with the stored session (auth failures raise, refreshable)."""
        try:
            result = await self._xrpc(
                creds, "GET", "com.atproto.server.getSession", headers=self._auth(creds)
            )
        except PlatformError as exc:
            if exc.refreshable:
                raise
            return ConnectionCheck(False, exc.platform_error or exc.message)
        handle = _http.json_object(result.body).get("handle") or creds.username
        return ConnectionCheck(True, f"Connected as {handle}", handle, list(self.descriptor.scopes))

    # ----- transport ---------------------------------------------------------------------

    @staticmethod
    def _auth(creds: Credentials) -> dict[str, str]:
        token = creds.secrets.get("access_jwt")
        if not token:
            raise PlatformError(
                ErrorCode.PLATFORM_AUTH_EXPIRED, "No Bluesky session; log in first", refreshable=True
            )
        return {"Authorization": f"Bearer {token}"}

    async def _xrpc(
        self,
        creds: Credentials,
        method: str,
        nsid: str,
        *,
        headers: dict[str, str] | None = None,
        json_data: Any = None,
        params: dict[str, str] | None = None,
        creating: bool = False,
        origin: str | None = None,
        data: Any = None,
        client_timeout: aiohttp.ClientTimeout | None = None,
    ) -> _http.HttpResult:
        url = f"{origin or creds.base_url}/xrpc/{nsid}"
        result = await _http.send(
            self.http,
            method,
            url,
            client_timeout=client_timeout or self.timeout,
            platform="Bluesky",
            maybe_published=creating,
            headers=headers,
            json_data=json_data,
            params=params,
            data=data,
        )
        if result.status >= 300:
            raise classify(result, creating=creating)
        return result


def _not_found(platform_error: str | None) -> bool:
    text = (platform_error or "").lower()
    return "recordnotfound" in text.replace(" ", "") or "could not locate" in text or "not found" in text


def classify(result: _http.HttpResult, *, creating: bool) -> PlatformError:
    """Map a failed XRPC response (``{"error", "message"}``) to a PlatformError."""
    body = _http.json_object(result.body)
    name, text = str(body.get("error") or ""), str(body.get("message") or "")
    platform_error = ": ".join(p for p in (name, text) if p) or _http.error_text(result.body)
    detail = platform_error or f"HTTP {result.status}"
    status = result.status

    def err(code: ErrorCode, message: str, **kw: Any) -> PlatformError:
        return PlatformError(code, message, status=status, platform_error=platform_error, **kw)

    if status == 401 or name in ("ExpiredToken", "InvalidToken", "AuthenticationRequired"):
        return err(
            ErrorCode.PLATFORM_AUTH_EXPIRED, f"Bluesky rejected the session: {detail}", refreshable=True
        )
    if status == 429 or name == "RateLimitExceeded":
        retry_at = _http.epoch_time(result.headers.get("ratelimit-reset")) or _http.retry_after(
            result.headers.get("Retry-After")
        )
        return err(ErrorCode.RATE_LIMITED, f"Bluesky rate limit exceeded: {detail}", retry_at=retry_at)
    if status == 413 or name == "BlobTooLarge":
        return err(ErrorCode.CONTENT_TOO_LARGE, f"Bluesky rejected the content as too large: {detail}")
    if status >= 500:
        return err(
            ErrorCode.PLATFORM_SERVER_ERROR,
            f"Bluesky server error (HTTP {status}): {detail}",
            maybe_published=creating,
        )
    if status == 400:
        if any(hint in text.lower() for hint in _TOO_LONG_HINTS):
            return err(ErrorCode.CONTENT_TOO_LARGE, f"Bluesky rejected the post as too long: {detail}")
        return err(ErrorCode.INVALID_CONTENT, f"Bluesky rejected the post: {detail}")
    return err(ErrorCode.UNKNOWN_ERROR, f"Bluesky request failed (HTTP {status}): {detail}")


ADAPTER = BlueskyAdapter
