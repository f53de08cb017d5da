"""The in-memory log keeps only the window, and proves gaps by position."""

from __future__ import annotations

import asyncio
import gc

from switchboard.realtime.backends.memory import MemoryLog
from switchboard.realtime.event_log import ZERO, LogRecord, Pos, Session
from switchboard.realtime.recovery import resume_from


async def test_entries_older_than_the_window_are_pruned_and_reported_as_a_gap() -> None:
    log = MemoryLog(0.3)
    delivered: list[Pos] = []
    log.bind(lambda _ns, entries: delivered.extend(pos for pos, _rec in entries))
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


async def test_the_window_is_kept_out_of_the_cyclic_collectors_sight() -> None:
    """Kept entries hold JSON, not objects: a full collection does not walk the window
    (half a second at 4,500 messages/s when it held the records themselves)."""
    log = MemoryLog(60)
    records = [
        LogRecord.broadcast(
            "message:new",
            {"id": f"m{i}", "conversation_id": 1, "body": "hé", "client_msg_id": None},
            "conversation:1",
            skip="s1",
        )
        for i in range(100)
    ]
    await log.publish_many("/chat", records)
    await log.publish("/chat", LogRecord("join", user_id=7, room="conversation:2"))
    gc.collect(0)  # the youngest generation's first pass is enough
    assert not any(gc.is_tracked(entry) for entry in log._logs["/chat"].entries)
    replayed = await log.entries_after("/chat", ZERO)
    assert replayed is not None
    assert [rec for _p, rec in replayed] == [
        *records,
        LogRecord("join", user_id=7, room="conversation:2"),
    ]


async def test_a_record_json_cannot_carry_is_kept_as_it_is() -> None:
    log = MemoryLog(60)
    binary = LogRecord.broadcast("file", {"chunk": b"\x00\xff"}, "room")
    await log.publish("/n", binary)
    replayed = await log.entries_after("/n", ZERO)
    assert replayed is not None
    assert replayed[0][1] is binary


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


async def test_sessions_expire_after_their_ttl_and_a_resave_extends_one() -> None:
    log = MemoryLog(10)

    def session(pid: str) -> Session:
        return Session(
            pid, "sid-" + pid, "/n", 1, ["r"], start=(1, 1), last_sent=None, served=(1, 1)
        )

    await log.save_session(session("short"), 0.05)
    await log.save_session(session("kept"), 0.05)
    await log.save_session(session("kept"), 5)  # saved again: the later expiry holds
    await log.save_session(session("long"), 5)
    await asyncio.sleep(0.1)
    assert await log.peek_session("/n", "short") is None
    assert await log.peek_session("/n", "kept") is not None
    taken = await log.take_session("/n", "long")
    assert taken is not None
    assert taken.sid == "sid-long"
    assert await log.take_session("/n", "long") is None  # at most one reconnect gets it
    assert set(log._sessions) == {("/n", "kept")}
