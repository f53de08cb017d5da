"""Shared fixtures: a real server per session (and a factory for custom ones)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from tests.support.clients import Account, register
from tests.support.redis import RedisProcess
from tests.support.server import ServerProcess

ServerFactory = Callable[..., ServerProcess]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One shared server on the embedded default (SQLite), rate limit off."""
    proc = ServerProcess(
        tmp_path_factory.mktemp("server"), env={"SWITCHBOARD_RATE_LIMIT": "0"}
    ).start()
    yield proc
    proc.stop()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[ServerFactory]:
    """Start servers with their own settings; each is stopped (by PID) after the test."""
    started: list[ServerProcess] = []

    def make(
        env: dict[str, str] | None = None, workdir: Path | None = None, start: bool = True
    ) -> ServerProcess:
        proc = ServerProcess(workdir or tmp_path / f"s{len(started)}", env=env)
        started.append(proc)
        return proc.start() if start else proc

    yield make
    for proc in started:
        proc.stop()


@pytest.fixture
async def user(server: ServerProcess) -> Account:
    return await register(server.url)


@pytest.fixture
def users(server: ServerProcess) -> Callable[[], Awaitable[Account]]:
    """`await users()` registers one more user on the shared server."""

    async def make() -> Account:
        return await register(server.url)

    return make


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisProcess]:
    """A fresh redis-server for one test, stopped by PID afterwards."""
    proc = RedisProcess(tmp_path / "redis").start()
    yield proc
    proc.stop()
