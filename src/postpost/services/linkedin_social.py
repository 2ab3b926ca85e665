"""LinkedIn reactions and comments made as one of the caller's connections (INVENTORY §1.7.5, §1.7.6).

LinkedIn's Reactions API takes share and ugcPost URNs, not the activity URNs of a post's web
address: ``urn:li:activity:N`` is sent as ``urn:li:ugcPost:N`` and the answer says so
(`urnTranslated`). A refused call answers 500 with LinkedIn's error in `details` (403 and 429
keep LinkedIn's status).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postpost.platforms._linkedin_insights import CreatedComment, Insights
from postpost.platforms.base import Credentials, PlatformError
from postpost.services import linkedin_input as parse
from postpost.services.auth import Principal
from postpost.services.credentials import CredentialStore
from postpost.services.linkedin_access import COMMENTS, REACTIONS, AdapterLookup, LinkedInAccount

CREATE_REACTION_FAILED = "Failed to create LinkedIn reaction"
DELETE_REACTION_FAILED = "Failed to delete LinkedIn reaction"
CREATE_COMMENT_FAILED = "Failed to create LinkedIn comment"
DELETE_COMMENT_FAILED = "Failed to delete LinkedIn comment"


@dataclass(frozen=True)
class ReactionOutcome:
    """LinkedIn's reaction (None after a removal without a body) and the URN it was sent with."""

    reaction: dict[str, Any] | None
    posted_id: str
    sent_as: str

    @property
    def translated(self) -> bool:
        return self.posted_id != self.sent_as


@dataclass(frozen=True)
class CommentOutcome:
    """A created comment: its numeric id, full URN, text, and LinkedIn's answer."""

    id: str
    urn: str
    message: str
    answer: dict[str, Any]


async def create_reaction(
    session: AsyncSession, principal: Principal, store: CredentialStore, adapters: AdapterLookup, body: Any
) -> ReactionOutcome:
    """POST linkedin-reactions: react to a post as the connection."""
    request = parse.new_reaction(body)
    account = await LinkedInAccount.open(session, principal, request.account, store, adapters)
    entity = parse.translated(request.posted_id)
    kind = request.reaction_type
    assert kind is not None

    async def react(insights: Insights, creds: Credentials) -> dict[str, Any]:
        return await insights.react(creds, entity, kind)

    try:
        reaction = await account.act(REACTIONS, react)
    except PlatformError as error:
        raise account.failure(error, CREATE_REACTION_FAILED, details="object") from error
    return ReactionOutcome(reaction, request.posted_id, entity)


async def delete_reaction(
    session: AsyncSession,
    principal: Principal,
    store: CredentialStore,
    adapters: AdapterLookup,
    fields: Mapping[str, Any],
) -> ReactionOutcome:
    """DELETE linkedin-reactions (`fields`: the JSON body's, else the query string's)."""
    request = parse.removed_reaction(fields)
    account = await LinkedInAccount.open(session, principal, request.account, store, adapters)
    entity = parse.translated(request.posted_id)

    async def unreact(insights: Insights, creds: Credentials) -> dict[str, Any] | None:
        return await insights.unreact(creds, entity)

    try:
        answer = await account.act(REACTIONS, unreact)
    except PlatformError as error:
        raise account.failure(error, DELETE_REACTION_FAILED, details="object") from error
    return ReactionOutcome(answer, request.posted_id, entity)


async def create_comment(
    session: AsyncSession, principal: Principal, store: CredentialStore, adapters: AdapterLookup, body: Any
) -> CommentOutcome:
    """POST linkedin-comments: comment (or reply to `parentComment`) as the connection."""
    request = parse.new_comment(body)
    account = await LinkedInAccount.open(session, principal, request.account, store, adapters)

    async def comment(insights: Insights, creds: Credentials) -> CreatedComment:
        return await insights.comment(creds, request.posted_id, request.message, request.parent)

    try:
        created = await account.act(COMMENTS, comment)
    except PlatformError as error:
        raise account.failure(error, CREATE_COMMENT_FAILED) from error
    urn = created.body.get("commentUrn")
    if not isinstance(urn, str) or not urn:
        target = created.body.get("object") or request.posted_id
        urn = f"urn:li:comment:({target},{created.id})"
    return CommentOutcome(created.id, urn, request.message, created.body)


async def delete_comment(
    session: AsyncSession,
    principal: Principal,
    store: CredentialStore,
    adapters: AdapterLookup,
    fields: Mapping[str, Any],
) -> parse.CommentDeletion:
    """DELETE linkedin-comments; the deletion as requested (its `comment_id` echoed back)."""
    request = parse.removed_comment(fields)
    account = await LinkedInAccount.open(session, principal, request.account, store, adapters)

    async def remove(insights: Insights, creds: Credentials) -> None:
        await insights.delete_comment(creds, request.posted_id, request.numeric_id)

    try:
        await account.act(COMMENTS, remove)
    except PlatformError as error:
        raise account.failure(error, DELETE_COMMENT_FAILED, details="text") from error
    return request
