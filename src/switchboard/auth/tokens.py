"""JWT issue and checks: `TokenService.authenticate_credentials` serves HTTP and sockets alike.

Switchboard's own HS256 tokens are checked here; in host mode the check is
handed to `auth.host.HostAuth` (the host's JWTs or its `authenticate` hook).

Every token carries a `jti` (so one token can be revoked) and an `auth_time`,
the start of its session: a refresh keeps it, so `SWITCHBOARD_SESSION_MAX_SECONDS`
bounds how long a chain of refreshes may go on, and "log out everywhere" ends
every session that started before it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import jwt

from switchboard.errors import AuthError, InvalidTokenError, MissingTokenError, TokenExpiredError
from switchboard.types import UserId

if TYPE_CHECKING:
    from switchboard.auth.credentials import Credentials
    from switchboard.auth.host import HostAuth
    from switchboard.auth.revocation import RevocationListener, RevocationService

ALGORITHM = "HS256"
# A user id fits in a signed 64-bit column; longer digit strings are forged.
_MAX_SUB_DIGITS = 19
_MAX_JTI_CHARS = 64
# Tokens whose signature was checked, kept to skip checking it again (bounded).
_VERIFIED_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: UserId
    email: str
    expires_at: float
    jti: str | None = None
    # When the session this token belongs to began (`auth_time`, else `iat`).
    session_start: float | None = None


class UnknownUserError(InvalidTokenError):
    """The token's user is not known here (yet): refused, unless a lookup finds it."""

    def __init__(self, user_id: UserId) -> None:
        super().__init__()
        self.user_id = user_id


class TokenService:
    def __init__(
        self,
        secret: str,
        ttl_seconds: int,
        *,
        session_max_seconds: int | None = None,
        revocations: RevocationService | None = None,
        host: HostAuth | None = None,
    ) -> None:
        self._secret = secret
        # Host mode (docs/host-auth.md): callers are checked by the host's token or hook.
        self.host = host
        self.ttl_seconds = ttl_seconds
        self.session_max_seconds = session_max_seconds
        self.revocations = revocations
        self._verified: dict[str, TokenClaims] = {}

    def issue(
        self,
        user_id: UserId,
        email: str,
        *,
        ttl_seconds: int | None = None,
        session_start: float | None = None,
    ) -> str:
        """A new token; `session_start` continues a session (refresh), else one starts now."""
        now = time.time()
        iat = int(now)
        start = now if session_start is None else session_start
        exp = iat + (self.ttl_seconds if ttl_seconds is None else ttl_seconds)
        if self.session_max_seconds is not None:
            exp = min(exp, int(start + self.session_max_seconds))
            if exp <= iat:
                raise TokenExpiredError()
        claims = {
            "sub": str(user_id),
            "email": email,
            "iat": iat,
            "exp": exp,
            "jti": secrets.token_urlsafe(16),
            "auth_time": start,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def _checked_signature(self, token: str | None) -> TokenClaims:
        """`verify_jwt`, remembered per token string: a user's tabs and namespaces
        present the same token, and a signature that was good stays good. The
        expiry is checked again on every use (and revocation by the caller)."""
        cached = self._verified.get(token) if token else None
        if cached is not None and cached.expires_at > time.time():
            return cached
        claims = verify_jwt(token, self._secret)
        assert token is not None  # verify_jwt refuses a missing one
        verified = self._verified
        if len(verified) >= _VERIFIED_CACHE_SIZE:
            del verified[next(iter(verified))]  # the oldest entry
        verified[token] = claims
        return claims

    def verify(self, token: str | None) -> TokenClaims:
        """Signature, claims, session lifetime, revocation and the user's existence.

        No I/O: revocations and users are held in memory (see `auth.revocation`).
        Raises MissingTokenError, TokenExpiredError or InvalidTokenError
        (UnknownUserError when only the user is not known here).
        """
        claims = self._checked_signature(token)
        if (
            self.session_max_seconds is not None
            and claims.session_start is not None
            and claims.session_start + self.session_max_seconds <= time.time()
        ):
            raise TokenExpiredError()
        revocations = self.revocations
        if revocations is not None:
            if revocations.is_revoked(claims.user_id, claims.jti, claims.session_start):
                raise InvalidTokenError()
            state = revocations.user_state(claims.user_id, claims.session_start)
            if state == "gone":
                raise InvalidTokenError()
            if state == "missing":
                raise UnknownUserError(claims.user_id)
        return claims

    def session_alive(self, user_id: UserId, jti: str | None, session_start: float | None) -> bool:
        """Whether a token already verified (a live socket's) is still good: not revoked since,
        and its user still exists."""
        revocations = self.revocations
        if revocations is None:
            return True
        return (
            not revocations.is_revoked(user_id, jti, session_start)
            and revocations.user_state(user_id, session_start) != "gone"
        )

    async def authenticate(self, token: str | None) -> TokenClaims:
        """`verify`, then settle an unknown user with a database lookup (for callers that can wait).

        The HTTP routes use this: a user registered a moment ago on another
        node is found, a user that does not exist is refused for certain.
        """
        try:
            claims = self.verify(token)
        except UnknownUserError as exc:
            if self.revocations is None or not await self.revocations.lookup_user(exc.user_id):
                raise InvalidTokenError() from None
            return self.verify(token)
        revocations = self.revocations
        if (
            revocations is not None
            and not revocations.knows_user(claims.user_id)
            and not await revocations.lookup_user(claims.user_id)
        ):
            raise InvalidTokenError()
        return claims

    async def authenticate_credentials(
        self, credentials: Credentials, *, confirm_user: bool
    ) -> TokenClaims:
        """The one check of HTTP requests and socket handshakes.

        Tokens are tried in `credentials.tokens` order (explicit, then the
        cookie): the first accepted wins, else the first refusal is raised.
        `confirm_user`: settle an unknown user with a database lookup
        (`authenticate`, for HTTP) rather than the in-memory check (`verify`,
        for handshakes, which accepts a brand-new session while it looks).
        """
        if self.host is not None:
            return await self.host.authenticate(credentials)
        tokens = credentials.tokens
        if not tokens:
            raise MissingTokenError()
        first: AuthError | None = None
        for token in tokens:
            try:
                return await self.authenticate(token) if confirm_user else self.verify(token)
            except AuthError as exc:
                first = first or exc
        assert first is not None
        raise first

    async def verify_presented(self, token: str | None) -> TokenClaims:
        """One token shown on a live socket (`auth:refresh`), own or the host's."""
        if self.host is not None:
            return await self.host.verify_token(token)
        return self.verify(token)

    def on_revoked(self, listener: RevocationListener) -> None:
        """Register `listener(user_id, jti | None)`, called on every node for every revocation.

        `jti` None means every token of that user (log out everywhere, or the
        user no longer exists). The realtime layer ends the matching live sockets.
        """
        if self.revocations is not None:
            self.revocations.add_listener(listener)


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
    jti = claims.get("jti")
    if jti is not None and (not isinstance(jti, str) or not jti or len(jti) > _MAX_JTI_CHARS):
        raise InvalidTokenError()
    start = claims.get("auth_time", claims.get("iat"))
    if start is not None and (isinstance(start, bool) or not isinstance(start, int | float)):
        raise InvalidTokenError()
    email = claims.get("email")
    return TokenClaims(
        user_id=int(sub),
        email=email if isinstance(email, str) else "",
        expires_at=float(exp),
        jti=jti,
        session_start=float(start) if start is not None else None,
    )
