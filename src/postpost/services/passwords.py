"""Dashboard passwords: argon2id hashes (argon2-cffi), the rules a new password must meet."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from postpost.errors import InvalidInput

MIN_LENGTH = 8
MAX_LENGTH = 1024

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile
# compared against when the email is unknown, so that answer takes as long as a wrong password
_DUMMY = _hasher.hash("postpost-no-such-user")


def check_new_password(password: str) -> None:
    """Refuse a password that is too short or absurdly long."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"Password must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"Password must be at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    """The PHC string of `password` (salted argon2id)."""
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches `stored`; a missing hash still costs one verification."""
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether `stored` was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored)
