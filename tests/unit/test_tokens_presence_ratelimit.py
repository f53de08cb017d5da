"""Units that need no server: verify_jwt, LocalPresence, TokenBucket, the public API."""

from __future__ import annotations

import time

import jwt
import pytest

from switchboard.auth.tokens import TokenService, verify_jwt
from switchboard.errors import InvalidTokenError, MissingTokenError, TokenExpiredError
from switchboard.realtime.backends.memory import LocalPresence
from switchboard.realtime.ratelimit import TokenBucket
from switchboard.types import Sid

KEY = "k" * 64
# Fixed instants, not time.time(): the tokens are built at collection time and
# are test ids, which every pytest-xdist worker must compute alike.
EXPIRED = 1_000_000_000  # 2001
FAR_FUTURE = 4_102_444_800  # 2100


def test_issue_and_verify_round_trip() -> None:
    tokens = TokenService(KEY, 60)
    claims = tokens.verify(tokens.issue(42, "a@example.com"))
    assert claims.user_id == 42
    assert claims.email == "a@example.com"
    assert claims.expires_at > time.time()


@pytest.mark.parametrize(
    ("token", "error"),
    [
        (None, MissingTokenError),
        ("", MissingTokenError),
        ("abc", InvalidTokenError),
        (
            jwt.encode({"sub": "1", "exp": EXPIRED}, KEY, algorithm="HS256"),
            TokenExpiredError,
        ),
        (jwt.encode({"sub": "1"}, KEY, algorithm="HS256"), InvalidTokenError),
        (
            jwt.encode({"sub": "x1", "exp": FAR_FUTURE}, KEY, algorithm="HS256"),
            InvalidTokenError,
        ),
        (
            jwt.encode({"sub": "-1", "exp": FAR_FUTURE}, KEY, algorithm="HS256"),
            InvalidTokenError,
        ),
        (
            jwt.encode({"sub": "1" * 30, "exp": FAR_FUTURE}, KEY, algorithm="HS256"),
            InvalidTokenError,
        ),
        (
            jwt.encode({"sub": "1", "exp": FAR_FUTURE}, KEY, algorithm="HS512"),
            InvalidTokenError,
        ),
        (
            jwt.encode({"sub": "1", "exp": FAR_FUTURE}, None, algorithm="none"),
            InvalidTokenError,
        ),  # type: ignore[arg-type]
    ],
)
def test_verify_jwt_refusals(token: str | None, error: type[Exception]) -> None:
    with pytest.raises(error):
        verify_jwt(token, KEY)


async def test_local_presence_counts_sockets() -> None:
    p = LocalPresence()
    assert await p.add(1, Sid("a")) is True
    assert await p.add(1, Sid("b")) is False
    assert await p.online_status_bulk([1, 2]) == {1: True, 2: False}
    assert await p.remove(1, Sid("a")) is False
    assert await p.is_online(1)
    assert await p.remove(1, Sid("zzz")) is False
    assert await p.remove(1, Sid("b")) is True
    assert await p.online_user_ids() == set()


def test_token_bucket_allows_bursts_of_twice_the_rate() -> None:
    bucket = TokenBucket(5)
    assert sum(bucket.take() for _ in range(20)) == 10
