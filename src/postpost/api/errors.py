"""Maps domain errors and framework errors to the contract's JSON bodies."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from postpost.errors import PostpostError

log = logging.getLogger("postpost.api")


class ServerFailure(PostpostError):
    """An unexpected failure, reported with the route's documented 500 message."""

    status_code = 500


@contextmanager
def failure_message(message: str) -> Iterator[None]:
    """Turn any unexpected exception inside the block into a 500 with `message`."""
    try:
        yield
    except PostpostError:
        raise
    except Exception as exc:
        log.exception("%s", message)
        raise ServerFailure(message) from exc


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PostpostError)
    async def _domain(_request: Request, exc: PostpostError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        messages = {404: "Not found", 405: "Method not allowed"}
        return JSONResponse(
            {"error": messages.get(exc.status_code, str(exc.detail))},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return JSONResponse(
            {"error": f"Invalid request: {where} {first.get('msg', '')}".strip()}, status_code=400
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"error": "Internal server error"}, status_code=500)
