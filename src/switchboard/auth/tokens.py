"""JWT issue and verification: the one `verify_jwt` used by HTTP and sockets alike."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from switchboard.errors import InvalidTokenError, MissingTokenError, TokenExpiredError
from switchboard.types import UserId

ALGORITHM = "HS256"
# A user id fits in a signed 64-bit column; longer digit strings are forged.
_MAX_SUB_DIGITS = 19


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: UserId
    email: str
    expires_at: float


class TokenService:
    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._secret = secret
        self.ttl_seconds = ttl_seconds

    def issue(self, user_id: UserId, email: str, *, ttl_seconds: int | None = None) -> str:
        now = int(time.time())
        ttl = self.ttl_seconds if ttl_seconds is None else ttl_seconds
        claims = {"sub": str(user_id), "email": email, "iat": now, "exp": now + ttl}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str | None) -> TokenClaims:
        return verify_jwt(token, self._secret)


def verify_jwt(token: str | None, secret: str) -> TokenClaims:
    """Check a token: HS256 only, `exp` required, `sub` a decimal user id.

    Raises MissingTokenError, TokenExpiredError, or InvalidTokenError for
    anything else (bad signature, `alg: none`, other algorithms, bad claims).
    """
    if not token:
        raise MissingTokenError()
    try:
        # Pinning algorithms=[HS256] is what refuses `none` and RS/HS confusion.
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
        )
    except jwt.ExpiredSignatureError:
        raise TokenExpiredError() from None
    except jwt.PyJWTError:
        raise InvalidTokenError() from None
    sub = claims.get("sub")
    if (
        not isinstance(sub, str)
        or not sub.isascii()
        or not sub.isdigit()
        or len(sub) > _MAX_SUB_DIGITS
    ):
        raise InvalidTokenError()
    exp = claims.get("exp")
    if not isinstance(exp, int | float):
        raise InvalidTokenError()
    email = claims.get("email")
    return TokenClaims(
        user_id=int(sub), email=email if isinstance(email, str) else "", expires_at=float(exp)
    )
