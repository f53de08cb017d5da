"""The client side of the protocol, sans-I/O: `ClientSession` alone, then against `Server`.

The first half feeds the session the server's packets as the protocol
documents write them; the second half wires it to the in-process `Server`
(no sockets), so client and server share one packet codec and meet here.
"""

from __future__ import annotations

from typing import Any

import pytest

from switchboard.transport import engineio as eio
from switchboard.transport import socketio as sio
from switchboard.transport.client import (
    AckReceived,
    ClientEvent,
    ClientSession,
    Connected,
    ConnectRefused,
    EventReceived,
    NamespaceClosed,
    Opened,
    SessionClosed,
)
from switchboard.transport.connection import Connection, Handshake
from switchboard.transport.engineio import EngineProtocolError
from switchboard.transport.server import Server, ServerOptions
from switchboard.transport.socketio import SocketProtocolError
from tests.unit.transport.test_server import Handler, RecordingSink, spin

OPEN = '0{"sid":"e1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'


def feed(session: ClientSession, *texts: str | bytes) -> list[ClientEvent]:
    events: list[ClientEvent] = []
    for text in texts:
        packet = eio.decode_text(text) if isinstance(text, str) else (eio.MESSAGE, text)
        events += session.receive(packet)
    return events


def opened() -> ClientSession:
    session = ClientSession()
    session.start()
    feed(session, OPEN)
    return session


def connected(namespace: str = "/chat", answer: str = '{"sid":"s1"}') -> ClientSession:
    session = opened()
    feed(session, f"40{namespace},{answer}")
    return session


# -- Engine.IO -------------------------------------------------------------------------------------


def test_open_packet_is_parsed_and_validated() -> None:
    session = ClientSession()
    session.start()
    (event,) = feed(session, OPEN)
    assert isinstance(event, Opened)
    assert (event.info.sid, event.info.upgrades, event.info.max_payload) == ("e1", [], 1_000_000)
    assert event.info.silence_allowed == 45.0


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "0{}",
        "0[]",
        '0{"sid":"","pingInterval":1,"pingTimeout":1,"maxPayload":1}',
        '0{"sid":"x","pingInterval":-5,"pingTimeout":1,"maxPayload":1}',
        '0{"sid":"x","pingInterval":"soon","pingTimeout":1,"maxPayload":1}',
    ],
)
def test_a_bad_open_packet_is_a_protocol_error(text: str) -> None:
    session = ClientSession()
    session.start()
    with pytest.raises(EngineProtocolError):
        feed(session, text)


def test_anything_before_open_is_a_protocol_error() -> None:
    session = ClientSession()
    session.start()
    with pytest.raises(EngineProtocolError):
        feed(session, '42["x"]')


def test_ping_is_answered_with_pong_and_noop_is_ignored() -> None:
    session = opened()
    assert feed(session, "2", "6", "2probe") == []
    assert session.data_to_send() == ["3", "3probe"]
    assert session.data_to_send() == []


def test_close_packet_ends_the_session_and_unexpected_types_are_errors() -> None:
    session = opened()
    assert feed(session, "1") == [SessionClosed()]
    with pytest.raises(EngineProtocolError):
        feed(session, "5")


# -- CONNECT -------------------------------------------------------------------------------------


def test_connect_sends_the_auth_and_the_answer_is_connected() -> None:
    session = opened()
    session.connect("/chat", {"token": "t"})
    session.connect("/", {})
    assert session.data_to_send() == ['40/chat,{"token":"t"}', "40{}"]
    events = feed(session, '40/chat,{"sid":"s1"}', '40{"sid":"s2"}')
    assert events == [Connected("/chat", "s1", False), Connected("/", "s2", False)]
    assert session.sids == {"/chat": "s1", "/": "s2"}


@pytest.mark.parametrize(
    "answer", ["40/chat,", '40/chat,{"sid":5}', '40/chat,{"x":1}', "40/chat,[]"]
)
def test_a_connect_answer_without_a_sid_is_a_protocol_error(answer: str) -> None:
    session = opened()
    with pytest.raises(SocketProtocolError):
        feed(session, answer)


def test_connect_error_is_reported() -> None:
    session = opened()
    events = feed(session, '44/chat,{"message":"unauthorized","data":{"code":"invalid_token"}}')
    assert events == [
        ConnectRefused("/chat", {"message": "unauthorized", "data": {"code": "invalid_token"}})
    ]
    assert session.sids == {}


def test_connect_error_from_a_client_is_still_refused_by_the_server_codec() -> None:
    with pytest.raises(SocketProtocolError):
        sio.decode('4/chat,{"message":"x"}')
    assert sio.decode('4/chat,{"message":"x"}', from_server=True).type == sio.CONNECT_ERROR


# -- events and acks -------------------------------------------------------------------------------


def test_events_reach_the_application_with_their_ack_id() -> None:
    session = connected()
    events = feed(session, '42/chat,["message:new",{"a":1}]', '42/chat,7["ask",1,2]')
    assert events == [
        EventReceived("/chat", "message:new", [{"a": 1}], None),
        EventReceived("/chat", "ask", [1, 2], 7),
    ]
    session.ack("/chat", 7, [])
    assert session.data_to_send() == ["43/chat,7[]"]


def test_emit_numbers_acks_and_the_answer_is_matched() -> None:
    session = connected()
    assert session.emit("/chat", "a", [{"x": 1}], ack=True) == 0
    assert session.emit("/chat", "b", [], ack=True) == 1
    assert session.emit("/chat", "c", ["no ack"], ack=False) is None
    assert session.data_to_send() == [
        '42/chat,0["a",{"x":1}]',
        '42/chat,1["b"]',
        '42/chat,["c","no ack"]',
    ]
    assert feed(session, '43/chat,1[{"ok":true}]') == [AckReceived("/chat", 1, [{"ok": True}])]


def test_binary_arguments_travel_as_attachments_both_ways() -> None:
    session = connected()
    session.emit("/chat", "up", [b"\x01\x02", {"k": b"\x03"}], ack=False)
    assert session.data_to_send() == [
        '452-/chat,["up",{"_placeholder":true,"num":0},{"k":{"_placeholder":true,"num":1}}]',
        b"\x01\x02",
        b"\x03",
    ]
    assert feed(session, '451-/chat,["file",{"_placeholder":true,"num":0}]') == []
    assert feed(session, b"\xff") == [EventReceived("/chat", "file", [b"\xff"], None)]


def test_an_unannounced_binary_message_is_a_protocol_error() -> None:
    session = connected()
    with pytest.raises(SocketProtocolError):
        feed(session, b"\x00")


def test_events_of_a_namespace_not_connected_are_dropped() -> None:
    session = connected()
    assert feed(session, '42/other,["x",{}]') == []


def test_server_disconnect_closes_the_namespace_and_forgets_its_session() -> None:
    session = connected(answer='{"sid":"s1","pid":"p1"}')
    assert feed(session, "41/chat,") == [NamespaceClosed("/chat")]
    assert session.sids == {}
    assert session.pids == {}


def test_client_disconnect_and_close() -> None:
    session = connected(answer='{"sid":"s1","pid":"p1"}')
    session.disconnect("/chat")
    session.close()
    assert session.data_to_send() == ["41/chat,", "1"]
    assert session.pids == {}


# -- connection state recovery ---------------------------------------------------------------------


def test_offset_is_stripped_and_remembered_only_with_a_pid() -> None:
    # No pid: a trailing string is an argument like any other (recovery off).
    session = connected(answer='{"sid":"s1"}')
    events = feed(session, '42/chat,["message:new",{"n":1},"not-an-offset"]')
    assert events == [EventReceived("/chat", "message:new", [{"n": 1}, "not-an-offset"], None)]
    assert session.offsets == {}
    session.connect("/chat", {"token": "t"})
    assert session.data_to_send() == ['40/chat,{"token":"t"}']

    # With a pid: the offset is stripped and becomes the reconnect's offset.
    session = connected(answer='{"sid":"s2","pid":"p1"}')
    events = feed(
        session,
        '42/chat,["message:new",{"n":2},"offset-2"]',
        '42/chat,["message:new",{"n":3}]',  # a direct emit carries no offset
    )
    assert [e.args for e in events if isinstance(e, EventReceived)] == [[{"n": 2}], [{"n": 3}]]
    assert session.offsets == {"/chat": "offset-2"}


def test_reconnect_sends_pid_and_offset_and_the_same_pid_is_recovered() -> None:
    session = connected(answer='{"sid":"s1","pid":"p1"}')
    feed(session, '42/chat,["message:new",{"n":1},"off-1"]')

    session.start()  # a new transport
    assert session.sids == {}
    feed(session, OPEN)
    session.connect("/chat", {"token": "t", "pid": "auth keys win"})
    assert session.data_to_send() == [
        '40/chat,{"pid":"auth keys win","offset":"off-1","token":"t"}'
    ]
    session.connect("/chat", {"token": "t"})
    assert session.data_to_send() == ['40/chat,{"pid":"p1","offset":"off-1","token":"t"}']
    assert feed(session, '40/chat,{"sid":"s1","pid":"p1"}') == [Connected("/chat", "s1", True)]

    # A new pid is a new session: the old offset belonged to the old one.
    session.start()
    feed(session, OPEN, '40/chat,{"sid":"s9","pid":"p2"}')
    assert session.offsets == {}
    session.connect("/chat", {"token": "t"})
    assert session.data_to_send() == ['40/chat,{"pid":"p2","token":"t"}']

    session.forget()
    session.connect("/chat", {"token": "t"})
    assert session.data_to_send() == ['40/chat,{"token":"t"}']


# -- against the in-process server -----------------------------------------------------------------


class Wire:
    """A `ClientSession` and a server `Connection`, joined without sockets."""

    def __init__(self, server: Server) -> None:
        self.client = ClientSession()
        self.client.start()
        self.sink = RecordingSink()
        self.conn: Connection = server.open(Handshake(), self.sink)
        self.conn.push(server.open_packet(self.conn, upgrades=False))
        self._seen = 0

    async def exchange(self) -> list[ClientEvent]:
        """Client packets to the server, then everything the server wrote back."""
        for packet in self.client.data_to_send():
            if isinstance(packet, str):
                kind, data = eio.decode_text(packet)
                self.conn.receive(kind, data)
            else:
                self.conn.receive(eio.MESSAGE, packet)
        await spin()
        events: list[ClientEvent] = []
        parts = self.sink.texts()
        for part in parts[self._seen :]:
            events += self.client.receive(
                eio.decode_text(part) if isinstance(part, str) else (eio.MESSAGE, part)
            )
        self._seen = len(parts)
        return events


@pytest.fixture
async def server() -> Any:
    srv = Server(ServerOptions())
    yield srv
    await srv.shutdown()


async def test_client_and_server_connect_emit_ack_and_disconnect(server: Server) -> None:
    chat = server.add_namespace("/chat", Handler(server)).handler
    server.add_namespace("/notifications", Handler(server))
    wire = Wire(server)
    (opened_event,) = await wire.exchange()
    assert isinstance(opened_event, Opened)
    assert opened_event.info.sid == wire.conn.sid

    wire.client.connect("/chat", {"token": "t"})
    wire.client.connect("/notifications", {"token": "t"})
    events = await wire.exchange()
    assert [type(e) for e in events] == [Connected, Connected]
    (sock,) = chat.sockets
    assert wire.client.sids["/chat"] == sock.sid

    ack_id = wire.client.emit("/chat", "hello", [{"a": 1}, b"\x00\x01"], ack=True)
    assert await wire.exchange() == [AckReceived("/chat", ack_id, ["ok", {"a": 1}, b"\x00\x01"])]
    assert [args for _s, args, _a in chat.events] == [["hello", {"a": 1}, b"\x00\x01"]]

    server.emit(sock, "news", {"b": 2}, b"\xfe")
    assert await wire.exchange() == [EventReceived("/chat", "news", [{"b": 2}, b"\xfe"], None)]

    server.disconnect(sock)
    assert await wire.exchange() == [NamespaceClosed("/chat")]
    assert list(wire.client.sids) == ["/notifications"]


async def test_client_and_server_refusal(server: Server) -> None:
    server.add_namespace("/chat", Handler(server, refuse={"message": "no", "data": {"code": "x"}}))
    wire = Wire(server)
    await wire.exchange()
    wire.client.connect("/chat", {})
    wire.client.connect("/nowhere", {})
    assert await wire.exchange() == [
        ConnectRefused("/chat", {"message": "no", "data": {"code": "x"}}),
        ConnectRefused("/nowhere", {"message": "Invalid namespace"}),
    ]


async def test_client_ping_pong_and_close_reach_the_server(server: Server) -> None:
    handler = server.add_namespace("/chat", Handler(server)).handler
    wire = Wire(server)
    await wire.exchange()
    wire.client.connect("/chat", {})
    await wire.exchange()
    wire.conn.push(eio.PING_PACKET)
    assert await wire.exchange() == []
    assert wire.client.data_to_send() == ["3"]  # answered; the server takes it below
    wire.conn.receive(eio.PONG, "")
    assert not wire.conn.closed
    wire.client.close()
    await wire.exchange()
    assert wire.conn.closed
    assert [r for _s, r in handler.disconnects] == ["forced close"]
