"""The `on_revoked` hook the realtime layer uses: fired on every node, once per revocation.

In-process (two RevocationService instances sharing one database and a real
redis-server), because the hook is a Python API, not something on the wire.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from switchboard.auth.revocation import RevocationService
from switchboard.auth.tokens import TokenService
from switchboard.config import Settings
from switchboard.errors import InvalidTokenError
from switchboard.realtime.backends.redis import REVOCATION_CHANNEL, RedisChannel
from switchboard.storage.database import Database
from switchboard.storage.migrate import upgrade_database
from switchboard.storage.models import User
from tests.support.redis import RedisProcess

pytestmark = pytest.mark.cluster

SECRET = "hook-test-secret-" + "h" * 32


async def _node(
    db: Database, redis: RedisProcess
) -> tuple[TokenService, list[tuple[int, str | None]]]:
    channel = RedisChannel(redis.url, REVOCATION_CHANNEL)
    revocations = RevocationService(db, channel, sync_seconds=30)
    tokens = TokenService(SECRET, 3600, session_max_seconds=86400, revocations=revocations)
    heard: list[tuple[int, str | None]] = []

    async def listener(user_id: int, jti: str | None) -> None:
        heard.append((user_id, jti))

    tokens.on_revoked(listener)
    await revocations.start()
    return tokens, heard


async def _until(check: object, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_on_revoked_fires_on_every_node(tmp_path: Path, redis_server: RedisProcess) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'hook.db'}")
    db_a, db_b = Database(settings), Database(settings)
    await upgrade_database(db_a)
    async with db_a.session() as session:
        user = User(email="hook@example.com", name="Hook", password_hash="x")
        session.add(user)
        await session.commit()
    (a, heard_a), (b, heard_b) = await _node(db_a, redis_server), await _node(db_b, redis_server)
    assert a.revocations is not None
    try:
        # Let B's subscriber settle before the first publish.
        await asyncio.sleep(0.5)
        token = a.issue(user.id, user.email)
        claims = b.verify(token)
        assert claims.jti is not None

        await a.revocations.revoke_token(user.id, claims.jti, claims.expires_at)
        assert heard_a == [(user.id, claims.jti)]
        await _until(lambda: heard_b == [(user.id, claims.jti)])
        with pytest.raises(InvalidTokenError):
            b.verify(token)

        other = b.verify(a.issue(user.id, user.email))
        await a.revocations.revoke_all(user.id)
        await _until(lambda: (user.id, None) in heard_b)
        assert heard_a[-1] == (user.id, None)
        with pytest.raises(InvalidTokenError):
            b.verify(a.issue(user.id, user.email, session_start=other.session_start))
        # Each node heard each revocation once (its own echo is not a second one).
        await asyncio.sleep(0.3)
        assert len(heard_a) == 2
        assert len(heard_b) == 2
    finally:
        for node in (a, b):
            assert node.revocations is not None
            await node.revocations.stop()
            assert isinstance(node.revocations.channel, RedisChannel)
            await node.revocations.channel.close()
        await db_a.dispose()
        await db_b.dispose()
