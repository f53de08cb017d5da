"""The one place an exception becomes an HTTP error response. No tracebacks leave.

Refusals are raised from the tree in `switchboard.errors` and answered with
their own `to_body()` and `status`. Faults of the parts we stand on are
translated here into that tree: an unreachable database or shared backend is
`UnavailableError` (503), anything unexpected is `InternalError` (500, logged
with the request, nothing of it sent).
"""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from switchboard.errors import (
    AppError,
    AuthError,
    InternalError,
    RateLimitedError,
    UnavailableError,
)
from switchboard.realtime.backends import BackendUnavailable

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


def error_response(exc: AppError | AuthError) -> JSONResponse:
    """The response for a refusal of the error tree."""
    headers: dict[str, str] = {}
    if isinstance(exc, AuthError):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
        headers["Retry-After"] = retry_after_header(exc.retry_after)
    return JSONResponse(exc.to_body(), status_code=exc.status, headers=headers or None)


def answer_unavailable(app: FastAPI, *faults: type[Exception], what: str) -> None:
    """Answer 503 `unavailable` when one of `faults` escapes a request (`what` is down)."""

    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("%s unavailable: %s %s: %s", what, request.method, request.url.path, exc)
        return error_response(UnavailableError(f"{what} unavailable, try again"))

    for fault in faults:
        app.add_exception_handler(fault, _unavailable)


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
        return error_response(exc)

    @app.exception_handler(AuthError)
    async def _auth_error(_request: Request, exc: AuthError) -> JSONResponse:
        return error_response(exc)

    answer_unavailable(app, OperationalError, PoolTimeoutError, OSError, what="database")
    answer_unavailable(app, BackendUnavailable, what="shared backend")

    @app.exception_handler(DBAPIError)
    async def _dbapi(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            log.warning("database unavailable: %s %s: %s", request.method, request.url.path, exc)
            return error_response(UnavailableError("database unavailable, try again"))
        log.exception("database error: %s %s", request.method, request.url.path)
        return error_response(InternalError())

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error: %s %s", request.method, request.url.path)
        return error_response(InternalError())
