"""Connect-page links: a user's own page for connecting social accounts, valid until a set time.

The token in `/connect/<token>` is `<user id>.<MAC>`, where the MAC covers the user id and a random
nonce stored on the user. Only the nonce is stored: the database alone cannot rebuild a link,
rotating the nonce revokes the old one at once, and an expired link is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import User
from postpost.ids import is_object_id, utcnow

DEFAULT_DAYS = 90.0


@dataclass(frozen=True)
class ConnectLink:
    url: str
    expires_at: datetime


class LinkSigner:
    """Derives and checks connect-page tokens with the server's secret key."""

    def __init__(self, secret_key: bytes, base_url: str) -> None:
        self._key = hashlib.sha256(b"postpost-connect-link|" + secret_key).digest()
        self.base_url = base_url.rstrip("/")

    def token(self, user_id: str, nonce: str) -> str:
        mac = hmac.new(self._key, f"{user_id}|{nonce}".encode(), hashlib.sha256).digest()
        return f"{user_id}.{base64.urlsafe_b64encode(mac[:24]).decode()}"

    def url(self, user: User) -> str | None:
        """The user's current link, or None when there is none or it expired."""
        expires = user.connect_expires_at
        if user.connect_nonce is None or expires is None or expires <= utcnow():
            return None
        return f"{self.base_url}/connect/{self.token(user.id, user.connect_nonce)}"

    async def issue(self, session: AsyncSession, user: User, *, days: float, rotate: bool) -> ConnectLink:
        """The user's link: the current one while valid (unless `rotate`), else a new one. No commit."""
        current = self.url(user)
        if current is not None and not rotate and user.connect_expires_at is not None:
            return ConnectLink(current, user.connect_expires_at)
        user.connect_nonce = secrets.token_urlsafe(24)
        user.connect_expires_at = utcnow() + timedelta(days=days)
        await session.flush()
        url = self.url(user)
        assert url is not None
        return ConnectLink(url, user.connect_expires_at)

    async def resolve(self, session: AsyncSession, token: str) -> User | None:
        """The user a valid, unexpired token belongs to; None otherwise."""
        user = await self.owner(session, token)
        if user is None or user.connect_expires_at is None or user.connect_expires_at <= utcnow():
            return None
        return user

    async def owner(self, session: AsyncSession, token: str) -> User | None:
        """The user whose current link carries `token`, expired or not; None for any other token."""
        user_id, _, _mac = token.partition(".")
        if not is_object_id(user_id):
            return None
        user = await session.get(User, user_id.lower())
        if user is None or user.connect_nonce is None:
            return None
        if not hmac.compare_digest(self.token(user.id, user.connect_nonce), token):
            return None
        return user
