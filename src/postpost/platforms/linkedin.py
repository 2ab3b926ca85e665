"""LinkedIn adapter: the versioned REST Posts API (``POST /rest/posts``) with the Images and Videos APIs.

Credentials: `account_id` is the LinkedIn id the connection posts as: a member's profile id (the
``sub`` of ``/v2/userinfo``) or an organisation's numeric id. ``secrets["author_urn"]`` is the full
author URN (``urn:li:person:…`` or ``urn:li:organization:…``; a person URN is assumed when absent),
``secrets["access_token"]`` the member's 60-day OAuth token, and ``secrets["refresh_token"]`` a
refresh token where LinkedIn grants them (only to apps approved for programmatic refresh).

Media goes up before the post, as multi-step publish state: images (``initializeUpload`` + ``PUT``),
a video in byte ranges (each part's ``ETag`` kept, then ``finalizeUpload``), then the video's
processing is polled until ``AVAILABLE``. A refused create re-checks the media: anything still
processing sends the post back to waiting.

Reconciliation: LinkedIn has no idempotency key, but it refuses a repeated post with a 422
``DUPLICATE_POST`` naming the post it duplicates. When an earlier attempt may have gone through,
that answer is the earlier attempt's post; so publishing again is the reconcile step.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from postpost.platforms import _http
from postpost.platforms import _linkedin_media as media
from postpost.platforms._linkedin_api import Api, author_of, classify
from postpost.platforms._linkedin_insights import Insights
from postpost.platforms._linkedin_text import commentary
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
from postpost.platforms.text import CodePoints

TOKEN_DAYS = 60
REFRESH_MARGIN = timedelta(hours=1)
FIRST_POLL, MAX_POLL = 1.0, 30.0
PROCESSING_DEADLINE = 3600.0  # seconds media may take to process before we give up
DUPLICATE_SKEW_MS = 5 * 60 * 1000
SCOPES = ("openid", "profile", "w_member_social", "r_basicprofile")
CONNECT_SCOPES = ("openid", "profile", "w_member_social")  # what "Share on LinkedIn" + OpenID grant
PAGES_SCOPES = ("rw_organization_admin", "w_organization_social")  # Community Management API

_POST_URN = re.compile(r"urn:li:(?:share|ugcPost):\d+")
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_EPOCH_2015_MS = 1_420_070_400_000


def _sandbox_account() -> SandboxAccount:
    member = "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))
    name = f"Sandbox Member {member}"
    return SandboxAccount(
        account_id=member,
        username=name,
        display_name=name,
        secrets={
            "access_token": f"sandbox.{member}.{secrets.token_hex(12)}",
            "author_urn": f"urn:li:person:{member}",
        },
        expires_at=datetime.now(UTC) + timedelta(days=TOKEN_DAYS),
    )


DESCRIPTOR = PlatformDescriptor(
    name="linkedin",
    title="LinkedIn",
    text=TextRules(limit=3000, counter=CodePoints(), threads=False),
    media=MediaRules(
        max_images=10,  # what PostPost offers; the API itself takes up to 20 (multiImage)
        max_videos=1,
        image_types=frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"}),
        video_types=frozenset({"video/mp4"}),
        image_max_bytes=5 * MB,
        video_max_bytes=500 * MB,
        video_min_seconds=3,
        video_max_seconds=30 * 60,
        alt_text_max=4086,
        convert={"image/webp": "image/jpeg"},
    ),
    credential=CredentialKind.OAUTH2,
    endpoints={"api": "https://api.linkedin.com", "auth": "https://www.linkedin.com"},
    reconciliation=Reconciliation.IDEMPOTENCY_KEY,
    pacing=Pacing(per_account=(RateWindow(25, 3600), RateWindow(100, 86400))),
    scopes=SCOPES,
    sandbox_account=_sandbox_account,
    oauth=OAuthFlow(
        authorize=("auth", "/oauth/v2/authorization"),
        token=("auth", "/oauth/v2/accessToken"),
        scopes=CONNECT_SCOPES,
        pkce=False,  # LinkedIn offers PKCE to approved native apps only
        pages_scopes=PAGES_SCOPES,
    ),
)


def post_url(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}/"


class LinkedInAdapter(PlatformAdapter):
    """Publishes posts for a member or an organisation.

    `upload_step_bytes` bounds how much of a video one publish step uploads before handing the
    remaining parts back to the engine as state (so a long upload resumes where it stopped).
    """

    descriptor = DESCRIPTOR

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        timeout: float = 10.0,
        app: dict[str, str] | None = None,
        upload_step_bytes: int = 32 * MB,
    ) -> None:
        super().__init__(http, timeout=timeout, app=app)
        self.api = Api(http, self.timeout)
        self.insights = Insights(self.api)  # analytics and social actions (reactions, comments)
        self.upload_step_bytes = upload_step_bytes

    # ----- tokens ------------------------------------------------------------------------

    def needs_refresh(self, creds: Credentials, now: datetime) -> bool:
        """An expiring token with a refresh token to renew it (most apps get none: reconnect)."""
        return (
            "refresh_token" in creds.secrets
            and creds.expires_at is not None
            and creds.expires_at - now < REFRESH_MARGIN
        )

    async def refresh(self, creds: Credentials) -> Credentials:
        """A new access token from the refresh-token grant (the refresh token itself is kept)."""
        refresh_token = creds.secrets.get("refresh_token")
        if not refresh_token:
            raise PlatformError(
                ErrorCode.PLATFORM_AUTH_EXPIRED,
                "The LinkedIn access token has expired and LinkedIn gave this app no refresh token; "
                "reconnect the account",
            )
        client_id = creds.secrets.get("client_id") or self.app.get("client_id")
        client_secret = creds.secrets.get("client_secret") or self.app.get("client_secret")
        if not client_id or not client_secret:
            raise PlatformError(
                ErrorCode.PLATFORM_AUTH_EXPIRED,
                "Cannot refresh the LinkedIn token: POSTPOST_LINKEDIN_CLIENT_ID and "
                "POSTPOST_LINKEDIN_CLIENT_SECRET are not set",
            )
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
            "client_secret": client_secret,
        }
        result = await _http.send(
            self.http,
            "POST",
            creds.endpoint("auth") + "/oauth/v2/accessToken",
            client_timeout=self.timeout,
            platform="LinkedIn",
            data=form,
        )
        body = _http.json_object(result.body)
        token = body.get("access_token")
        if result.status >= 300 or not token:
            raise _token_error(result, body)
        lifetime = float(body.get("expires_in") or TOKEN_DAYS * 86400)
        return dataclasses.replace(
            creds,
            secrets=creds.secrets.merged(
                access_token=str(token), refresh_token=str(body.get("refresh_token") or refresh_token)
            ),
            expires_at=datetime.now(UTC) + timedelta(seconds=lifetime),
        )

    # ----- publishing --------------------------------------------------------------------

    async def publish(self, job: PublishJob) -> Published | InProgress:
        """Upload the media (steps), wait for its processing, then create the post."""
        state: dict[str, Any] = dict(job.state or {})
        if not state and job.part.media:
            state = await self._start(job)
        if state.get("step") == "upload":
            video = next(m for m in job.part.media if m.kind == "video")
            state = await media.upload_parts(self.api, job.creds, video, state, self.upload_step_bytes)
            waiting = 0.0 if state["step"] == "upload" else FIRST_POLL
            return InProgress(state, check_after=timedelta(seconds=waiting))
        if state.get("pending"):
            pending = await media.still_processing(self.api, job.creds, state["pending"])
            if pending:
                return _waiting(state, pending)
            state["pending"] = []
        return await self._create(job, state)

    async def _start(self, job: PublishJob) -> dict[str, Any]:
        """Upload the images, or open the video upload: the state that carries the rest."""
        images = [m for m in job.part.media if m.kind == "image"]
        videos = [m for m in job.part.media if m.kind == "video"]
        if videos and (images or len(videos) > 1):
            raise PlatformError(
                ErrorCode.INVALID_CONTENT, "A LinkedIn post carries one video, or images, not both"
            )
        owner = author_of(job.creds)
        if videos:
            return await media.open_video(self.api, job.creds, owner, videos[0])
        urns = [await media.upload_image(self.api, job.creds, owner, m) for m in images]
        return {"step": "create", "images": urns, "pending": []}

    async def _create(self, job: PublishJob, state: dict[str, Any]) -> Published | InProgress:
        body: dict[str, Any] = {
            "author": author_of(job.creds),
            "commentary": commentary(job.part.text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        content = media.content(job.part.media, state)
        if content:
            body["content"] = content
        try:
            result = await self.api.rest(job.creds, "POST", "/rest/posts", json_data=body, creating=True)
        except PlatformError as exc:
            if exc.status != 422:
                raise
            found = _duplicate_of(job, exc)
            if found is not None:
                return found
            # LinkedIn refuses a post whose media is not ready: wait for it again
            pending = await media.still_processing(self.api, job.creds, media.uploaded(state))
            if pending:
                return _waiting(state, pending)
            raise
        urn = result.headers.get("x-restli-id")
        if not urn:
            raise PlatformError(
                ErrorCode.UNKNOWN_ERROR,
                "LinkedIn accepted the post but its answer has no x-restli-id",
                status=result.status,
                maybe_published=True,
            )
        return Published(remote_id=urn, url=post_url(urn))

    # ----- connection check --------------------------------------------------------------

    async def check_connection(self, creds: Credentials) -> ConnectionCheck:
        """``GET /v2/userinfo``: the member's name (auth failures raise, refreshable when possible)."""
        try:
            result = await self.api.call(creds, "GET", creds.base_url + "/v2/userinfo")
        except PlatformError as exc:
            if exc.refreshable:
                raise
            return ConnectionCheck(False, exc.platform_error or exc.message)
        name = str(_http.json_object(result.body).get("name") or creds.username or creds.account_id)
        author = author_of(creds)
        message, username = f"Connected as {name}", name
        if author.startswith("urn:li:organization:"):
            message += f", posting as {author}"
            username = creds.username or name
        scopes = list(creds.scopes) or (creds.secrets.get("scopes") or " ".join(SCOPES)).split()
        return ConnectionCheck(True, message, username, scopes)

    # ----- connecting --------------------------------------------------------------------

    async def read_profile(self, creds: Credentials) -> Profile:
        """The member, from OpenID Connect's ``/v2/userinfo``."""
        result = await self.api.call(creds, "GET", creds.base_url + "/v2/userinfo")
        info = _http.json_object(result.body)
        member = info.get("sub")
        if not member:
            raise PlatformError(ErrorCode.UNKNOWN_ERROR, "LinkedIn answered /v2/userinfo without a member id")
        name = str(info.get("name") or member)
        return Profile(
            account_id=str(member),
            username=name,
            display_name=name,
            avatar_url=str(info["picture"]) if info.get("picture") else None,
            secrets={"author_urn": f"urn:li:person:{member}"},
        )

    async def managed_pages(self, creds: Credentials) -> list[Profile]:
        """The organisations the member administers (``organizationAcls``), with their names."""
        query = "?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED&count=100"
        result = await self.api.rest(creds, "GET", "/rest/organizationAcls" + query)
        elements = _http.json_object(result.body).get("elements")
        pages = []
        for element in elements if isinstance(elements, list) else []:
            urn = element.get("organization") if isinstance(element, dict) else None
            if not isinstance(urn, str) or not urn.startswith("urn:li:organization:"):
                continue
            org_id = urn.rsplit(":", 1)[1]
            found = await self.api.rest(creds, "GET", f"/rest/organizations/{org_id}")
            org = _http.json_object(found.body)
            name = str(org.get("localizedName") or org_id)
            vanity = org.get("vanityName")
            pages.append(
                Profile(
                    account_id=org_id,
                    username=name,
                    display_name=name,
                    profile_url=f"https://www.linkedin.com/company/{vanity}/" if vanity else None,
                    secrets={"author_urn": urn},
                )
            )
        return pages


ADAPTER = LinkedInAdapter


def _waiting(state: dict[str, Any], pending: list[str]) -> InProgress:
    """Check `pending` media again later, backing off; give up after the processing deadline."""
    now = datetime.now(UTC).timestamp()
    since = float(state.get("since") or now)
    if now - since > PROCESSING_DEADLINE:
        raise PlatformError(
            ErrorCode.PLATFORM_SERVER_ERROR,
            "LinkedIn did not finish processing the media within an hour",
            retryable=False,
        )
    polls = int(state.get("polls") or 0)
    delay = min(FIRST_POLL * 1.5**polls, MAX_POLL)
    waiting = {**state, "pending": pending, "polls": polls + 1, "since": since}
    return InProgress(waiting, check_after=timedelta(seconds=delay))


def _duplicate_of(job: PublishJob, error: PlatformError) -> Published | None:
    """The earlier attempt's post, when LinkedIn refused this one as its duplicate.

    Only an attempt that may have reached LinkedIn before can have a duplicate of its own; a
    duplicate created well before the first attempt (a post id carries its creation time in
    its high bits) is an older post with the same content, not ours.
    """
    text = error.platform_error or ""
    found = _POST_URN.search(text)
    if found is None or "duplicate" not in text.lower() or not job.unsure:
        return None
    urn = found.group()
    created_ms = int(urn.rsplit(":", 1)[1]) >> 22
    earliest = job.since.timestamp() * 1000 - DUPLICATE_SKEW_MS if job.since else 0
    if _EPOCH_2015_MS < created_ms < earliest:
        return None
    return Published(remote_id=urn, url=post_url(urn))


def _token_error(result: _http.HttpResult, body: dict[str, Any]) -> PlatformError:
    detail = str(body.get("error_description") or body.get("error") or _http.error_text(result.body) or "")
    if result.status == 429 or result.status >= 500:
        return classify(result, creating=False)
    return PlatformError(
        ErrorCode.PLATFORM_AUTH_EXPIRED,
        f"LinkedIn refused to refresh the access token: {detail or f'HTTP {result.status}'}",
        status=result.status,
        platform_error=detail or None,
    )
