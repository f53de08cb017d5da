"""Socket authentication: the same credential check as HTTP, fed from the handshake."""

from __future__ import annotations

from switchboard.auth.credentials import Credentials, extract
from switchboard.auth.tokens import TokenClaims, TokenService
from switchboard.config import Settings
from switchboard.errors import AuthError
from switchboard.transport import ConnectRefused, Handshake


def handshake_credentials(settings: Settings, handshake: Handshake, auth: object) -> Credentials:
    """The CONNECT payload's `auth.token` (or the header) first, then the cookie."""
    return extract(
        handshake.headers,
        cookie_name=settings.auth_cookie,
        header_name=settings.auth_header,
        auth_payload=auth,
    )


async def authenticate_handshake(
    tokens: TokenService, settings: Settings, handshake: Handshake, auth: object
) -> TokenClaims:
    """Claims of the handshake's credentials, or the SPEC's `connect_error` as an exception."""
    try:
        return await tokens.authenticate_credentials(
            handshake_credentials(settings, handshake, auth), confirm_user=False
        )
    except AuthError as exc:
        raise ConnectRefused(exc.to_connect_error()) from None
