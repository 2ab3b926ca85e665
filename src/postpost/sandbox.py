"""Sandbox mode: accounts that publish to the platform simulator mounted in the server.

Each platform's descriptor says how to make a sandbox account (credentials the simulator
accepts, as a real platform accepts the tokens it issued); nothing here knows a platform.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import Connection
from postpost.errors import InvalidInput
from postpost.platforms.registry import descriptors
from postpost.security import SecretBox
from postpost.services.connections import add_connection

SANDBOX_PATH = "/sandbox"


def sandbox_platforms() -> list[str]:
    """Platforms that can publish and have sandbox accounts."""
    return [name for name, d in descriptors().items() if d.sandbox_account is not None]


async def add_sandbox_connection(
    session: AsyncSession, box: SecretBox, user_id: str, platform: str
) -> Connection:
    """Create a connection for `user_id` that publishes to the sandbox."""
    name = platform.strip().lower()
    described = descriptors().get(name)
    if described is None or described.sandbox_account is None:
        raise InvalidInput(f"Sandbox is available for: {', '.join(sandbox_platforms())}")
    account = described.sandbox_account()
    return await add_connection(
        session,
        box,
        user_id=user_id,
        platform=name,
        account_id=account.account_id,
        username=account.username,
        display_name=account.display_name,
        secrets=dict(account.secrets),
        is_sandbox=True,
        expires_at=account.expires_at,
        scopes=list(described.scopes) or None,
    )


@dataclass(frozen=True)
class AccountRef:
    """One of a user's connected accounts, as the sandbox's control routes see it."""

    platform: str
    account_id: str
    username: str | None
    is_sandbox: bool

    def named_by(self, platform: str, account: str) -> bool:
        """Whether `platform` + `account` (raw account id, or username/handle) designate this account."""
        if platform != self.platform:
            return False
        username = (self.username or "").lstrip("@").lower()
        return account == self.account_id or bool(username) and account.lstrip("@").lower() == username


async def user_accounts(session: AsyncSession, user_id: str) -> list[AccountRef]:
    """Every connected account of `user_id` on a sandbox platform, sandbox or not."""
    rows = await session.execute(
        select(Connection.platform, Connection.account_id, Connection.username, Connection.is_sandbox)
        .where(Connection.user_id == user_id, Connection.platform.in_(sandbox_platforms()))
        .order_by(Connection.created_at, Connection.id)
    )
    return [AccountRef(*row) for row in rows.tuples()]
