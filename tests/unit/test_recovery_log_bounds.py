"""The in-memory log keeps only the window, and proves gaps by position."""

from __future__ import annotations

import asyncio

from switchboard.realtime.backends.memory import MemoryLog
from switchboard.realtime.event_log import LogRecord, Pos, Session
from switchboard.realtime.recovery import resume_from


async def test_entries_older_than_the_window_are_pruned_and_reported_as_a_gap() -> None:
    log = MemoryLog(0.3)
    delivered: list[Pos] = []
    log.bind(lambda _ns, pos, _rec: delivered.append(pos))
    for i in range(100):
        await log.publish("/n", LogRecord("event", "e", [i], ["r"]))
    first, last = delivered[0], delivered[-1]
    assert [p[1] for p in delivered] == list(range(1, 101))
    assert len(await log.entries_after("/n", first) or []) == 99
    await asyncio.sleep(0.4)
    await log.publish("/n", LogRecord("event", "e", [100], ["r"]))  # prunes the old ones
    assert await log.entries_after("/n", first) is None  # an entry after it is gone
    after_last = await log.entries_after("/n", last)
    assert after_last is not None
    assert [rec.args for _p, rec in after_last] == [[100]]
    assert len(log._logs["/n"].entries) == 1  # memory follows the window


def test_resume_point_for_each_client_offset() -> None:
    s = Session("p", "sid", "/n", 1, ["r"], start=(1, 10), last_sent=(1, 20), served=(1, 50))
    assert resume_from(s, (1, 20)) == (1, 50)  # got everything queued: skip the rest
    assert resume_from(s, (1, 15)) == (1, 15)  # lost some in flight
    assert resume_from(s, None) == (1, 10)  # never saw an event
    assert resume_from(s, (1, 3)) == (1, 10)  # stale offset from an older session
    assert resume_from(s, (1, 21)) is None  # never sent: forged
    quiet = Session("p", "sid", "/n", 1, ["r"], start=(1, 10), last_sent=None, served=(1, 50))
    assert resume_from(quiet, None) == (1, 50)
    assert resume_from(quiet, (1, 4)) == (1, 50)
    assert resume_from(quiet, (1, 99)) is None
