"""Domain errors raised by services; `api/error_handlers.py` maps them to HTTP.

PostpostError
├── InvalidInput        400
├── Unauthenticated     401
├── Forbidden           403
├── LimitExceeded       403 with the structured LimitExceededError body
├── NotFound            404
├── Conflict            409
├── Gone                410
├── PayloadTooLarge     413
└── Misconfigured       the process refuses to start (CLI exit code 2)
"""

from __future__ import annotations

from typing import Any


class PostpostError(Exception):
    """Base of every error a service may raise; `message` is the contract's `error` string."""

    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"error": self.message}


class InvalidInput(PostpostError):
    """The request is malformed or breaks a documented rule."""

    status_code = 400


class Unauthenticated(PostpostError):
    """No usable API key."""

    status_code = 401


class Forbidden(PostpostError):
    """The key is valid but may not do this."""

    status_code = 403


class NotFound(PostpostError):
    """The object does not exist for this tenant."""

    status_code = 404


class Conflict(PostpostError):
    """The object is in a state that forbids the change."""

    status_code = 409


class Gone(PostpostError):
    """The object existed but is no longer usable (an expired link)."""

    status_code = 410


class PayloadTooLarge(PostpostError):
    """An uploaded file is larger than allowed."""

    status_code = 413


class LimitExceeded(PostpostError):
    """A plan limit blocks the request (LimitExceededError body, HTTP 403)."""

    status_code = 403

    def __init__(self, error: str, code: str, metric: str, message: str, **fields: Any) -> None:
        super().__init__(error)
        self.fields = {"error": error, "code": code, "metric": metric, "message": message, **fields}

    def body(self) -> dict[str, Any]:
        return dict(self.fields)


class Misconfigured(PostpostError):
    """The process must not start with this configuration (the CLI exits with code 2)."""
