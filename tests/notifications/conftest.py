"""`NOTIFICATIONS_ON_POSTGRES=1`: the shared server of these tests runs on PostgreSQL.

The notification tests that use the shared `server` (delivery, the internal
API, scheduling through a running server) then run against a fresh
PostgreSQL instead of SQLite:

    NOTIFICATIONS_ON_POSTGRES=1 .venv/bin/pytest tests/notifications -q

Tests that start their own servers choose their database themselves
(test_counters.py runs on both; a few scheduling tests edit the SQLite file
directly and stay on SQLite).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.postgres import PostgresProcess
from tests.support.server import ServerProcess


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"SWITCHBOARD_RATE_LIMIT": "0"}
    pg: PostgresProcess | None = None
    if os.environ.get("NOTIFICATIONS_ON_POSTGRES") == "1":
        pg = PostgresProcess().start()
        env["SWITCHBOARD_DATABASE_URL"] = pg.url
    proc = ServerProcess(tmp_path_factory.mktemp("notifications"), env=env).start()
    try:
        yield proc
    finally:
        proc.stop()
        if pg is not None:
            pg.cleanup()
