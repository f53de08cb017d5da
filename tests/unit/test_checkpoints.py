"""WAL checkpoints run on the checkpointer's thread, never inside a commit.

SQLite's automatic checkpoint would copy the WAL back (and fsync) inside the
commit that crosses 1,000 pages: one send in a few hundred waited for it. Our
connections turn it off; `WalCheckpointer` does the copying between commits.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from sqlalchemy import Connection, create_engine

from switchboard.config import Settings
from switchboard.storage.checkpoints import WalCheckpointer, checkpoint
from switchboard.storage.database import Database
from tests.support.inprocess import app_context

PAGE = 4096
ROW = b"x" * 4000  # about a page a row


def _database(tmp_path: Path) -> Database:
    return Database(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'wal.db'}"))


async def _create(db: Database) -> None:
    await db.run_write(lambda conn: conn.exec_driver_sql("CREATE TABLE blobs (body BLOB)"))


async def _write_pages(db: Database, pages: int, per_transaction: int = 10) -> None:
    def insert(conn: Connection) -> None:
        conn.exec_driver_sql("INSERT INTO blobs VALUES (?)", [(ROW,)] * per_transaction)

    for _ in range(pages // per_transaction):
        await db.run_write(insert)


async def _rounds(checkpointer: WalCheckpointer, count: int) -> None:
    deadline = asyncio.get_running_loop().time() + 10
    while checkpointer.rounds < count:
        assert asyncio.get_running_loop().time() < deadline, "the checkpointer ran no round"
        await asyncio.sleep(0.01)


def _wal_size(tmp_path: Path) -> int:
    wal = tmp_path / "wal.db-wal"
    return wal.stat().st_size if wal.exists() else 0


async def test_commits_never_checkpoint(tmp_path: Path) -> None:
    db = _database(tmp_path)  # not started: no checkpointer rounds
    try:
        await _create(db)
        await _write_pages(db, 3000)
        # With SQLite's automatic checkpoint the WAL restarts after ~1,000 pages.
        assert _wal_size(tmp_path) > 2500 * PAGE
        own = create_engine(f"sqlite:///{tmp_path / 'wal.db'}")  # the test's own connection
        done = checkpoint(own)
        own.dispose()
        assert done.wal_frames > 2500
        assert done.copied == done.wal_frames
    finally:
        await db.dispose()
    assert not (tmp_path / "wal.db-wal").exists()  # the last close checkpoints and removes it


async def test_the_checkpointer_keeps_the_wal_short(tmp_path: Path) -> None:
    db = _database(tmp_path)
    checkpointer = db.checkpointer
    assert checkpointer is not None
    checkpointer.interval = 0.02  # rounds at test speed
    db.start()
    try:
        await _create(db)
        for _ in range(10):
            await _write_pages(db, 300)
            # Two rounds: one that began after this burst's last commit.
            await _rounds(checkpointer, checkpointer.rounds + 2)
        # 3,000 pages written in all; each burst's were copied back before the next,
        # so the WAL file was reused from its start.
        assert _wal_size(tmp_path) < 1000 * PAGE
    finally:
        await db.dispose()
    assert not any(t.name.startswith("sqlite-checkpoint") for t in threading.enumerate())


async def test_the_wal_starts_over_under_writes_that_never_pause(tmp_path: Path) -> None:
    """A commit lands during every PASSIVE round, so only a catch-up under the lock resets it."""
    db = _database(tmp_path)
    checkpointer = db.checkpointer
    assert checkpointer is not None
    checkpointer.interval = 0.005
    checkpointer.restart_frames = 200
    db.start()
    try:
        await _create(db)
        largest = 0
        for _ in range(600):  # 6,000 pages, ten a transaction, back to back
            await _write_pages(db, 10)
            await asyncio.sleep(0)  # the loop turns, as it does between a server's requests
            largest = max(largest, _wal_size(tmp_path))
        assert checkpointer.catch_ups > 0
        # Without the catch-ups the file grows by every page written (6,000 and more;
        # with them, 1,000 to 2,200 pages were seen).
        assert largest < 4000 * PAGE
    finally:
        await db.dispose()


async def test_the_app_runs_checkpoints(tmp_path: Path) -> None:
    async with app_context(tmp_path) as ctx:
        checkpointer = ctx.db.checkpointer
        assert checkpointer is not None
        await _rounds(checkpointer, 1)
