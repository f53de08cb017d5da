"""`Database.run_write` / `run_read`: one transaction per call, serialised writers, rollbacks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Connection, select, update

from switchboard.storage.database import Database
from switchboard.storage.models import User
from tests.support.database import migrated


async def _database(url: str, tmp_path: Path) -> Database:
    db = await migrated(tmp_path, url=url)
    async with db.session() as session:
        session.add(User(email="counter@example.com", name="0", password_hash="x"))
        await session.commit()
    return db


def _increment(conn: Connection) -> int:
    name = conn.execute(select(User.name)).scalar_one()
    conn.execute(update(User).values(name=str(int(name) + 1)))
    return int(name) + 1


def _name(conn: Connection) -> str:
    return str(conn.execute(select(User.name)).scalar_one())


@pytest.mark.parametrize("in_memory", [False, True])
async def test_writes_commit_one_at_a_time_and_reads_see_them(
    tmp_path: Path, in_memory: bool
) -> None:
    url = "sqlite+aiosqlite://" if in_memory else f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"
    db = await _database(url, tmp_path)
    try:
        # Read-modify-write from 50 concurrent callers: no lost update.
        results = await asyncio.gather(*(db.run_write(_increment) for _ in range(50)))
        assert sorted(results) == list(range(1, 51))
        assert await db.run_read(_name) == "50"
        async with db.session() as session:  # the ORM side sees the same commits
            assert await session.scalar(select(User.name)) == "50"
    finally:
        await db.dispose()


async def test_a_failing_write_rolls_back_and_the_next_one_runs(tmp_path: Path) -> None:
    db = await _database(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", tmp_path)

    def half_then_fail(conn: Connection) -> None:
        conn.execute(update(User).values(name="half"))
        raise RuntimeError("refused halfway")

    try:
        with pytest.raises(RuntimeError, match="refused halfway"):
            await db.run_write(half_then_fail)
        assert await db.run_read(_name) == "0"
        assert await db.run_write(_increment) == 1
    finally:
        await db.dispose()


async def test_the_database_can_be_used_again_after_dispose(tmp_path: Path) -> None:
    db = await _database(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", tmp_path)
    await db.run_write(_increment)
    await db.dispose()
    try:
        assert await db.run_write(_increment) == 2
    finally:
        await db.dispose()


def _pragmas(conn: Connection) -> dict[str, int | str]:  # journal_mode is a name
    names = ("journal_mode", "synchronous", "foreign_keys", "temp_store", "wal_autocheckpoint")
    return {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar_one() for name in names}


async def test_every_sqlite_connection_is_set_up_alike(tmp_path: Path) -> None:
    """Writers, readers and the ORM's connections: WAL, NORMAL, FKs, temp store in memory.

    temp_store=MEMORY keeps a many-row statement's journal out of a temporary
    file (bench/sqlite_batch.py); the others are the durability of operations.md.
    """
    db = await _database(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", tmp_path)
    expected = {
        "journal_mode": "wal",
        "synchronous": 1,  # NORMAL
        "foreign_keys": 1,
        "temp_store": 2,  # MEMORY
        "wal_autocheckpoint": 0,
    }
    try:
        assert await db.run_write(_pragmas) == expected
        assert await db.run_read(_pragmas) == expected
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_pragmas) == expected
    finally:
        await db.dispose()
