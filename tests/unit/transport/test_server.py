"""`Server` in process: sessions, namespaces, the corked fan-out, recovery holds, heartbeat."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager

import pytest

from switchboard.transport import engineio as eio
from switchboard.transport import socketio as sio
from switchboard.transport.connection import Connection, Handshake, PollingSink, Sink
from switchboard.transport.server import Server, ServerOptions
from switchboard.transport.sockets import ConnectAttempt, ConnectRefused, Socket


class RecordingSink(Sink):
    """Takes everything at each flush; `batches` keeps what each flush carried."""

    raw_ws = False

    def __init__(self) -> None:
        self.flushes = 0
        self.batches: list[list] = []
        self.direct: list = []
        self.ended: tuple[int, bool] | None = None
        self.left: list = []

    def flush(self, conn: Connection) -> None:
        self.flushes += 1
        self.batches.append(list(conn.out))
        conn.out.clear()

    def send_now(self, packet: eio.Outgoing) -> None:
        self.direct.append(packet)

    def end(self, conn: Connection, code: int, *, abort: bool = False) -> None:
        self.ended = (code, abort)
        self.left = list(conn.out)
        conn.out.clear()

    @property
    def items(self) -> list:
        return [item for batch in self.batches for item in batch]

    def texts(self) -> list[str]:
        """What the client got, as Engine.IO text packets (binary parts as bytes)."""
        found: list = []
        for item in self.items:
            found.extend(item.parts)
        return found


class RawSink(RecordingSink):
    """WebSocket-like: `out` holds ready frames."""

    raw_ws = True

    def texts(self) -> list:
        found: list = []
        for data in self.items:
            found.extend(_unframe(data))
        return found


class StalledSink(RawSink):
    """A client that reads nothing: flush leaves `out` as it is."""

    def flush(self, conn: Connection) -> None:
        self.flushes += 1


class PongingSink(RecordingSink):
    """Answers every ping on the next loop iteration, like a live client."""

    def flush(self, conn: Connection) -> None:
        super().flush(conn)
        for packet in self.batches[-1]:
            if packet.parts == ("2",):
                asyncio.get_running_loop().call_soon(conn.receive, eio.PONG, "")


def _unframe(data: bytes) -> list:
    out: list = []
    pos = 0
    while pos < len(data):
        b0, b1 = data[pos], data[pos + 1]
        assert b1 & 0x80 == 0, "server frames are not masked"
        n, head = b1 & 0x7F, 2
        if n == 126:
            n, head = int.from_bytes(data[pos + 2 : pos + 4], "big"), 4
        elif n == 127:
            n, head = int.from_bytes(data[pos + 2 : pos + 10], "big"), 10
        payload = data[pos + head : pos + head + n]
        out.append(payload.decode() if b0 & 0x0F == 1 else payload)
        pos += head + n
    return out


class Handler:
    """A small application: accepts (or reserves) every CONNECT, records the rest."""

    def __init__(self, server: Server, *, rooms=(), reserve=False, refuse=None) -> None:
        self.server = server
        self.rooms = rooms
        self.reserve = reserve
        self.refuse = refuse
        self.sockets: list[Socket] = []
        self.connected: list[Socket] = []
        self.events: list = []
        self.disconnects: list = []

    async def on_connect(self, attempt: ConnectAttempt) -> None:
        if self.refuse is not None:
            raise ConnectRefused(self.refuse)
        if self.reserve:
            sock = self.server.reserve(attempt, rooms=self.rooms)
        else:
            sock = self.server.accept(attempt, {"hello": 1}, rooms=self.rooms)
        self.sockets.append(sock)

    async def on_connected(self, sock: Socket) -> None:
        self.connected.append(sock)

    def on_event(self, sock: Socket, args, ack_id) -> None:
        self.events.append((sock, args, ack_id))
        if ack_id is not None:
            self.server.ack(sock, ack_id, ["ok", *args[1:]])

    def on_disconnect(self, sock: Socket, reason: str) -> None:
        self.disconnects.append((sock, reason))


async def spin(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


@pytest.fixture
async def server():
    srv = Server(ServerOptions())
    yield srv
    await srv.shutdown()


def open_session(server: Server, sink: Sink | None = None) -> tuple[Connection, RecordingSink]:
    sink = sink or RecordingSink()
    conn = server.open(Handshake(), sink)
    conn.push(server.open_packet(conn, upgrades=not sink.raw_ws))
    return conn, sink


async def connect(server: Server, namespace: str = "/", sink: Sink | None = None, auth=""):
    conn, sink = open_session(server, sink)
    head = "0" if namespace == "/" else f"0{namespace},"
    conn.receive(eio.MESSAGE, head + auth)
    await spin()
    return conn, sink


# -- sessions and CONNECT --------------------------------------------------------------------------


async def test_open_packet(server):
    import orjson

    conn, sink = open_session(server)
    await spin()
    assert server.sessions[conn.sid] is conn
    (text,) = sink.texts()
    assert text[0] == "0"
    assert orjson.loads(text[1:]) == {
        "sid": conn.sid,
        "upgrades": ["websocket"],
        "pingInterval": 25000,
        "pingTimeout": 20000,
        "maxPayload": 1_000_000,
    }
    assert orjson.loads(server.open_packet(conn, upgrades=False).parts[0][1:])["upgrades"] == []


async def test_connect_to_a_namespace(server):
    handler = server.add_namespace("/", Handler(server)).handler
    conn, sink = await connect(server)
    (sock,) = handler.sockets
    assert handler.connected == [sock]
    assert sock.connected
    assert conn.sockets == {"/": sock}
    assert server.socket("/", sock.sid) is sock
    assert sink.texts()[1] == '40{"sid":"' + sock.sid + '","hello":1}'


async def test_connect_with_auth_to_a_custom_namespace(server):
    seen = []

    class Auth(Handler):
        async def on_connect(self, attempt):
            seen.append(attempt.auth)
            await super().on_connect(attempt)

    server.add_namespace("/custom", Auth(server))
    _conn, sink = await connect(server, "/custom", auth='{"token":"t"}')
    assert seen == [{"token": "t"}]
    assert sink.texts()[1].startswith('40/custom,{"sid":"')


async def test_connect_to_an_unknown_namespace(server):
    conn, sink = await connect(server, "/random")
    assert sink.texts()[1:] == ['44/random,{"message":"Invalid namespace"}']
    assert conn.sockets == {}
    assert not conn.closed


async def test_connect_refused(server):
    handler = server.add_namespace("/", Handler(server, refuse={"message": "nope", "data": 1}))
    conn, sink = await connect(server)
    assert sink.texts()[1:] == ['44{"message":"nope","data":1}']
    assert handler.handler.connected == []
    assert conn.sockets == {}


async def test_connect_twice_to_one_namespace(server):
    server.add_namespace("/", Handler(server))
    conn, sink = await connect(server)
    conn.receive(eio.MESSAGE, "0")
    await spin()
    assert sink.texts()[-1] == '44{"message":"Already connected"}'


# -- the corked fan-out ----------------------------------------------------------------------------


async def room_of(server: Server, n: int, sink_type=RawSink, rooms=("r",)):
    handler = Handler(server, rooms=rooms)
    server.add_namespace("/", handler)
    pairs = [open_session(server, sink_type()) for _ in range(n)]
    for conn, _sink in pairs:
        conn.receive(eio.MESSAGE, "0")
    await until(lambda: len(handler.connected) == n)
    await spin()
    return handler, pairs


async def test_broadcast_to_1000_appends_the_same_bytes_and_flushes_once(server):
    _handler, pairs = await room_of(server, 1000)
    before = [sink.flushes for _conn, sink in pairs]
    packet = sio.encode_event("/", ["news", "hello"])
    assert server.broadcast("/", packet, rooms=["r"]) == 1000
    frame = packet.ws
    for conn, _sink in pairs:
        assert len(conn.out) == 1
        assert conn.out[0] is frame  # one encoding, shared by every recipient
    second = sio.encode_event("/", ["news", "again"])
    server.broadcast("/", second, rooms=["r"])
    await asyncio.sleep(0)
    for (conn, sink), n in zip(pairs, before, strict=True):
        assert sink.flushes == n + 1  # both packets in one flush
        assert sink.batches[-1][0] is frame
        assert sink.batches[-1][1] is second.ws
        assert conn.out == []
    # the next loop iteration's broadcast is the next flush
    server.broadcast("/", packet, rooms=["r"])
    await asyncio.sleep(0)
    assert all(sink.flushes == n + 2 for (_c, sink), n in zip(pairs, before, strict=True))


async def test_broadcast_to_polling_sockets_appends_the_same_packet(server):
    _handler, pairs = await room_of(server, 50, sink_type=RecordingSink)
    packet = sio.encode_event("/", ["x"])
    server.broadcast("/", packet)
    assert all(conn.out[-1] is packet for conn, _ in pairs)
    await asyncio.sleep(0)
    assert all(sink.batches[-1] == [packet] for _, sink in pairs)


async def test_broadcast_frames_on_the_wire(server):
    _handler, pairs = await room_of(server, 2)
    server.broadcast("/", sio.encode_event("/", ["bin", b"\x01\x02"]))
    await asyncio.sleep(0)
    for _conn, sink in pairs:
        assert sink.texts()[-2:] == ['451-["bin",{"_placeholder":true,"num":0}]', b"\x01\x02"]


async def test_broadcast_skip(server):
    handler, _pairs = await room_of(server, 5)
    skipped = handler.sockets[2]
    assert server.broadcast("/", sio.encode_event("/", ["x"]), rooms=["r"], skip=skipped.sid) == 4
    for sock in handler.sockets:
        assert len(sock.conn.out) == (0 if sock is skipped else 1)


async def test_broadcast_to_several_rooms_reaches_each_socket_once(server):
    handler, _pairs = await room_of(server, 6, rooms=())
    a, b, c = handler.sockets[0], handler.sockets[1], handler.sockets[2]
    server.join(a, "red")
    server.join(b, "red")
    server.join(b, "blue")
    server.join(c, "blue")
    server.join(c, "green")
    assert sorted(s.sid for s in server.recipients("/", ["red", "blue", "nobody"])) == sorted(
        s.sid for s in (a, b, c)
    )
    packet = sio.encode_event("/", ["x"])
    assert server.broadcast("/", packet, rooms=["red", "blue"]) == 3
    for sock in handler.sockets:
        assert sock.conn.out == ([packet.ws] if sock in (a, b, c) else [])
    server.leave(b, "red")
    server.leave(b, "blue")
    assert server.broadcast("/", packet, rooms=["red", "blue"]) == 2


async def test_broadcast_to_the_whole_namespace_and_unknown_ones(server):
    _handler, _pairs = await room_of(server, 3, rooms=())
    assert server.broadcast("/", sio.encode_event("/", ["x"])) == 3
    assert server.broadcast("/", sio.encode_event("/", ["x"]), rooms=["empty"]) == 0
    assert server.broadcast("/nope", sio.encode_event("/nope", ["x"])) == 0


@asynccontextmanager
async def slow_consumer(max_queue: int, readers: int):
    """A server with `max_queue`; one client that reads nothing and `readers` that read
    everything, all in room "r". Yields (server, handler, stalled, readers, overflowed)."""
    server = Server(ServerOptions(max_queue=max_queue))
    overflowed: list[Connection] = []
    server.on_overflow = overflowed.append
    try:
        handler = Handler(server, rooms=("r",))
        server.add_namespace("/", handler)
        stalled = open_session(server, StalledSink())
        fast = [open_session(server, RawSink()) for _ in range(readers)]
        for conn, _ in [stalled, *fast]:
            conn.receive(eio.MESSAGE, "0")
        await until(lambda: len(handler.connected) == readers + 1)
        await spin()
        yield server, handler, stalled, fast, overflowed
    finally:
        await server.shutdown()


async def test_overflow_closes_only_the_slow_connection():
    async with slow_consumer(3, 3) as (server, handler, (slow_conn, slow), fast, overflowed):
        backlog = len(slow_conn.out)  # the stalled client never read its OPEN and CONNECT
        sent = 0
        while not slow_conn.closed:
            packet = sio.encode_event("/", ["tick", sent])
            got = server.broadcast("/", packet, rooms=["r"])
            sent += 1
            await asyncio.sleep(0)
            assert sent < 10
        assert backlog + sent - 1 == 3  # closed by the packet that found the queue full
        assert got == 3  # ... which every other connection still got
        assert overflowed == [slow_conn]
        assert slow.ended == (1000, True)  # dropped at once, output discarded
        assert slow_conn.out == []
        assert slow_conn.sid not in server.sessions
        assert [(s.conn, reason) for s, reason in handler.disconnects] == [
            (slow_conn, "slow consumer")
        ]
        for conn, sink in fast:
            assert not conn.closed
            assert [t for t in sink.texts() if t.startswith("42")] == [
                f'42["tick",{i}]' for i in range(sent)
            ]


async def test_a_run_is_one_append_per_socket_whose_queue_is_empty(server):
    handler, pairs = await room_of(server, 3)
    polling_conn, polling = open_session(server, RecordingSink())
    polling_conn.receive(eio.MESSAGE, "0")
    await until(lambda: len(handler.connected) == 4)
    await spin()
    busy = handler.sockets[0]
    pending = sio.encode_event("/", ["queued first"])
    server.send(busy, pending)
    run = [sio.encode_event("/", ["n", i]) for i in range(3)]
    positions = [(7, 1), (7, 2), (7, 3)]
    assert server.deliver(handler.sockets, run, positions) == 4
    joined = b"".join(p.ws for p in run)
    for sock in handler.sockets[1:3]:
        assert sock.conn.out == [joined]  # the run's frames joined once, shared
        assert sock.conn.out[0] is handler.sockets[1].conn.out[0]
    # a queue that already held something takes the frames one by one (max_queue counts them)
    assert busy.conn.out == [pending.ws, *(p.ws for p in run)]
    assert polling_conn.out[-3:] == run  # long-polling keeps packets
    assert all(sock.last_pos == (7, 3) for sock in handler.sockets)
    await asyncio.sleep(0)
    for _conn, sink in [*pairs, (polling_conn, polling)]:
        assert [t for t in sink.texts() if t.startswith("42")][-3:] == [
            '42["n",0]',
            '42["n",1]',
            '42["n",2]',
        ]


async def test_a_run_that_would_overfill_a_queue_cuts_only_that_client_off():
    async with slow_consumer(4, 2) as (server, handler, (slow_conn, _slow), fast, overflowed):
        assert len(slow_conn.out) == 2  # its OPEN and CONNECT, never read
        run = [sio.encode_event("/", ["n", i]) for i in range(3)]  # 2 + 3 > 4
        assert server.deliver(handler.sockets, run, [(1, 1), (1, 2), (1, 3)]) == 2
        assert overflowed == [slow_conn]
        slow_sock = next(s for s in handler.sockets if s.conn is slow_conn)
        assert slow_sock.overflowed  # recovery must not resume it as if nothing was lost
        for conn, _sink in fast:
            assert conn.out == [b"".join(p.ws for p in run)]


async def test_a_held_socket_keeps_each_packet_of_a_run_with_its_position(server):
    handler = Handler(server, rooms=("r",), reserve=True)
    server.add_namespace("/", handler)
    conn, _sink = await connect(server, sink=RawSink())
    (sock,) = handler.sockets
    run = [sio.encode_event("/", ["n", i]) for i in range(3)]
    server.deliver([sock], run, [(1, 0), (1, 1), (2, 0)])
    assert sock.held == [((1, 0), run[0]), ((1, 1), run[1]), ((2, 0), run[2])]
    assert conn.out == []


# -- holds and release (connection state recovery) ------------------------------------------------


async def test_held_socket_collects_then_release_sends_connect_replay_then_held(server):
    handler = Handler(server, rooms=("r",), reserve=True)
    server.add_namespace("/", handler)
    conn, sink = await connect(server, sink=RawSink())
    (sock,) = handler.sockets
    assert not sock.connected
    assert handler.connected == []  # not connected until released
    p = [sio.encode_event("/", ["n", i]) for i in range(4)]
    server.broadcast("/", p[0], rooms=["r"], pos=(1, 0))
    server.broadcast("/", p[1], rooms=["r"], pos=(1, 1))
    server.broadcast("/", sio.encode_event("/", ["no position"]), rooms=["r"])  # not held
    server.broadcast("/", p[2], rooms=["r"], pos=(2, 0))
    assert sock.held == [((1, 0), p[0]), ((1, 1), p[1]), ((2, 0), p[2])]
    assert conn.out == []  # nothing reached the client while held
    flushes = sink.flushes
    replay = sio.encode_event("/", ["replayed"])
    server.release(sock, {"pid": "x"}, [replay], after=(1, 0))
    assert sock.held is None
    assert sock.connected
    assert sock.last_pos == (2, 0)
    # The CONNECT answer left alone, in a write of its own.
    assert sink.flushes == flushes + 1
    assert _unframe(sink.batches[-1][0]) == ['40{"sid":"' + sock.sid + '","pid":"x"}']
    await asyncio.sleep(0)
    assert [_unframe(f)[0] for f in sink.batches[-1]] == [
        '42["replayed"]',
        '42["n",1]',
        '42["n",2]',
    ]
    # held no more: the next broadcast goes straight out
    server.broadcast("/", p[3], rooms=["r"], pos=(3, 0))
    assert conn.out == [p[3].ws]
    assert sock.last_pos == (3, 0)


async def test_release_after_the_client_left_sends_nothing(server):
    handler = Handler(server, reserve=True)
    server.add_namespace("/", handler)
    conn, _sink = await connect(server)
    (sock,) = handler.sockets
    server.close(conn, "transport close", packet=False)
    server.release(sock, {})
    assert not sock.connected
    assert [r for _s, r in handler.disconnects] == ["transport close"]


# -- heartbeat and connect timeout --------------------------------------------------------------


async def test_connection_that_never_pongs_is_closed_with_ping_timeout():
    server = Server(ServerOptions(ping_interval=0.05, ping_timeout=0.05))
    try:
        handler = Handler(server)
        server.add_namespace("/", handler)
        conn, sink = await connect(server)
        await until(lambda: conn.closed, timeout=5.0)
        assert [reason for _s, reason in handler.disconnects] == ["ping timeout"]
        assert "2" in sink.texts()
        assert "1" not in sink.texts() + [p.parts[0] for p in sink.left]  # no CLOSE packet
        assert sink.ended is not None
        assert conn.sid not in server.sessions
    finally:
        await server.shutdown()


async def test_connection_that_pongs_stays_open():
    server = Server(ServerOptions(ping_interval=0.05, ping_timeout=0.05))
    try:
        handler = Handler(server)
        server.add_namespace("/", handler)
        conn, sink = await connect(server, sink=PongingSink())
        silent, _silent_sink = await connect(server)
        await until(lambda: sink.texts().count("2") >= 4, timeout=10.0)
        assert not conn.closed
        assert conn.sid in server.sessions
        assert silent.closed  # the same timers close a silent one meanwhile
        assert [(s.conn, r) for s, r in handler.disconnects] == [(silent, "ping timeout")]
    finally:
        await server.shutdown()


async def test_a_pong_without_a_ping_changes_nothing(server):
    conn, _sink = open_session(server)
    gen = conn.hb_gen
    conn.receive(eio.PONG, "")
    assert conn.hb_gen == gen
    assert not conn.awaiting_pong


async def test_connect_timeout():
    server = Server(ServerOptions(connect_timeout=0.05))
    try:
        server.add_namespace("/", Handler(server))
        idle, idle_sink = open_session(server)
        joined, _ = await connect(server)
        await until(lambda: idle.closed, timeout=5.0)
        assert idle_sink.ended is not None
        assert "1" in idle_sink.texts() + [p.parts[0] for p in idle_sink.left]  # told to go
        await asyncio.sleep(0.1)
        assert not joined.closed
    finally:
        await server.shutdown()


# -- events and disconnects -------------------------------------------------------------------------


async def test_event_and_ack(server):
    handler = Handler(server)
    server.add_namespace("/", handler)
    conn, sink = await connect(server)
    conn.receive(eio.MESSAGE, '2["hello",1,{"a":2}]')
    conn.receive(eio.MESSAGE, '27["with-ack","x"]')
    assert [(args, ack) for _s, args, ack in handler.events] == [
        (["hello", 1, {"a": 2}], None),
        (["with-ack", "x"], 7),
    ]
    await spin()
    assert sink.texts()[-1] == '437["ok","x"]'


class OrderedSink(RawSink):
    """Notes in a shared list the order in which the connections were written."""

    def __init__(self, order: list[OrderedSink]) -> None:
        super().__init__()
        self.order = order

    def flush(self, conn: Connection) -> None:
        self.order.append(self)
        super().flush(conn)


async def test_a_flush_writes_the_acked_connections_first(server):
    """A broadcast and an ack in one loop turn: the acked socket goes out first, still in
    one write with its share of the broadcast, and everyone else once after it."""
    order: list[OrderedSink] = []
    _handler, pairs = await room_of(server, 20, sink_type=lambda: OrderedSink(order))
    order.clear()
    server.broadcast("/", sio.encode_event("/", ["news", "hello"]), rooms=["r"])
    acked = [pairs[13], pairs[7]]
    for conn, _sink in acked:
        sock = conn.sockets["/"]
        server.ack(sock, 5, ["ok"])
    await asyncio.sleep(0)
    assert order[:2] == [sink for _conn, sink in acked]
    assert sorted(map(id, order)) == sorted(id(sink) for _conn, sink in pairs)  # once each
    for _conn, sink in acked:
        assert sink.texts()[-2:] == ['42["news","hello"]', '435["ok"]']


async def test_binary_event_is_reassembled(server):
    handler = Handler(server)
    server.add_namespace("/", handler)
    conn, _sink = await connect(server)
    conn.receive(
        eio.MESSAGE, '52-["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
    )
    assert handler.events == []
    conn.receive(eio.MESSAGE, b"\x01")
    assert handler.events == []
    conn.receive(eio.MESSAGE, b"\x02")
    assert [args for _s, args, _a in handler.events] == [["up", b"\x01", b"\x02"]]
    assert conn.reassembler is None


async def test_event_named_disconnect_is_just_an_event(server):
    handler = Handler(server)
    server.add_namespace("/", handler)
    conn, _sink = await connect(server)
    (sock,) = handler.sockets
    conn.receive(eio.MESSAGE, '2["disconnect"]')
    conn.receive(eio.MESSAGE, '2["disconnect","transport close"]')
    assert [args for _s, args, _a in handler.events] == [
        ["disconnect"],
        ["disconnect", "transport close"],
    ]
    assert handler.disconnects == []
    assert sock.connected
    assert conn.sockets == {"/": sock}


async def test_client_namespace_disconnect(server):
    handler = Handler(server, rooms=("r",))
    server.add_namespace("/", handler)
    conn, _sink = await connect(server)
    (sock,) = handler.sockets
    conn.receive(eio.MESSAGE, "1")
    assert handler.disconnects == [(sock, "client namespace disconnect")]
    assert not sock.connected
    assert conn.sockets == {}
    assert server.socket("/", sock.sid) is None
    assert server.recipients("/", ["r"]) == []
    assert not conn.closed  # only the namespace was left
    conn.receive(eio.MESSAGE, '2["late"]')
    assert handler.events == []  # not connected any more


async def test_transport_close_reaches_on_disconnect(server):
    handler = Handler(server)
    server.add_namespace("/", handler)
    conn, sink = await connect(server)
    server.close(conn, "transport close", packet=False)
    assert [r for _s, r in handler.disconnects] == ["transport close"]
    assert sink.ended == (1000, False)


async def test_server_namespace_disconnect_tells_the_client(server):
    handler = Handler(server)
    server.add_namespace("/custom", handler)
    _conn, sink = await connect(server, "/custom")
    (sock,) = handler.sockets
    server.disconnect(sock)
    await spin()
    assert sink.texts()[-1] == "41/custom,"
    assert [r for _s, r in handler.disconnects] == ["server namespace disconnect"]


async def test_event_to_a_namespace_not_joined_is_dropped(server):
    handler = Handler(server)
    server.add_namespace("/", handler)
    server.add_namespace("/other", Handler(server))
    conn, _sink = await connect(server)
    conn.receive(eio.MESSAGE, '2/other,["x"]')
    assert handler.events == []
    assert not conn.closed


@pytest.mark.parametrize(
    "messages",
    [
        ["abc"],
        ["2{}"],
        ['2abc["x"]'],
        [b"\x01"],  # binary without a packet announcing it
        ['51-["x",{"_placeholder":true,"num":0}]', '2["text while binary is due"]'],
        ['51-["x",{"_placeholder":true,"num":3}]', b"\x01"],
    ],
)
async def test_invalid_socketio_packets_close_with_parse_error(server, messages):
    handler = Handler(server)
    server.add_namespace("/", handler)
    conn, _sink = await connect(server)
    for message in messages:
        conn.receive(eio.MESSAGE, message)
    assert conn.closed
    assert [r for _s, r in handler.disconnects] == ["parse error"]


async def test_client_close_packet(server):
    handler = Handler(server)
    server.add_namespace("/", handler)
    conn, _sink = await connect(server)
    conn.receive(eio.CLOSE, "")
    assert conn.closed
    assert [r for _s, r in handler.disconnects] == ["forced close"]


async def test_client_ping_is_answered_with_pong(server):
    conn, sink = open_session(server)
    conn.receive(eio.PING, "x")
    await spin()
    assert sink.texts()[-1] == "3x"


# -- upgrade ------------------------------------------------------------------------------------


async def test_upgrade_from_polling_moves_pending_output(server):
    polling = PollingSink()
    conn = server.open(Handshake(), polling)
    ws = RawSink()
    assert server.begin_upgrade(conn, ws)
    assert not server.begin_upgrade(conn, RawSink())  # one upgrade at a time
    conn.receive(eio.PING, "probe")  # not via the upgrading transport: a plain ping
    conn.out.clear()
    conn.receive(eio.PING, "probe", via=ws)
    assert [p.parts for p in ws.direct] == [("3probe",)]
    assert conn.out[-1] is eio.NOOP_PACKET  # the pending GET returns
    conn.push(eio.message("pending"))
    conn.receive(eio.UPGRADE, "", via=ws)
    assert conn.sink is ws
    assert conn.upgrading is None
    await spin()
    assert ws.texts() == ["4pending"]  # the NOOP stayed behind
    assert not server.begin_upgrade(conn, RawSink())


async def test_open_packet_from_a_client_is_a_protocol_error(server):
    conn, _sink = open_session(server)
    with pytest.raises(eio.EngineProtocolError):
        conn.receive(eio.OPEN, "")
