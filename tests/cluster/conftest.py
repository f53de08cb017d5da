"""Cluster fixtures: several real nodes sharing one database and one redis-server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.postgres import PostgresProcess
from tests.support.redis import RedisProcess
from tests.support.server import ServerProcess

pytestmark = pytest.mark.cluster

# Short heartbeats so that a dead node is noticed in seconds, not the default 15 s.
NODE_TTL = "2"

Nodes = Callable[..., list[ServerProcess]]
# Generous: the test machine is shared, and a node start is a full Python boot.
START_TIMEOUT = 120.0


@pytest.fixture
def postgres() -> Iterator[PostgresProcess]:
    """A fresh PostgreSQL for one test, stopped by PID and removed afterwards."""
    proc = PostgresProcess().start()
    yield proc
    proc.cleanup()


def cluster_env(redis: RedisProcess, database_url: str, **extra: str) -> dict[str, str]:
    env = {
        "SWITCHBOARD_REDIS_URL": redis.url,
        "SWITCHBOARD_DATABASE_URL": database_url,
        "SWITCHBOARD_NODE_TTL_SECONDS": NODE_TTL,
        "SWITCHBOARD_RATE_LIMIT": "0",
        "SWITCHBOARD_SHUTDOWN_GRACE_SECONDS": "3",
    }
    env.update(extra)
    return env


@pytest.fixture
def nodes(redis_server: RedisProcess, tmp_path: Path) -> Iterator[Nodes]:
    """`nodes(n, database_url=None, **env)`: start n nodes one after the other.

    They share `redis_server` and one database (a SQLite file unless a URL is
    given); each is stopped by PID after the test.
    """
    started: list[ServerProcess] = []

    def start(n: int, database_url: str | None = None, **env: str) -> list[ServerProcess]:
        url = database_url or f"sqlite+aiosqlite:///{tmp_path / 'cluster.db'}"
        batch = []
        for _ in range(n):
            proc = ServerProcess(
                tmp_path / f"node{len(started)}", env=cluster_env(redis_server, url, **env)
            )
            started.append(proc)
            batch.append(proc.start(timeout=START_TIMEOUT))
        return batch

    yield start
    for proc in started:
        proc.stop()


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 30.0, interval: float = 0.2
) -> None:
    """Wait until `check()` is true (a bound, not a timing assertion)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(interval)


async def online_on(node: ServerProcess, token: str, user_ids: list[int]) -> dict[str, bool]:
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as http:
        r = await http.get(
            "/api/presence",
            params={"user_ids": ",".join(map(str, user_ids))},
            headers={"Authorization": f"Bearer {token}"},
        )
        r.raise_for_status()
        online: dict[str, bool] = r.json()["online"]
        return online
