"""Deliveries per second through Switchboard's event log on one node.

    .venv/bin/python bench/recovery_stream.py [N]

Publishes N broadcasts and counts local deliveries (what every node's reader
hands to its sockets), for the in-memory log and for the Redis Stream log on a
throw-away redis-server. Sequential publishes (as one request loop does) and
concurrent ones (many requests at once) are both shown. Prints figures only.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tests.support.redis import RedisProcess

from switchboard.realtime.backends.memory import MemoryLog
from switchboard.realtime.backends.redis_log import RedisLog
from switchboard.realtime.event_log import Entry, EventLog, LogRecord

NS = "/bench"


async def run(events: EventLog, n: int, concurrent: bool) -> float:
    done = asyncio.Event()
    count = 0

    def deliver(_ns: str, entries: Sequence[Entry]) -> None:
        nonlocal count
        count += len(entries)
        if count == n:
            done.set()

    events.bind(deliver)
    await events.start([NS])
    record = LogRecord("event", "message:new", [{"id": "x", "body": "hello" * 10}], ["room:1"])
    started = time.perf_counter()
    if concurrent:
        for i in range(0, n, 200):
            await asyncio.gather(*(events.publish(NS, record) for _ in range(min(200, n - i))))
    else:
        for _ in range(n):
            await events.publish(NS, record)
    try:
        await asyncio.wait_for(done.wait(), 60)
    except TimeoutError:
        print(f"only {count} of {n} delivered", file=sys.stderr)
        raise
    elapsed = time.perf_counter() - started
    await events.close()
    return n / elapsed


async def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    print(f"memory log, sequential: {await run(MemoryLog(120), n, False):>10,.0f} deliveries/s")
    with tempfile.TemporaryDirectory() as tmp, RedisProcess(Path(tmp)) as redis:
        for concurrent in (False, True):
            rate = await run(RedisLog(redis.url, 120), n, concurrent)
            kind = "concurrent" if concurrent else "sequential"
            print(f"redis stream, {kind}: {rate:>10,.0f} deliveries/s")


if __name__ == "__main__":
    asyncio.run(main())
