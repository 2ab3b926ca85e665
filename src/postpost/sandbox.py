"""Sandbox mode: sandbox accounts that publish to the platform simulator mounted in the server.

A sandbox account is provisioned by asking an in-process simulator for it over its real
protocol (Mastodon `verify_credentials`, Bluesky `createSession`); the simulator accepts the
same credentials when it is served at `/sandbox`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import Connection
from postpost.errors import InvalidInput
from postpost.security import SecretBox
from postpost.services.connections import add_connection
from postpost.simulator import create_simulator_app

SANDBOX_PLATFORMS = ("mastodon", "bluesky")
SANDBOX_PATH = "/sandbox"


@dataclass(frozen=True)
class SandboxAccount:
    account_id: str
    username: str
    secrets: dict[str, str]


async def provision(platform: str) -> SandboxAccount:
    """A new sandbox account on `platform`, as the simulator sees it."""
    transport = httpx.ASGITransport(app=create_simulator_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        if platform == "mastodon":
            account_id = str(secrets.randbelow(9 * 10**14) + 10**14)
            token = f"sandbox.{account_id}.{secrets.token_hex(12)}"
            reply = await client.get(
                "/mastodon/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {token}"}
            )
            reply.raise_for_status()
            return SandboxAccount(
                account_id,
                "@" + reply.json()["username"],
                {"access_token": token, "scopes": "read write push"},
            )
        handle = f"sandbox-{secrets.token_hex(4)}.bsky.social"
        password = "-".join(secrets.token_hex(2) for _ in range(4))
        reply = await client.post(
            "/bluesky/xrpc/com.atproto.server.createSession",
            json={"identifier": handle, "password": password},
        )
        reply.raise_for_status()
        session = reply.json()
        return SandboxAccount(
            session["did"], session["handle"], {"identifier": handle, "app_password": password}
        )


async def add_sandbox_connection(
    session: AsyncSession, box: SecretBox, user_id: str, platform: str
) -> Connection:
    """Create a connection for `user_id` that publishes to the sandbox."""
    platform = platform.strip().lower()
    if platform not in SANDBOX_PLATFORMS:
        raise InvalidInput(f"Sandbox is available for: {', '.join(SANDBOX_PLATFORMS)}")
    account = await provision(platform)
    return await add_connection(
        session,
        box,
        user_id=user_id,
        platform=platform,
        account_id=account.account_id,
        username=account.username,
        secrets=account.secrets,
        is_sandbox=True,
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
        .where(Connection.user_id == user_id, Connection.platform.in_(SANDBOX_PLATFORMS))
        .order_by(Connection.created_at, Connection.id)
    )
    return [AccountRef(*row) for row in rows.tuples()]
