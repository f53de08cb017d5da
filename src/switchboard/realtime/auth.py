"""Socket authentication: the same `verify_jwt` as HTTP, fed from the handshake."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie

from switchboard.auth.tokens import TokenClaims, TokenService
from switchboard.errors import AuthError
from switchboard.transport import ConnectRefused, Handshake

COOKIE_NAME = "auth_token"


def cookie_token(cookie_header: str | None) -> str | None:
    """The `auth_token` value from a Cookie header, tolerant of malformed cookies."""
    if not cookie_header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        # One malformed cookie from another app on the domain must not hide ours.
        for part in cookie_header.split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE_NAME and value:
                return value
        return None
    morsel = jar.get(COOKIE_NAME)
    return morsel.value if morsel and morsel.value else None


def handshake_token(handshake: Handshake, auth: object) -> str | None:
    """Cookie first (browsers), then `auth.token` of the CONNECT payload (other clients)."""
    token = cookie_token(handshake.header("cookie"))
    if token:
        return token
    if isinstance(auth, dict):
        candidate = auth.get("token")
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


def authenticate_handshake(tokens: TokenService, handshake: Handshake, auth: object) -> TokenClaims:
    """Claims of the handshake's token, or the SPEC's `connect_error` as an exception."""
    try:
        return tokens.verify(handshake_token(handshake, auth))
    except AuthError as exc:
        raise ConnectRefused(exc.to_connect_error()) from None
