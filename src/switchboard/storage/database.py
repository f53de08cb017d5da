"""The async engine and session factory, tuned per backend.

SQLite (the embedded default) runs in WAL mode with a busy timeout so that
readers never block the writer and several processes can share one file; its
checkpoints run on a thread of their own, never in a commit (checkpoints.py).
PostgreSQL gets a bounded pool and short timeouts so that an outage turns into
a fast 503 rather than a hang.

The hot paths (a batch of chat messages, the rooms of a connect storm) run as
one synchronous function over a SQLAlchemy `Connection` (`run_write`,
`run_read`). On PostgreSQL that is the async engine's `run_sync` (asyncpg, no
thread). On SQLite they run on plain pysqlite connections of our own:
aiosqlite hands every statement, cursor and commit to its thread and back
(about fifteen context switches for a `SELECT 1`, measured by
`bench/send_path.py`), which made a four-statement batch cost milliseconds of
CPU. Reads go to reader threads. A write transaction runs on the event loop
itself (`sqlite_inline_writes`): a commit in WAL mode with `synchronous=NORMAL`
appends to the WAL without an fsync, so a batch takes well under a millisecond,
less than the two thread switches a hand-off costs. It never waits for
another process's write lock there: with a busy timeout of 0 a locked
database fails at once, and the transaction is run again on the writer
thread, which waits with the usual timeout.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from switchboard.config import Settings
from switchboard.storage.checkpoints import WalCheckpointer
from switchboard.transport.socketio import dumps

T = TypeVar("T")

log = logging.getLogger("switchboard.storage")

# Threads that read SQLite for `run_read` (WAL readers run in parallel with the writer).
SQLITE_READERS = 4


def sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    """Set up each SQLite connection we open (a SQLAlchemy `connect` event listener)."""
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Checkpoints run on their own thread, never inside a commit (checkpoints.py).
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    # A statement that writes many rows keeps a statement journal (the pages it
    # changed, to undo that statement alone); past 64 KiB SQLite spills it to a
    # temporary file: a batch of 16 notification requests (one INSERT of 160
    # rows, the counts, the commit) took 3.3 ms instead of 2.0 (`bench/sqlite_batch.py`).
    # In memory it lives only as long as the statement.
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def create_engine(settings: Settings) -> AsyncEngine:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            from pathlib import Path

            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, json_serializer=dumps, connect_args={"timeout": 10})
        event.listen(engine.sync_engine, "connect", sqlite_on_connect)
        return engine
    return create_async_engine(
        url,
        json_serializer=dumps,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        pool_timeout=5,
        connect_args={"timeout": 5, "command_timeout": 15},
    )


def _sqlite_file_engine(url: URL) -> Engine | None:
    """A pysqlite engine on the same file, or None for an in-memory database."""
    database = url.database or ""
    if not database or database == ":memory:" or "mode=memory" in database:
        return None  # another connection would see another, empty database
    sync_url = url.set(drivername="sqlite")
    # A connection is used by one thread at a time, but not always the same one.
    engine = create_sync_engine(
        sync_url, json_serializer=dumps, connect_args={"timeout": 10, "check_same_thread": False}
    )
    event.listen(engine, "connect", sqlite_on_connect)
    return engine


class Database:
    """Owns the engine; `session()` is the unit of work for a request or an event."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = create_engine(settings)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time; writers of this process queue here
        # instead of in SQLite's busy handler, which sleeps and retries.
        self._write_lock: asyncio.Lock | None = (
            asyncio.Lock() if self.engine.dialect.name == "sqlite" else None
        )
        self._sqlite: Engine | None = None
        if self.engine.dialect.name == "sqlite":
            self._sqlite = _sqlite_file_engine(make_url(settings.database_url))
        self._writer: ThreadPoolExecutor | None = None
        self._writer_conn = _WriterConnection(self._sqlite) if self._sqlite is not None else None
        # Tried first, on the loop: busy timeout 0, so it never waits for a lock there.
        self._inline_conn = (
            _WriterConnection(self._sqlite, busy_timeout_ms=0)
            if self._sqlite is not None and settings.sqlite_inline_writes
            else None
        )
        # Inline transactions that found the write lock taken and ran again on the thread.
        self.busy_fallbacks = 0
        self._readers: ThreadPoolExecutor | None = None
        self.checkpointer = (
            WalCheckpointer(self._sqlite, write_lock=self._write_lock)
            if self._sqlite is not None
            else None
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            yield session

    def write_locked(self) -> bool:
        """Whether a writer of this process holds the write lock (always False off SQLite)."""
        return self._write_lock is not None and self._write_lock.locked()

    @asynccontextmanager
    async def write_session(self) -> AsyncIterator[AsyncSession]:
        """A session for a transaction that writes (never nest two)."""
        if self._write_lock is None:
            async with self.sessionmaker() as session:
                yield session
            return
        async with self._write_lock, self.sessionmaker() as session:
            yield session

    async def run_write(self, work: Callable[[Connection], T]) -> T:
        """`work(conn)` in one transaction that writes, committed before this returns.

        `work` must not block on anything but the database, and must have no
        effect outside its transaction: on a SQLite file it runs on the event
        loop (one at a time, after this process's other writers) and, when
        another process holds the write lock, is rolled back and run again on
        the writer thread. On PostgreSQL it runs on the loop through `run_sync`.
        """
        writer_conn = self._writer_conn  # None unless a SQLite file
        if writer_conn is None:
            if self._write_lock is None:
                async with self.engine.begin() as conn:
                    return await conn.run_sync(work)
            async with self._write_lock, self.engine.begin() as conn:
                return await conn.run_sync(work)
        assert self._write_lock is not None  # SQLite always has one
        async with self._write_lock:
            inline = self._inline_conn
            if inline is not None:
                try:
                    return inline.run(work)
                except DBAPIError as exc:
                    if not _busy(exc):
                        raise
                    self.busy_fallbacks += 1
                    log.info("SQLite is locked by another connection; writing from the thread")
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._writer, writer_conn.run, work)

    async def run_read(self, work: Callable[[Connection], T]) -> T:
        """`work(conn)` on a connection that only reads (see `run_write`)."""
        if self._sqlite is None:
            async with self.engine.connect() as conn:
                return await conn.run_sync(work)
        if self._readers is None:
            self._readers = ThreadPoolExecutor(SQLITE_READERS, thread_name_prefix="sqlite-reader")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, _read, self._sqlite, work)

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def start(self) -> None:
        """Start what runs beside the requests: on a SQLite file, the WAL checkpoints."""
        if self.checkpointer is not None:
            self.checkpointer.start()

    async def dispose(self) -> None:
        if self.checkpointer is not None:
            await self.checkpointer.stop()
        await self.engine.dispose()
        for pool in (self._writer, self._readers):
            if pool is not None:
                # Work already handed over finishes (a commit is never cut in half).
                await asyncio.get_running_loop().run_in_executor(None, pool.shutdown)
        self._writer = self._readers = None
        for kept in (self._writer_conn, self._inline_conn):
            if kept is not None:
                kept.close()
        if self._sqlite is not None:
            self._sqlite.dispose()


class _WriterConnection:
    """A SQLite writer's one connection, kept from one transaction to the next.

    Taking a pooled connection for each transaction (checkout, then a rollback
    as it is returned) cost about 75 of the 225 µs the writer thread spent on a
    lone send's batch (`engine.begin()` against `connection.begin()`, 3,000
    one-message batches in-process). Used by one thread at a time (the event
    loop's, or the writer pool's one thread) under the write lock;
    `Database.dispose` closes it after that pool.
    """

    def __init__(self, engine: Engine, *, busy_timeout_ms: int | None = None) -> None:
        self._engine = engine
        self._busy_timeout_ms = busy_timeout_ms
        self._conn: Connection | None = None

    def run(self, work: Callable[[Connection], T]) -> T:
        conn = self._conn
        if conn is None:
            conn = self._conn = self._engine.connect()
            if self._busy_timeout_ms is not None:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
                conn.commit()  # ends the autobegun transaction; the work opens its own
        try:
            with conn.begin():
                return work(conn)
        except BaseException:
            # Whatever state a failure left it in, the next transaction gets a fresh one.
            self.close()
            raise

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            if self._busy_timeout_ms is not None:
                conn.invalidate()  # its timeout must not reach the pool's other users
            conn.close()


def _busy(exc: DBAPIError) -> bool:
    """Whether SQLite refused for a lock held elsewhere (SQLITE_BUSY and its variants)."""
    orig = exc.orig
    return isinstance(orig, sqlite3.Error) and orig.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY


def _read(engine: Engine, work: Callable[[Connection], T]) -> T:
    with engine.connect() as conn:
        return work(conn)
