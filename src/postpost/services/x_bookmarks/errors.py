"""The X bookmarks error bodies: `{ error, code, … }` with the contract's machine codes."""

from __future__ import annotations

from typing import Any

from postpost.errors import PostpostError


class BookmarkError(PostpostError):
    """An X bookmarks failure: HTTP status, human `error`, machine `code`, and extra fields."""

    def __init__(self, status: int, code: str, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.status_code = status
        self.code = code
        self.fields = fields

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "code": self.code, **self.fields}


def not_connected(status: int = 400) -> BookmarkError:
    return BookmarkError(status, "NOT_CONNECTED", "X account not connected")


def invalid(code: str, message: str, **fields: Any) -> BookmarkError:
    return BookmarkError(400, code, message, **fields)
