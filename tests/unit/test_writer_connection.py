"""On SQLite the writer thread keeps one connection from one transaction to the next.

Taking a pooled connection per transaction cost about a third of the writer
thread's work for a lone send (storage/database.py, `_WriterConnection`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event

from switchboard.config import Settings
from switchboard.storage.database import Database


def _database(tmp_path: Path) -> Database:
    return Database(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"))


def _insert(value: int) -> Any:
    def work(conn: Connection) -> None:
        conn.exec_driver_sql("INSERT INTO t (v) VALUES (?)", (value,))

    return work


def _values(conn: Connection) -> list[int]:
    return [row[0] for row in conn.exec_driver_sql("SELECT v FROM t ORDER BY v")]


async def test_transactions_share_one_connection(tmp_path: Path) -> None:
    db = _database(tmp_path)
    opened: list[object] = []

    def count(conn: Connection) -> None:
        opened.append(conn)

    event.listen(Engine, "engine_connect", count)
    try:
        await db.run_write(lambda conn: conn.exec_driver_sql("CREATE TABLE t (v INTEGER)"))
        for value in range(20):
            await db.run_write(_insert(value))
    finally:
        event.remove(Engine, "engine_connect", count)
    try:
        assert len(opened) == 1  # one per transaction before: 21
        assert await db.run_read(_values) == list(range(20))
    finally:
        await db.dispose()


async def test_a_failed_transaction_rolls_back_and_the_next_one_runs(tmp_path: Path) -> None:
    db = _database(tmp_path)
    try:
        await db.run_write(lambda conn: conn.exec_driver_sql("CREATE TABLE t (v INTEGER)"))

        def fails(conn: Connection) -> None:
            _insert(1)(conn)
            raise RuntimeError("the work failed after writing")

        with pytest.raises(RuntimeError):
            await db.run_write(fails)
        await db.run_write(_insert(2))
        assert await db.run_read(_values) == [2]
    finally:
        await db.dispose()
