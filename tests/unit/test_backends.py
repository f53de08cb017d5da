"""The backend is chosen once, from SWITCHBOARD_REDIS_URL, and redis is imported only for Redis."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.config import Settings, load_settings
from switchboard.errors import ConfigError
from switchboard.metrics import Metrics
from switchboard.realtime.backends import open_backend
from switchboard.realtime.backends.memory import LocalPresence, MemoryBackend, MemoryLog
from tests.support.imports import loaded_packages

SRC = Path(__file__).resolve().parents[2] / "src"


async def _ignore(_user_id: int, _online: bool) -> None:
    return None


def test_no_url_is_the_memory_backend(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", redis_url=None)
    backend = open_backend(settings, node_id="n1", metrics=Metrics())
    assert isinstance(backend, MemoryBackend)
    assert backend.shared_buckets is None
    assert backend.revocations is None
    assert dict(backend.health_checks) == {}
    assert isinstance(backend.event_log(0), MemoryLog)
    assert isinstance(backend.presence(_ignore), LocalPresence)


async def test_a_redis_url_is_the_redis_backend() -> None:
    # Building clients does not connect, so no redis-server is needed here.
    settings = Settings(redis_url="redis://127.0.0.1:1/0")
    backend = open_backend(settings, node_id="n1", metrics=Metrics())
    try:
        assert backend.name == "redis"
        assert backend.shared_buckets is not None
        assert backend.revocations is not None
        assert set(backend.health_checks) == {"redis"}
    finally:
        await backend.close()


@pytest.mark.parametrize("url", ["localhost:6379", "http://redis:6379", "memcached://x"])
def test_a_url_no_backend_serves_is_refused_at_start(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWITCHBOARD_REDIS_URL", url)
    with pytest.raises(ConfigError, match=r"SWITCHBOARD_REDIS_URL.*redis://"):
        load_settings()


def test_the_embedded_default_never_imports_redis(tmp_path: Path) -> None:
    code = (
        "from switchboard.app import create_app\n"
        "from switchboard.config import Settings\n"
        f"create_app(Settings(database_url='sqlite+aiosqlite:///{tmp_path / 'x.db'}',"
        f" data_dir='{tmp_path}', redis_url=None))\n"
    )
    assert loaded_packages(code, {"redis"}, cwd=tmp_path) == []
