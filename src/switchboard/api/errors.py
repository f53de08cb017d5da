"""The one place an exception becomes an HTTP error response. No tracebacks leave."""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from switchboard.errors import AppError, RateLimitedError

log = logging.getLogger("switchboard.http")


def _safe(value: object) -> object:
    """Make a validation error's context JSON-safe (inputs may hold lone surrogates)."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, list | tuple):
        return [_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _safe(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float):
        return value
    return _safe(str(value))


def retry_after_header(seconds: float) -> str:
    """Whole seconds, at least 1 (RFC 9110 delay-seconds)."""
    return str(max(1, math.ceil(seconds)))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # The input is left out: it is the caller's own data, and may not even encode.
        errors = [
            {
                "loc": _safe(list(e.get("loc", ()))),
                "msg": _safe(e.get("msg", "")),
                "type": e.get("type"),
            }
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        headers = None
        if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
            headers = {"Retry-After": retry_after_header(exc.retry_after)}
        return JSONResponse(
            {"detail": exc.message, "code": exc.code}, status_code=exc.status, headers=headers
        )

    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            {"detail": "database unavailable, try again", "code": "unavailable"}, status_code=503
        )

    app.add_exception_handler(OperationalError, _unavailable)
    app.add_exception_handler(PoolTimeoutError, _unavailable)
    app.add_exception_handler(OSError, _unavailable)

    @app.exception_handler(DBAPIError)
    async def _dbapi(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            return await _unavailable(request, exc)
        log.exception("database error: %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error", "code": "internal"}, status_code=500)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error: %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error", "code": "internal"}, status_code=500)
