"""Host mode with ES256 keys from a JWKS endpoint: fetched, cached, rotated, and its outages."""

from __future__ import annotations

import uuid

import httpx

from tests.auth.hostkeys import AUDIENCE, ISSUER, JwksServer, KeyPair
from tests.conftest import ServerFactory


def _env(jwks: JwksServer, **extra: str) -> dict[str, str]:
    return {
        "SWITCHBOARD_JWT_ALGORITHMS": "ES256",
        "SWITCHBOARD_JWKS_URL": jwks.url,
        "SWITCHBOARD_JWT_ISSUER": ISSUER,
        "SWITCHBOARD_JWT_AUDIENCE": AUDIENCE,
        **extra,
    }


async def _status(url: str, token: str) -> tuple[int, str]:
    async with httpx.AsyncClient(base_url=url) as http:
        r = await http.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    body = r.json()
    return r.status_code, body.get("detail") or body["user"]["external_id"]


async def test_keys_are_fetched_once_and_a_rotated_key_is_picked_up(
    server_factory: ServerFactory,
) -> None:
    old, new = KeyPair.ec("2026-old"), KeyPair.ec("2026-new")
    with JwksServer([old]) as jwks:
        srv = server_factory(env=_env(jwks, SWITCHBOARD_JWKS_REFRESH_MIN_SECONDS="0"))
        sub = f"auth0|{uuid.uuid4().hex}"
        assert await _status(srv.url, old.token(sub)) == (200, sub)
        assert await _status(srv.url, old.token(sub, name="again")) == (200, sub)
        assert jwks.fetches == 1  # the second token was checked against the cached set
        # The host rotates: the set now has the new key (and keeps the old one a while).
        jwks.keys = [old, new]
        assert await _status(srv.url, new.token(sub)) == (200, sub)
        assert jwks.fetches == 2  # the unknown kid refetched the set
        # A kid that is in no set is refused, not a 500.
        stranger = KeyPair.ec("never-published")
        assert await _status(srv.url, stranger.token(sub)) == (401, "invalid_token")


async def test_an_unknown_kid_refetches_at_most_once_per_cooldown(
    server_factory: ServerFactory,
) -> None:
    known = KeyPair.ec("known")
    with JwksServer([known]) as jwks:
        srv = server_factory(env=_env(jwks, SWITCHBOARD_JWKS_REFRESH_MIN_SECONDS="3600"))
        assert (await _status(srv.url, known.token()))[0] == 200
        before = jwks.fetches
        for i in range(5):
            forged = KeyPair.ec(f"forged-{i}")
            assert await _status(srv.url, forged.token()) == (401, "invalid_token")
        # A flood of made-up kids cannot make the server hammer the host's endpoint.
        assert jwks.fetches == before


async def test_an_unreachable_jwks_refuses_with_invalid_token_and_logs_one_line(
    server_factory: ServerFactory,
) -> None:
    key = KeyPair.ec("k1")
    with JwksServer([key]) as jwks:
        jwks.down = True
        srv = server_factory(env=_env(jwks))
        for _ in range(3):
            assert await _status(srv.url, key.token()) == (401, "invalid_token")
        assert srv.log().count("JWKS fetch failed") == 1
        jwks.down = False
        assert (await _status(srv.url, key.token()))[0] == 200
        assert "JWKS fetch works again" in srv.log()


async def test_an_rs256_token_is_refused_by_an_es256_server(server_factory: ServerFactory) -> None:
    es, rs = KeyPair.ec("es"), KeyPair.rsa("rs")
    with JwksServer([es, rs]) as jwks:
        srv = server_factory(env=_env(jwks))
        # RS256 is published in the set but not among the configured algorithms.
        assert await _status(srv.url, rs.token()) == (401, "invalid_token")
        assert (await _status(srv.url, es.token()))[0] == 200
