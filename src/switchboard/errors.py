"""One exception tree for Switchboard.

    SwitchboardError
    ├── ConfigError                 bad or missing setting; the server refuses to start
    ├── RealtimeNotStartedError     the emit facade was used before the server started
    ├── AuthError (code)            a token was refused (HTTP 401, socket connect_error)
    │   ├── MissingTokenError       code "missing_token"
    │   ├── InvalidTokenError       code "invalid_token"
    │   ├── TokenExpiredError       code "token_expired"
    │   └── InvalidApiKeyError      code "invalid_api_key" (the internal API's key)
    └── AppError (code, status)     a request was refused; maps to the SPEC's error ack
        ├── InvalidPayloadError     "invalid_payload" (HTTP 422)
        ├── BadCredentialsError     "bad_credentials" (HTTP 401, login only)
        ├── ForbiddenError          "forbidden"       (HTTP 403)
        ├── NotFoundError           "not_found"       (HTTP 404)
        ├── ConflictError           "conflict"        (HTTP 409, HTTP only)
        ├── TooLargeError           "too_large"       (HTTP 413)
        ├── RateLimitedError        "rate_limited"    (HTTP 429)
        ├── UnavailableError        "unavailable"     (HTTP 503, a backing service is down)
        └── InternalError           "internal"        (HTTP 500)

Each error says once what it looks like on the wire: `to_ack()` (a socket
ack), `to_body()` (an HTTP body, sent with `status` by `api/errors.py`, the
only place responses are made from errors) and `to_connect_error()` (a
refused socket CONNECT). Nothing else writes an error body by hand.
"""

from __future__ import annotations

from typing import Any, ClassVar


class SwitchboardError(Exception):
    """Base of every error Switchboard raises on purpose."""


class ConfigError(SwitchboardError):
    """A setting is missing or invalid; the message is one line for the operator."""


class RealtimeNotStartedError(SwitchboardError):
    """The realtime facade was used before the server started (or after it stopped)."""


class AuthError(SwitchboardError):
    code: ClassVar[str] = "invalid_token"
    status: ClassVar[int] = 401

    def __init__(self, message: str = "unauthorized") -> None:
        super().__init__(message)

    def to_body(self) -> dict[str, Any]:
        # The contract puts a token refusal's code in `detail` itself.
        return {"detail": self.code, "code": self.code}

    def to_connect_error(self) -> dict[str, Any]:
        return {"message": "unauthorized", "data": {"code": self.code}}


class MissingTokenError(AuthError):
    code = "missing_token"


class InvalidTokenError(AuthError):
    code = "invalid_token"


class TokenExpiredError(AuthError):
    code = "token_expired"


class InvalidApiKeyError(AuthError):
    code = "invalid_api_key"

    def __init__(self, message: str = "invalid api key") -> None:
        super().__init__(message)


class AppError(SwitchboardError):
    code: ClassVar[str] = "internal"
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "internal error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def to_ack(self) -> dict[str, Any]:
        return {"ok": False, "error": {"code": self.code, "message": self.message}}

    def to_body(self) -> dict[str, Any]:
        return {"detail": self.message, "code": self.code}

    def to_connect_error(self) -> dict[str, Any]:
        return {"message": self.message, "data": {"code": self.code}}


class InvalidPayloadError(AppError):
    code = "invalid_payload"
    status = 422
    default_message = "invalid payload"


class BadCredentialsError(AppError):
    code = "bad_credentials"
    status = 401
    default_message = "invalid email or password"


class ForbiddenError(AppError):
    code = "forbidden"
    status = 403
    default_message = "forbidden"


class NotFoundError(AppError):
    code = "not_found"
    status = 404
    default_message = "not found"


class ConflictError(AppError):
    code = "conflict"
    status = 409
    default_message = "conflict"


class TooLargeError(AppError):
    code = "too_large"
    status = 413
    default_message = "too large"


class RateLimitedError(AppError):
    code = "rate_limited"
    status = 429
    default_message = "rate limited: slow down"

    def __init__(self, message: str | None = None, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        # Seconds until a retry may pass (HTTP sends it as `Retry-After`).
        self.retry_after = retry_after


class UnavailableError(AppError):
    code = "unavailable"
    status = 503
    default_message = "a backing service is unavailable; try again"


class InternalError(AppError):
    code = "internal"
    status = 500
    default_message = "internal error"
