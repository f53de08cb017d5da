"""Units without a server: the GCRA buckets and the new token claims."""

from __future__ import annotations

import time

import jwt
import pytest

from switchboard.auth.tokens import TokenService, verify_jwt
from switchboard.errors import InvalidTokenError, TokenExpiredError
from switchboard.limits import MemoryBuckets, Rule

KEY = "unit-test-key-" + "k" * 32


def test_bucket_spends_its_burst_then_refuses_with_a_wait() -> None:
    buckets = MemoryBuckets()
    rule = Rule("r", limit=3, window=300)  # one back every 100 s
    assert [buckets.hit("k", rule, consume=True) for _ in range(3)] == [None, None, None]
    wait = buckets.hit("k", rule, consume=True)
    assert wait is not None
    assert 99 < wait <= 100
    # Another key has its own budget; a peek does not spend.
    assert buckets.hit("other", rule, consume=False) is None
    assert buckets.hit("other", rule, consume=False) is None
    buckets.reset("k")
    assert buckets.hit("k", rule, consume=True) is None


def test_tokens_carry_jti_and_session_start_and_keep_it_on_refresh() -> None:
    tokens = TokenService(KEY, 3600, session_max_seconds=7200)
    first = tokens.verify(tokens.issue(7, "a@example.com"))
    assert first.jti
    assert first.session_start is not None
    again = tokens.verify(tokens.issue(7, "a@example.com", session_start=first.session_start))
    assert again.session_start == first.session_start
    assert again.jti != first.jti


def test_session_past_its_maximum_cannot_be_refreshed_or_used() -> None:
    tokens = TokenService(KEY, 3600, session_max_seconds=60)
    with pytest.raises(TokenExpiredError):
        tokens.issue(7, "a@example.com", session_start=time.time() - 61)
    old = jwt.encode(
        {"sub": "7", "exp": int(time.time()) + 3600, "auth_time": time.time() - 61},
        KEY,
        algorithm="HS256",
    )
    with pytest.raises(TokenExpiredError):
        tokens.verify(old)


@pytest.mark.parametrize(
    "extra",
    [{"jti": 5}, {"jti": ""}, {"jti": "x" * 65}, {"auth_time": "yesterday"}, {"auth_time": True}],
)
def test_malformed_new_claims_are_invalid(extra: dict[str, object]) -> None:
    token = jwt.encode({"sub": "1", "exp": int(time.time()) + 60, **extra}, KEY, algorithm="HS256")
    with pytest.raises(InvalidTokenError):
        verify_jwt(token, KEY)
