"""Host mode: callers are the host app's users, proven by its JWT or by its `authenticate` hook.

`TokenService` hands every credential check to this when host mode is on
(`build_host_auth`), HTTP and sockets alike. The result is the same
`TokenClaims` as for Switchboard's own tokens, carrying Switchboard's integer
id of the host user (created on first sight, see `UserService.resolve_external`).
Host tokens carry no Switchboard `jti`: revoking them is the host's job (short
`exp`), Switchboard's revocation list applies to its own tokens only.
"""

from __future__ import annotations

import logging
import time

from switchboard.auth.credentials import Credentials
from switchboard.auth.directory import AuthenticateHook, DirectoryUser
from switchboard.auth.host_tokens import HostTokenVerifier, external_id_of
from switchboard.auth.tokens import TokenClaims
from switchboard.auth.users import UserService
from switchboard.config import Settings
from switchboard.errors import AuthError, InvalidTokenError, MissingTokenError

log = logging.getLogger("switchboard.auth")


class HostAuth:
    """Authenticates with the `authenticate` hook when given, else with host JWTs."""

    def __init__(
        self,
        users: UserService,
        *,
        verifier: HostTokenVerifier | None,
        hook: AuthenticateHook | None,
        hook_session_seconds: float,
    ) -> None:
        if verifier is None and hook is None:
            raise ValueError("host mode needs host token settings or an authenticate hook")
        self._users = users
        self._verifier = verifier
        self._hook = hook
        self._hook_session_seconds = hook_session_seconds

    async def authenticate(self, credentials: Credentials) -> TokenClaims:
        """The caller's claims; raises an AuthError (its code is what clients see)."""
        if self._hook is not None:
            return await self._from_hook(credentials)
        tokens = credentials.tokens
        if not tokens:
            raise MissingTokenError()
        first: AuthError | None = None
        for token in tokens:  # explicit first, then the cookie (auth/credentials.py)
            try:
                return await self.verify_token(token)
            except AuthError as exc:
                first = first or exc
        assert first is not None
        raise first

    async def verify_token(self, token: str | None) -> TokenClaims:
        """One host token (also a live socket's `auth:refresh`)."""
        if self._verifier is None:
            # The hook authenticates sessions, not tokens: there is nothing to refresh.
            raise InvalidTokenError("this server authenticates with the host's session")
        identity = await self._verifier.verify(token)
        user_id = await self._users.resolve_external(identity.external_id, identity.name)
        return TokenClaims(
            user_id=user_id,
            email="",
            expires_at=identity.expires_at,
            session_start=identity.issued_at,
        )

    async def _from_hook(self, credentials: Credentials) -> TokenClaims:
        assert self._hook is not None
        try:
            answer = await self._hook(credentials.headers, credentials.cookies)
        except Exception:
            # The host's code failed: the caller is refused, the server stays up.
            log.exception("the authenticate hook failed; refusing the caller")
            raise InvalidTokenError() from None
        if answer is None:
            if not credentials.cookies and not credentials.explicit:
                raise MissingTokenError()
            raise InvalidTokenError()
        raw = answer.external_id if isinstance(answer, DirectoryUser) else answer
        external_id = external_id_of(raw)
        if external_id is None:
            log.warning("the authenticate hook returned an unusable user id; refusing the caller")
            raise InvalidTokenError()
        name = answer.name if isinstance(answer, DirectoryUser) else None
        user_id = await self._users.resolve_external(external_id, name)
        # No token, so no `exp`: a socket lives this long, then reconnects (and asks again).
        return TokenClaims(
            user_id=user_id,
            email="",
            expires_at=time.time() + self._hook_session_seconds,
        )


def build_host_auth(
    settings: Settings, users: UserService, hook: AuthenticateHook | None
) -> HostAuth | None:
    """Host mode's authenticator, or None for Switchboard's own tokens (the default)."""
    if hook is None and not settings.host_tokens:
        return None
    if hook is not None and settings.host_tokens:
        log.warning(
            "an authenticate hook was given: it authenticates every caller, "
            "SWITCHBOARD_JWT_ALGORITHMS and the other host-token settings are not used"
        )
    verifier = HostTokenVerifier(settings) if hook is None else None
    return HostAuth(
        users,
        verifier=verifier,
        hook=hook,
        hook_session_seconds=float(settings.token_ttl_seconds),
    )
