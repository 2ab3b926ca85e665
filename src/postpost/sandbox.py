"""Sandbox mode: accounts that publish to the platform simulator mounted in the server.

Each platform's descriptor says how to make a sandbox account (credentials the simulator
accepts, as a real platform accepts the tokens it issued); nothing here knows a platform.
"""

from __future__ import annotations

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
