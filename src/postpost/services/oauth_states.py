"""What a connect flow keeps between two browser requests: single-use, expiring, encrypted.

The browser carries a random value (the OAuth `state`, or the key of a choice of pages); the
database holds only its SHA-256, the user it belongs to and an encrypted payload (the connect
link, the PKCE verifier, the app used, tokens awaiting a choice). Taking a state deletes it in
the same statement, so two requests with one value cannot both proceed.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import OAuthState
from postpost.errors import Gone, InvalidInput
from postpost.ids import utcnow
from postpost.security import SecretBox

AUTHORIZE = "authorize"
CHOOSE = "choose"
TTL = {AUTHORIZE: timedelta(minutes=10), CHOOSE: timedelta(minutes=15)}
INVALID = "This sign-in is not valid or was already used: start again from your connect page."
EXPIRED = "This sign-in took too long and expired: start again from your connect page."


@dataclass(frozen=True)
class FlowState:
    """A taken state: whose flow it was, on which platform, and what it kept."""

    user_id: str
    platform: str
    payload: dict[str, Any]


def _key(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


async def put_state(
    session: AsyncSession, box: SecretBox, *, kind: str, user_id: str, platform: str, payload: dict[str, Any]
) -> str:
    """Store a new state and return the value the browser carries (no commit).

    Expired states of every user are removed on the way.
    """
    now = utcnow()
    await session.execute(delete(OAuthState).where(OAuthState.expires_at < now))
    value = secrets.token_urlsafe(32)
    session.add(
        OAuthState(
            id=_key(value),
            user_id=user_id,
            platform=platform,
            kind=kind,
            payload=box.encrypt(payload),
            expires_at=now + TTL[kind],
        )
    )
    await session.flush()
    return value


async def take_state(session: AsyncSession, box: SecretBox, value: str, *, kind: str) -> FlowState:
    """Remove the state `value` names and return it (no commit): InvalidInput when unknown or
    already taken, Gone when expired (removed all the same)."""
    if not value or len(value) > 200:
        raise InvalidInput(INVALID)
    taken = await session.execute(
        delete(OAuthState)
        .where(OAuthState.id == _key(value), OAuthState.kind == kind)
        .returning(OAuthState.user_id, OAuthState.platform, OAuthState.payload, OAuthState.expires_at)
    )
    row = taken.first()
    if row is None:
        raise InvalidInput(INVALID)
    user_id, platform, payload, expires_at = row
    if expires_at <= utcnow():
        raise Gone(EXPIRED)
    return FlowState(user_id, platform, box.decrypt(payload))
