"""Deadline queues on one event-loop timer, driven by a fake clock on a real loop."""

from __future__ import annotations

import asyncio

import pytest

from switchboard.transport.connection import Handshake, Sink
from switchboard.transport.server import Server, ServerOptions
from switchboard.transport.timers import Timers


class FakeClock:
    """Far behind the loop's clock: every armed timer fires on the next loop iteration,
    and only this clock decides which deadlines have passed. `t` is the time since start."""

    BASE = -1_000_000.0  # before any loop.time(), whatever the machine's uptime

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.BASE + self.t


async def spin(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


@pytest.fixture
async def clocked():
    clock = FakeClock()
    timers: Timers = Timers(clock=clock)
    yield clock, timers
    timers.close()


async def test_nothing_fires_before_its_deadline(clocked):
    clock, timers = clocked
    fired: list = []
    q = timers.queue(1.0, lambda item, gen: fired.append((item, gen)))
    timers.add(q, "a", 0)
    await spin()
    clock.t = 0.999
    await spin()
    assert fired == []
    clock.t = 1.0
    await spin()
    assert fired == [("a", 0)]


async def test_one_queue_fires_in_order_of_insertion(clocked):
    clock, timers = clocked
    fired: list = []
    q = timers.queue(1.0, lambda item, gen: fired.append(item))
    timers.add(q, "a", 0)
    clock.t = 0.5
    timers.add(q, "b", 0)
    timers.add(q, "c", 0)
    clock.t = 1.2
    await spin()
    assert fired == ["a"]
    clock.t = 1.5
    await spin()
    assert fired == ["a", "b", "c"]
    clock.t = 10
    await spin()
    assert fired == ["a", "b", "c"]  # each entry fires once


async def test_the_generation_is_handed_back(clocked):
    clock, timers = clocked
    fired: list = []
    q = timers.queue(1.0, lambda item, gen: fired.append((item, gen)))
    timers.add(q, "conn", 0)
    timers.add(q, "conn", 1)  # rescheduled: the first entry is now stale
    timers.add(q, "other", 7)
    clock.t = 1.0
    await spin()
    assert fired == [("conn", 0), ("conn", 1), ("other", 7)]


async def test_queues_with_different_delays_fire_when_each_deadline_passes(clocked):
    clock, timers = clocked
    fired: list = []
    slow = timers.queue(5.0, lambda item, gen: fired.append(("slow", item)))
    fast = timers.queue(1.0, lambda item, gen: fired.append(("fast", item)))
    timers.add(slow, "s1", 0)  # due at 5
    timers.add(fast, "f1", 0)  # due at 1
    clock.t = 3.0
    timers.add(fast, "f2", 0)  # due at 4
    for t in (1.0, 4.0, 5.0):
        clock.t = t
        await spin()
    assert fired == [("fast", "f1"), ("fast", "f2"), ("slow", "s1")]


async def test_deadlines_that_passed_together_fire_in_deadline_order(clocked):
    clock, timers = clocked
    fired: list = []
    slow = timers.queue(5.0, lambda item, gen: fired.append(item))
    fast = timers.queue(1.0, lambda item, gen: fired.append(item))
    timers.add(slow, "due at 5", 0)
    timers.add(fast, "due at 1", 0)
    clock.t = 10.0
    await spin()
    assert fired == ["due at 1", "due at 5"]


async def test_a_callback_may_schedule_more(clocked):
    clock, timers = clocked
    fired: list = []

    def again(item, gen):
        fired.append((item, gen, clock.t))
        if gen < 3:
            timers.add(q, item, gen + 1)

    q = timers.queue(1.0, again)
    timers.add(q, "x", 0)
    for step in range(1, 6):
        clock.t = float(step)
        await spin()
    assert fired == [("x", 0, 1.0), ("x", 1, 2.0), ("x", 2, 3.0), ("x", 3, 4.0)]


async def test_close_drops_every_deadline(clocked):
    clock, timers = clocked
    fired: list = []
    q = timers.queue(1.0, lambda item, gen: fired.append(item))
    timers.add(q, "a", 0)
    timers.close()
    clock.t = 5.0
    await spin()
    assert fired == []
    assert list(q.entries) == []
    timers.add(q, "b", 0)  # usable again after close
    clock.t = 10.0
    await spin()
    assert fired == ["b"]


async def test_real_clock_an_earlier_deadline_rearms_the_timer():
    timers: Timers = Timers()
    done = asyncio.get_running_loop().create_future()
    try:
        slow = timers.queue(30.0, lambda item, gen: None)
        fast = timers.queue(0.01, lambda item, gen: done.set_result(item))
        timers.add(slow, "late", 0)  # arms the timer 30 s out
        timers.add(fast, "soon", 0)  # must re-arm it earlier
        assert await asyncio.wait_for(done, 5.0) == "soon"
    finally:
        timers.close()


# -- the server's use of generations: stale entries are skipped ----------------------------------


class NullSink(Sink):
    def __init__(self) -> None:
        self.out: list = []
        self.ended = False

    def flush(self, conn) -> None:
        self.out.extend(conn.out)
        conn.out.clear()

    def send_now(self, packet) -> None:
        self.out.append(packet)

    def end(self, conn, code, *, abort=False) -> None:
        self.ended = True


async def test_server_skips_stale_heartbeat_entries():
    server = Server(ServerOptions(ping_interval=60, ping_timeout=60))
    server.raw_message = lambda conn, data: None
    sink = NullSink()
    conn = server.open(Handshake(), sink)
    try:
        stale = conn.hb_gen
        server._send_ping(conn, stale)  # due: sends a ping, bumps the generation
        assert conn.awaiting_pong
        assert conn.out[-1].polling == "2"
        pings = len(conn.out)
        server._send_ping(conn, stale)  # stale: nothing
        assert len(conn.out) == pings
        waiting = conn.hb_gen
        server.pong(conn)  # answered: the pong deadline of `waiting` is stale now
        server._pong_missed(conn, waiting)
        assert not conn.closed
        server._pong_missed(conn, conn.hb_gen)  # a current one closes
        assert conn.closed
        assert sink.ended
    finally:
        await server.shutdown()
