"""Dashboard accounts: sign-up, sign-in with a per-email-and-address rate limit, passwords set by
the operator, and the managed users a workspace owner may switch to."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import SignInFailure, User
from postpost.errors import NotFound, PostpostError, Unauthenticated
from postpost.ids import is_object_id, utcnow
from postpost.services import accounts
from postpost.services.auth import Principal
from postpost.services.passwords import (
    check_new_password,
    hash_password,
    needs_rehash,
    verify_password,
)
from postpost.services.plans import resolve_entitlements

WRONG_CREDENTIALS = "Invalid email or password"


class TooManyAttempts(PostpostError):
    """Too many failed sign-ins of one email from one address: wait for the window to end."""

    status_code = 429

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        minutes = max(1, math.ceil(self.retry_after / 60))
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(f"Too many failed sign-in attempts. Try again in {minutes} {unit}.")
        self.headers = {"Retry-After": str(self.retry_after)}


@dataclass(frozen=True)
class SignInPolicy:
    """How many failures one email may have from one address within `window`."""

    max_failures: int
    window: timedelta


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _failure_key(email: str, address: str) -> str:
    return hashlib.sha256(f"{normalise_email(email)}|{address}".encode()).hexdigest()


async def sign_in(
    session: AsyncSession, policy: SignInPolicy, email: str, password: str, address: str
) -> User:
    """The user `email` and `password` identify, or 401; 429 once the address failed too often.

    Failures are counted (and committed) before the error is raised; a success clears them.
    """
    key = _failure_key(email, address)
    now = utcnow()
    failures = await session.get(SignInFailure, key)
    in_window = failures is not None and now - failures.window_started_at < policy.window
    if failures is not None and in_window and failures.failures >= policy.max_failures:
        left = failures.window_started_at + policy.window - now
        raise TooManyAttempts(left.total_seconds())
    user = await session.scalar(select(User).where(User.email == normalise_email(email)))
    stored = user.password_hash if user is not None else None
    if user is None or not verify_password(stored, password):
        await _count_failure(session, key, now, policy.window)
        raise Unauthenticated(WRONG_CREDENTIALS)
    assert stored is not None  # verify_password is False without a hash
    await session.execute(delete(SignInFailure).where(SignInFailure.key == key))
    if needs_rehash(stored):
        user.password_hash = hash_password(password)
    await session.commit()
    return user


async def _count_failure(session: AsyncSession, key: str, now: datetime, window: timedelta) -> None:
    """One more failure for `key`, atomically; windows that ended are dropped first (every key's:
    the table only ever holds the current windows)."""
    await session.execute(delete(SignInFailure).where(SignInFailure.window_started_at <= now - window))
    counted = await session.execute(
        update(SignInFailure).where(SignInFailure.key == key).values(failures=SignInFailure.failures + 1)
    )
    if getattr(counted, "rowcount", 0) == 0:
        session.add(SignInFailure(key=key, failures=1, window_started_at=now))
    try:
        await session.commit()
    except IntegrityError:  # another request counted the first failure at the same moment
        await session.rollback()
        await _count_failure(session, key, now, window)


async def sign_up(session: AsyncSession, email: str, password: str, *, plan: str) -> User:
    """A new user with `password` on `plan` (409 when the email is taken); committed."""
    check_new_password(password)
    user = await accounts.create_user(session, email, plan=plan)
    user.password_hash = hash_password(password)
    await session.commit()
    return user


async def set_password(session: AsyncSession, user_ref: str, password: str) -> User:
    """Set the password of the user with id or email `user_ref` (the operator's command)."""
    check_new_password(password)
    if is_object_id(user_ref):
        user = await session.get(User, user_ref.lower())
    else:
        user = await session.scalar(select(User).where(User.email == normalise_email(user_ref)))
    if user is None:
        raise NotFound(f"User not found: {user_ref}")
    user.password_hash = hash_password(password)
    user.session_epoch = (user.session_epoch or 0) + 1  # a new password ends every session
    await session.commit()
    return user


async def end_sessions(session: AsyncSession, user_id: str) -> None:
    """End every dashboard session of the user (signing out signs out everywhere)."""
    await session.execute(update(User).where(User.id == user_id).values(session_epoch=User.session_epoch + 1))
    await session.commit()


async def managed_users(session: AsyncSession, owner_id: str) -> list[User]:
    """The users whose workspace owner is `owner_id`, by email."""
    rows = await session.scalars(select(User).where(User.parent_user_id == owner_id).order_by(User.email))
    return list(rows)


async def managed_user(session: AsyncSession, owner_id: str, user_id: str) -> User:
    """The managed user `user_id` of `owner_id`; anyone else is not found."""
    user = await session.get(User, user_id) if is_object_id(user_id) else None
    if user is None or user.parent_user_id != owner_id:
        raise NotFound("User not found")
    return user


async def principal_for(session: AsyncSession, account: User, user: User) -> Principal:
    """Who a dashboard request acts as, in the API's terms: `user`'s data, billed to its owner."""
    billing = user
    if user.parent_user_id:
        billing = await session.get(User, user.parent_user_id) or user
    return Principal(
        user_id=user.id,
        actor_id=account.id,
        billing_owner_id=billing.id,
        entitlements=await resolve_entitlements(session, billing),
        client="dashboard",
        is_workspace=user.id != account.id,
    )
