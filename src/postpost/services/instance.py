"""The installation's identity: the secret key's fingerprint, recorded once, checked by every process.

A process started with another key than the one the database was set up with could neither
verify API keys nor decrypt connections; it is refused at start instead of failing quietly later.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import InstanceMeta
from postpost.db.session import dialect_name
from postpost.errors import Misconfigured
from postpost.security import key_fingerprint

FINGERPRINT = "secret_key_fingerprint"


async def recorded_fingerprint(session: AsyncSession) -> str | None:
    """The fingerprint stored by the first process, or None before any process started."""
    return await session.scalar(select(InstanceMeta.value).where(InstanceMeta.key == FINGERPRINT))


def key_matches(secret_key: bytes, recorded: str | None) -> bool:
    """Whether `secret_key` is the installation's key (any key matches before one is recorded)."""
    return recorded is None or recorded == key_fingerprint(secret_key)


def mismatch_message(source: str) -> str:
    """What to tell an operator whose process has the wrong key."""
    return (
        f"The secret key ({source}) is not the key this database was set up with: API keys and "
        "connected accounts stored in it cannot be used with it. Start every postpost process, on "
        "every host, with the original key (set POSTPOST_SECRET_KEY to it, or restore the secret.key "
        "file it was generated into)."
    )


async def verify_secret_key(session: AsyncSession, secret_key: bytes, *, source: str) -> None:
    """Record the key's fingerprint the first time; raise Misconfigured for any other key afterwards.

    `source` says where the key came from, for the message. Safe when processes start together:
    the first insert wins and every process compares against the stored value.
    """
    recorded = await recorded_fingerprint(session)
    if recorded is None:
        dialect = postgresql if dialect_name(session) == "postgresql" else sqlite
        await session.execute(
            dialect.insert(InstanceMeta)
            .values(key=FINGERPRINT, value=key_fingerprint(secret_key))
            .on_conflict_do_nothing(index_elements=["key"])
        )
        recorded = await recorded_fingerprint(session)
        await session.commit()
    if not key_matches(secret_key, recorded):
        raise Misconfigured(mismatch_message(source))
