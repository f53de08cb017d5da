"""On a SQLite file, write transactions run on the event loop, never waiting there for a lock.

A thread hand-off per transaction cost more than the transaction itself
(storage/database.py). When another connection holds SQLite's write lock, the
inline attempt fails at once (busy timeout 0) and the transaction runs again
on the writer thread, which waits for the lock while the loop goes on.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from switchboard.config import Settings
from switchboard.storage.database import Database


def _database(tmp_path: Path, *, inline: bool = True) -> Database:
    url = f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"
    return Database(Settings(database_url=url, sqlite_inline_writes=inline))


async def _create_table(db: Database) -> None:
    await db.run_write(lambda conn: conn.exec_driver_sql("CREATE TABLE t (v INTEGER PRIMARY KEY)"))


def _values(conn: Connection) -> list[int]:
    return [row[0] for row in conn.exec_driver_sql("SELECT v FROM t ORDER BY v")]


class _Insert:
    """Inserts one value; remembers the thread of every attempt."""

    def __init__(self, value: int) -> None:
        self.value = value
        self.threads: list[int] = []

    def __call__(self, conn: Connection) -> int:
        self.threads.append(threading.get_ident())
        conn.exec_driver_sql("INSERT INTO t (v) VALUES (?)", (self.value,))
        return self.value


@pytest.mark.parametrize("inline", [True, False])
async def test_writes_run_on_the_loop_unless_turned_off(tmp_path: Path, inline: bool) -> None:
    db = _database(tmp_path, inline=inline)
    try:
        await _create_table(db)
        work = _Insert(1)
        assert await db.run_write(work) == 1
        on_loop = work.threads == [threading.get_ident()]
        assert on_loop is inline
        assert await db.run_read(_values) == [1]
    finally:
        await db.dispose()


async def test_a_locked_database_is_waited_for_off_the_loop(tmp_path: Path) -> None:
    db = _database(tmp_path)
    other = sqlite3.connect(tmp_path / "w.db", isolation_level=None)
    try:
        await _create_table(db)
        other.execute("BEGIN IMMEDIATE")  # another process's writer holds the lock
        other.execute("INSERT INTO t (v) VALUES (1)")
        work = _Insert(2)
        pending = asyncio.ensure_future(db.run_write(work))
        ticks = 0
        while len(work.threads) < 2 and ticks < 500:  # the loop keeps turning meanwhile
            await asyncio.sleep(0.01)
            ticks += 1
        assert not pending.done()
        assert db.busy_fallbacks == 1
        # The inline attempt failed at once and rolled back; the retry waits on its thread.
        assert work.threads[0] == threading.get_ident()
        assert work.threads[1] != threading.get_ident()
        other.execute("COMMIT")
        assert await asyncio.wait_for(pending, 10) == 2
        assert await db.run_read(_values) == [1, 2]
        # The next write is inline again.
        follow = _Insert(3)
        await db.run_write(follow)
        assert follow.threads == [threading.get_ident()]
        assert db.busy_fallbacks == 1
    finally:
        other.close()
        await db.dispose()


async def test_other_errors_are_raised_not_retried(tmp_path: Path) -> None:
    db = _database(tmp_path)
    try:
        await _create_table(db)
        await db.run_write(_Insert(1))
        again = _Insert(1)
        with pytest.raises(IntegrityError):
            await db.run_write(again)
        assert len(again.threads) == 1
        assert db.busy_fallbacks == 0
        await db.run_write(_Insert(2))  # the connection is usable after the failure
        assert await db.run_read(_values) == [1, 2]
    finally:
        await db.dispose()
