"""Storing accounts a person connected: new ones within the plan, reconnected ones refreshed.

Connecting an account that the user already has replaces its tokens, expiry, scopes and profile
(that is how an expired connection is repaired) and does not count against the plan. A new
account is refused with CONNECTIONS_OVER_LIMIT when the billing owner's plan has no room left.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import Connection, User
from postpost.ids import utcnow
from postpost.platforms.base import Credentials, Profile
from postpost.security import SecretBox
from postpost.services.connections import add_connection
from postpost.services.limits import assert_can_connect
from postpost.services.plans import resolve_entitlements


@dataclass(frozen=True)
class Connected:
    """An account to store: who it is, the credentials it was connected with, where it lives."""

    platform: str
    profile: Profile
    creds: Credentials
    is_sandbox: bool = False
    base_url: str | None = None  # an instance's own origin (Mastodon); None for the platform's


async def billing_owner(session: AsyncSession, user: User) -> User:
    """Whose plan `user`'s connections count against: its workspace owner, else itself."""
    owner = await session.get(User, user.parent_user_id) if user.parent_user_id else None
    return owner or user


async def save_connected(
    session: AsyncSession, box: SecretBox, user: User, accounts: Sequence[Connected]
) -> list[str]:
    """Store `accounts` for `user` and commit; their platform ids. LimitExceeded stores none."""
    owner = await billing_owner(session, user)
    entitlements = await resolve_entitlements(session, owner)
    stored = []
    for account in accounts:
        profile = account.profile
        secrets = {**account.creds.secrets, **profile.secrets}
        scopes = list(account.creds.scopes) or None
        row = await session.scalar(
            select(Connection).where(
                Connection.user_id == user.id,
                Connection.platform == account.platform,
                Connection.account_id == profile.account_id,
            )
        )
        if row is None:
            await assert_can_connect(session, entitlements, owner.id)
            row = await add_connection(
                session,
                box,
                user_id=user.id,
                platform=account.platform,
                account_id=profile.account_id,
                username=profile.username,
                display_name=profile.display_name,
                secrets=secrets,
                base_url=account.base_url,
                is_sandbox=account.is_sandbox,
                expires_at=account.creds.expires_at,
                scopes=scopes,
            )
        else:
            row.username = profile.username
            row.display_name = profile.display_name or profile.username
            row.secrets = box.encrypt(secrets)
            row.secrets_version += 1
            row.base_url = account.base_url
            row.is_sandbox = account.is_sandbox
            row.access_token_expires_at = account.creds.expires_at
            row.scopes = scopes
            row.last_error = None
            row.refresh_lease_until = None
            row.expiry_notice_for = None
            row.updated_at = utcnow()
        row.profile_image_url = profile.avatar_url
        row.profile_url = profile.profile_url
        stored.append(row.compound_id)
    await session.commit()
    return stored
