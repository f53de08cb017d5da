"""Verifying the host app's JWTs: algorithms, keys (secret, PEM or JWKS), `iss`/`aud`, claims.

Configured by the `SWITCHBOARD_JWT_*` / `SWITCHBOARD_JWKS_*` settings
(docs/host-auth.md). The algorithm list is pinned on every decode, so `none`
and a token that names another algorithm than the key's are refused; an
algorithm set mixing HMAC with public keys never gets this far
(`config.host_token_problem`).
"""

from __future__ import annotations

import asyncio
import logging
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from switchboard.config import HMAC_ALGORITHMS, Settings, host_token_problem
from switchboard.errors import ConfigError, InvalidTokenError, MissingTokenError, TokenExpiredError

log = logging.getLogger("switchboard.auth")

# Host ids are opaque strings (`auth0|…`, UUIDs, decimal ids); bounded like the column.
MAX_EXTERNAL_ID_CHARS = 255
MAX_NAME_CHARS = 100
_VERIFIED_CACHE_SIZE = 4096

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


@dataclass(frozen=True, slots=True)
class HostIdentity:
    """Who a valid host token says the caller is."""

    external_id: str
    name: str | None  # None: the claims name nobody
    expires_at: float
    issued_at: float | None


def external_id_of(value: object) -> str | None:
    """A host user id as a string, or None when it cannot be one (too long, control characters)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value or len(value) > MAX_EXTERNAL_ID_CHARS:
        return None
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        return None
    return value


def display_name(claims: dict[str, Any], name_claims: list[str]) -> str | None:
    """The first non-empty name claim, bounded; None when no claim names the user."""
    for claim in name_claims:
        value = claims.get(claim)
        if isinstance(value, str):
            cleaned = "".join(ch for ch in value if not unicodedata.category(ch).startswith("C"))
            if cleaned.strip():
                return cleaned.strip()[:MAX_NAME_CHARS]
    return None


def load_public_key(value: str, algorithms: list[str]) -> PublicKey:
    """`SWITCHBOARD_JWT_PUBLIC_KEY`: PEM text, or the path of a file holding it."""
    text = value if "-----BEGIN" in value else _read_key_file(value)
    try:
        key = load_pem_public_key(text.encode())
    except ValueError:
        raise ConfigError(
            "invalid setting SWITCHBOARD_JWT_PUBLIC_KEY: not a PEM public key "
            "(-----BEGIN PUBLIC KEY-----)"
        ) from None
    wanted: type[Any] = (
        rsa.RSAPublicKey if algorithms[0][:2] in ("RS", "PS") else ec.EllipticCurvePublicKey
    )
    families = {a[:2] in ("RS", "PS") for a in algorithms}
    if len(families) != 1 or not isinstance(key, wanted):
        raise ConfigError(
            "invalid setting SWITCHBOARD_JWT_PUBLIC_KEY: the key does not fit "
            f"SWITCHBOARD_JWT_ALGORITHMS={','.join(algorithms)}"
        )
    assert isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
    return key


def _read_key_file(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise ConfigError(
            f"invalid setting SWITCHBOARD_JWT_PUBLIC_KEY: cannot read {path}: {exc.strerror}"
        ) from None


class HostTokenVerifier:
    """`verify(token)`: the host identity a token proves, or an AuthError."""

    def __init__(self, settings: Settings) -> None:
        problem = host_token_problem(settings)
        if problem is not None:
            raise ConfigError(problem)
        if not settings.jwt_algorithms:
            raise ConfigError(
                "invalid setting SWITCHBOARD_JWT_ALGORITHMS: required for host tokens"
            )
        self._algorithms = list(settings.jwt_algorithms)
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._user_claim = settings.jwt_user_claim
        self._name_claims = list(settings.jwt_name_claims)
        self._key: str | PublicKey | None = None
        self._jwks: jwt.PyJWKClient | None = None
        if set(self._algorithms) <= HMAC_ALGORITHMS:
            assert settings.jwt_secret is not None  # host_token_problem requires it
            self._key = settings.jwt_secret
        elif settings.jwt_public_key:
            self._key = load_public_key(settings.jwt_public_key, self._algorithms)
        else:
            assert settings.jwks_url is not None
            # PyJWKClient caches the key set for `lifespan` seconds and refetches it
            # once for an unknown `kid` (a rotation), at most every `cooldown_duration`.
            self._jwks = jwt.PyJWKClient(
                settings.jwks_url,
                cache_jwk_set=True,
                lifespan=settings.jwks_cache_seconds,
                timeout=settings.jwks_timeout_seconds,
                cooldown_duration=settings.jwks_refresh_min_seconds,
            )
        self._jwks_failing = False
        self._verified: dict[str, HostIdentity] = {}

    async def verify(self, token: str | None) -> HostIdentity:
        """Raises MissingTokenError, TokenExpiredError or InvalidTokenError."""
        if not token:
            raise MissingTokenError()
        cached = self._verified.get(token)
        if cached is not None and cached.expires_at > time.time():
            return cached
        key = await self._jwks_key(token) if self._key is None else self._key
        identity = self._decode(token, key)
        if len(self._verified) >= _VERIFIED_CACHE_SIZE:
            del self._verified[next(iter(self._verified))]  # the oldest entry
        self._verified[token] = identity
        return identity

    async def _jwks_key(self, token: str) -> jwt.PyJWK:
        assert self._jwks is not None
        try:
            # PyJWKClient fetches with urllib (blocking): keep it off the event loop.
            key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
        except jwt.PyJWKClientConnectionError as exc:
            if not self._jwks_failing:  # one line per outage, not one per handshake
                self._jwks_failing = True
                log.warning("JWKS fetch failed; host tokens are refused until it works: %s", exc)
            raise InvalidTokenError("signing keys unavailable") from None
        except jwt.PyJWTError:
            # Malformed token, unknown `kid` after the refetch, or an unusable key set.
            raise InvalidTokenError() from None
        if self._jwks_failing:
            self._jwks_failing = False
            log.info("JWKS fetch works again")
        return key

    def _decode(self, token: str, key: str | PublicKey | jwt.PyJWK) -> HostIdentity:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=self._algorithms,
                issuer=self._issuer,
                audience=self._audience,
                options={
                    "require": ["exp", self._user_claim],
                    # No audience configured: a token's `aud` is not ours to judge.
                    "verify_aud": self._audience is not None,
                },
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpiredError() from None
        except jwt.PyJWTError:
            raise InvalidTokenError() from None
        external_id = external_id_of(claims.get(self._user_claim))
        exp = claims.get("exp")
        iat = claims.get("iat")
        if external_id is None or isinstance(exp, bool) or not isinstance(exp, int | float):
            raise InvalidTokenError()
        issued = float(iat) if isinstance(iat, int | float) and not isinstance(iat, bool) else None
        return HostIdentity(
            external_id=external_id,
            name=display_name(claims, self._name_claims),
            expires_at=float(exp),
            issued_at=issued,
        )
