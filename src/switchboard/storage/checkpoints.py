"""WAL checkpoints on a thread of their own, so that no commit pays for one.

In WAL mode a commit appends pages to the `-wal` file; a checkpoint copies
them back into the database file and fsyncs it. SQLite's default
(`wal_autocheckpoint`, 1,000 pages) runs that checkpoint inside whichever
commit crosses the threshold, so one send in a few hundred waited 10–30 ms for
an fsync: that, not the machine, was the ~19 ms p99 of 200 chats at 400
messages/s (docs/benchmarks.md). Our connections turn the automatic
checkpoint off (`database.sqlite_on_connect`) and `WalCheckpointer` runs a
PASSIVE checkpoint every `CHECKPOINT_INTERVAL_SECONDS`. PASSIVE never waits
for readers or blocks the writer: what it cannot copy yet, the next round
does. Commits keep `synchronous=NORMAL`, so an acknowledged write is as
durable as before (the WAL is the record; a checkpoint only moves pages).

Under writes that never pause, PASSIVE alone never lets the WAL start over:
SQLite rewinds it only when a write begins after a checkpoint copied every
frame, and a commit always lands while a round is copying. In a sustained
`notify` max phase the `-wal` file grew to 296 MB in ten seconds. So when a
round finds at least `RESTART_FRAMES` frames, a second PASSIVE round runs
while holding this process's write lock (`Database`'s): it copies only what
was committed during the first, and the next write starts the WAL over.
Writes wait for that round, its copy and its fsync (10–30 ms measured), at
most once a round and only while the WAL keeps growing.

A process that never starts the checkpointer (a CLI command) leaves its pages
to a running server's next round; and the last connection to the file to
close checkpoints everything and removes the WAL, as SQLite always does.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from sqlalchemy import Engine

log = logging.getLogger("switchboard.storage")

# Why this often: the WAL holds about this long of writes (up to ~30 MB at the
# benchmarks' write rates, see RESTART_FRAMES), and an idle round costs microseconds.
CHECKPOINT_INTERVAL_SECONDS = 0.5
# SQLite's own automatic checkpoint threshold: past it a round makes the WAL start over.
RESTART_FRAMES = 1000


class Checkpoint(NamedTuple):
    """`PRAGMA wal_checkpoint(PASSIVE)`'s answer (its first column, busy, is always 0)."""

    wal_frames: int  # frames in the WAL (-1: not in WAL mode)
    copied: int  # of those, frames now in the database file


def checkpoint(engine: Engine) -> Checkpoint:
    """Run one PASSIVE checkpoint of `engine`'s database on the calling thread."""
    with engine.connect() as conn:
        _busy, frames, copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
    return Checkpoint(frames, copied)


class WalCheckpointer:
    def __init__(
        self,
        engine: Engine,
        interval: float = CHECKPOINT_INTERVAL_SECONDS,
        *,
        write_lock: asyncio.Lock | None = None,
        restart_frames: int = RESTART_FRAMES,
    ) -> None:
        self._engine = engine
        self.interval = interval
        # The lock every writer of this process takes: held for a catch-up round.
        self._write_lock = write_lock
        self.restart_frames = restart_frames
        self.catch_ups = 0  # rounds run under the write lock
        self._thread: ThreadPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0  # checkpoints run so far (failed ones included)

    def start(self) -> None:
        if self._task is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-checkpoint")
            self._task = asyncio.get_running_loop().create_task(self._rounds())

    async def stop(self) -> None:
        """Stop the rounds (a round under way finishes: a checkpoint is never cut short)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, thread.shutdown)

    async def _rounds(self) -> None:
        loop = asyncio.get_running_loop()
        failing = False
        while True:
            await asyncio.sleep(self.interval)
            try:
                done = await loop.run_in_executor(self._thread, checkpoint, self._engine)
                if done.wal_frames >= self.restart_frames and self._write_lock is not None:
                    async with self._write_lock:
                        await loop.run_in_executor(self._thread, checkpoint, self._engine)
                    self.catch_ups += 1
            except Exception as exc:
                # One line when it starts failing, one when it recovers: not one a round.
                if not failing:
                    log.warning("WAL checkpoint failed (retrying every round): %s", exc)
                failing = True
            else:
                if failing:
                    log.info("WAL checkpoints succeed again")
                failing = False
            self.rounds += 1
