"""The emitter hands a run of broadcasts to the same rooms to the transport as one append."""

from __future__ import annotations

from switchboard.realtime.backends.memory import MemoryLog
from switchboard.realtime.emitter import Emitter
from switchboard.realtime.event_log import LogRecord
from switchboard.transport import engineio as eio
from switchboard.transport.server import Server, ServerOptions
from tests.unit.transport.test_server import (
    Handler,
    RawSink,
    _unframe,
    open_session,
    spin,
    until,
)


def _events(frames: list[bytes]) -> list[str]:
    return [text for data in frames for text in _unframe(data) if text.startswith("42")]


async def test_runs_split_at_other_rooms_and_membership_changes_and_keep_log_order() -> None:
    server = Server(ServerOptions())
    emitter = Emitter(server, MemoryLog(60.0), offsets=True)
    try:
        handler = Handler(server)
        server.add_namespace("/", handler)
        for _ in range(3):
            conn, _sink = open_session(server, RawSink())
            conn.receive(eio.MESSAGE, "0")
        await until(lambda: len(handler.connected) == 3)
        await spin()
        member, late, other = handler.sockets
        server.join(member, "c:1")
        server.join(late, "user:5")
        server.join(other, "c:2")
        hooked: list[tuple[str, int]] = []

        class Hook:
            def on_delivered(self, namespace: str, event: str, recipients: int) -> None:
                hooked.append((event, recipients))

        emitter.hooks.append(Hook())

        def to(room: str, body: str) -> LogRecord:
            return LogRecord.broadcast("m", body, room)

        await emitter.events.publish_many(
            "/",
            [
                to("c:1", "a"),
                to("c:1", "b"),
                LogRecord("join", user_id=5, room="c:1"),  # `late` joins between runs
                to("c:1", "c"),
                to("c:2", "d"),
                to("c:1", "e"),
            ],
        )
        epoch = emitter.events.processed("/")[0]
        # a and b left as one joined append; c and e found the queue busy
        assert len(member.conn.out) == 3
        assert _events(member.conn.out[:1]) == [
            f'42["m","a","{epoch}-1"]',
            f'42["m","b","{epoch}-2"]',
        ]
        assert member.last_pos == late.last_pos == (epoch, 6)
        assert _events(member.conn.out) == [
            f'42["m","{body}","{epoch}-{seq}"]'
            for body, seq in [("a", 1), ("b", 2), ("c", 4), ("e", 6)]
        ]
        assert _events(late.conn.out) == [f'42["m","c","{epoch}-4"]', f'42["m","e","{epoch}-6"]']
        assert _events(other.conn.out) == [f'42["m","d","{epoch}-5"]']
        assert hooked == [("m", 1), ("m", 1), ("m", 2), ("m", 1), ("m", 2)]
    finally:
        await server.shutdown()
