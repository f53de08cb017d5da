"""A batch appended in one round trip reaches every node whole and in order (real redis-server)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import pytest

from switchboard.realtime.backends.redis_client import redis_client
from switchboard.realtime.backends.redis_log import RedisLog
from switchboard.realtime.backends.redis_stream import (
    StreamAppender,
    record_of,
    stream_key,
    stream_pos,
)
from switchboard.realtime.event_log import Entry, LogRecord, Pos
from switchboard.types import CHAT
from tests.support.redis import RedisProcess

pytestmark = pytest.mark.cluster


def _recorder(got: list[tuple[Pos, str]]) -> Callable[[str, Sequence[Entry]], None]:
    def deliver(_namespace: str, entries: Sequence[Entry]) -> None:
        got.extend((pos, str(record.args[0])) for pos, record in entries)

    return deliver


async def test_batches_and_single_emits_arrive_in_publish_order_on_every_node(
    redis_server: RedisProcess,
) -> None:
    nodes = [RedisLog(redis_server.url, 60.0) for _ in range(2)]
    seen: list[list[tuple[Pos, str]]] = [[], []]
    for node, got in zip(nodes, seen, strict=True):
        node.bind(_recorder(got))
        await node.start([CHAT])
    try:
        expected: list[str] = []
        for batch in range(20):
            bodies = [f"b{batch}-{i}" for i in range(25)]
            await nodes[batch % 2].publish_many(
                CHAT,
                [LogRecord.broadcast("message:new", b, f"conversation:{batch}") for b in bodies],
            )
            single = f"single-{batch}"
            await nodes[(batch + 1) % 2].publish(
                CHAT, LogRecord.broadcast("message:new", single, None)
            )
            expected += [*bodies, single]
        async with asyncio.timeout(10):
            while any(len(got) < len(expected) for got in seen):
                await asyncio.sleep(0.02)
        for got in seen:
            assert [body for _pos, body in got] == expected
            positions = [pos for pos, _body in got]
            assert positions == sorted(positions)
            assert len(set(positions)) == len(positions)
        assert nodes[0].processed(CHAT) == nodes[1].processed(CHAT) == seen[0][-1][0]
    finally:
        for node in nodes:
            await node.close()


async def test_a_batch_larger_than_one_script_call_is_appended_whole_and_in_order(
    redis_server: RedisProcess,
) -> None:
    """Cut into several calls of the append script, the batch still reads back in order."""
    client = redis_client(redis_server.url)
    appender = StreamAppender(client, 60.0)
    try:
        records = [LogRecord.broadcast("notification", i, f"user:{i}") for i in range(600)]
        positions = await appender.append_many(CHAT, records)
        assert len(positions) == 600
        assert positions == sorted(positions)
        assert len(set(positions)) == 600
        entries = await client.xrange(stream_key(CHAT))
        assert [stream_pos(entry_id) for entry_id, _fields in entries] == positions
        assert [record_of(fields).args for _id, fields in entries] == [[i] for i in range(600)]
        # Every append trims and the key expires when idle (twice the window).
        assert 0 < await client.ttl(stream_key(CHAT)) <= 121
    finally:
        await client.aclose()


async def test_appends_go_on_after_redis_forgets_the_script(redis_server: RedisProcess) -> None:
    """A restarted Redis has no script cache: the next append loads the script again."""
    client = redis_client(redis_server.url)
    appender = StreamAppender(client, 60.0)
    try:
        first = await appender.append(CHAT, LogRecord.broadcast("message:new", "a", None))
        await client.script_flush()
        second = await appender.append(CHAT, LogRecord.broadcast("message:new", "b", None))
        assert second > first
        assert await client.xlen(stream_key(CHAT)) == 2
    finally:
        await client.aclose()
