"""LinkedIn's error answers, shared by the fake's modules."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse


def li_error(
    status: int,
    message: str,
    *,
    code: str | None = None,
    service: int | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """LinkedIn's error body: ``{"status", "serviceErrorCode", "code", "message"}`` (+ details)."""
    body: dict[str, Any] = {"status": status}
    if service is not None:
        body["serviceErrorCode"] = service
    if code is not None:
        body["code"] = code
    body["message"] = message
    body.update(extra)
    return JSONResponse(body, status, headers=headers)


def denied(what: str) -> JSONResponse:
    """The 403 of a member acting for someone it may not act for."""
    return li_error(403, f"Not enough permissions to access: {what}", code="ACCESS_DENIED", service=100)
