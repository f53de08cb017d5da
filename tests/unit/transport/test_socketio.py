"""Socket.IO v5 packets, sans-I/O: every form of the protocol document, both directions."""

from __future__ import annotations

import pytest

from switchboard.transport import socketio as sio
from switchboard.transport.engineio import Outgoing
from switchboard.transport.socketio import Reassembler, SioPacket, SocketProtocolError


def ph(num: int) -> dict:
    return {"_placeholder": True, "num": num}


def parts(out: Outgoing) -> tuple:
    return out.parts


# -- decode ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "packet"),
    [
        ("0", SioPacket(sio.CONNECT, "/", None)),
        ('0{"token":"123"}', SioPacket(sio.CONNECT, "/", {"token": "123"})),
        ("0/admin,", SioPacket(sio.CONNECT, "/admin", None)),
        ('0/admin,{"token":"123"}', SioPacket(sio.CONNECT, "/admin", {"token": "123"})),
        ("0/custom", SioPacket(sio.CONNECT, "/custom", None)),  # no comma: the 40/custom form
        ("0{}", SioPacket(sio.CONNECT, "/", {})),
        ("1", SioPacket(sio.DISCONNECT, "/", None)),
        ("1/admin,", SioPacket(sio.DISCONNECT, "/admin", None)),
        ("1/admin", SioPacket(sio.DISCONNECT, "/admin", None)),
        ('2["hello",1]', SioPacket(sio.EVENT, "/", ["hello", 1])),
        ('2/admin,["hello"]', SioPacket(sio.EVENT, "/admin", ["hello"])),
        ('212["hello"]', SioPacket(sio.EVENT, "/", ["hello"], 12)),
        (
            '2/admin,456["project:delete",123]',
            SioPacket(sio.EVENT, "/admin", ["project:delete", 123], 456),
        ),
        ('20["x"]', SioPacket(sio.EVENT, "/", ["x"], 0)),
        (
            '2["a",{"b":[true,null,1.5]}]',
            SioPacket(sio.EVENT, "/", ["a", {"b": [True, None, 1.5]}]),
        ),
        ("3/admin,456[]", SioPacket(sio.ACK, "/admin", [], 456)),
        ('312["x",2]', SioPacket(sio.ACK, "/", ["x", 2], 12)),
        ("2" + "9" * 15 + '["a"]', SioPacket(sio.EVENT, "/", ["a"], 10**15 - 1)),
    ],
)
def test_decode_text_packets(text, packet):
    assert sio.decode(text) == packet


@pytest.mark.parametrize("args", [[1], [None], [{"a": 1}], [["nested"]], [True, "x"]])
def test_event_whose_first_element_is_not_a_string_is_not_an_error(args):
    import orjson

    packet = sio.decode("2" + orjson.dumps(args).decode())
    assert packet.type == sio.EVENT
    assert packet.data == args


def test_binary_event_with_one_attachment():
    packet = sio.decode('51-["hello",{"_placeholder":true,"num":0}]')
    assert (packet.type, packet.namespace, packet.id, packet.attachments) == (
        sio.BINARY_EVENT,
        "/",
        None,
        1,
    )
    done = Reassembler(packet).add(b"\x01\x02\x03")
    assert done is packet
    assert done.data == ["hello", b"\x01\x02\x03"]


def test_binary_event_two_attachments_namespace_and_ack_id():
    packet = sio.decode(
        '52-/admin,456["upload",{"_placeholder":true,"num":1},{"k":[{"_placeholder":true,"num":0}]}]'
    )
    assert (packet.type, packet.namespace, packet.id, packet.attachments) == (
        sio.BINARY_EVENT,
        "/admin",
        456,
        2,
    )
    assembling = Reassembler(packet)
    assert assembling.add(b"first") is None
    done = assembling.add(b"second")
    assert done is not None
    assert done.data == ["upload", b"second", {"k": [b"first"]}]


def test_binary_ack():
    packet = sio.decode('61-/admin,456[{"_placeholder":true,"num":0}]')
    assert (packet.type, packet.namespace, packet.id, packet.attachments) == (
        sio.BINARY_ACK,
        "/admin",
        456,
        1,
    )
    assert Reassembler(packet).add(b"\x00").data == [b"\x00"]


def test_binary_event_that_announces_452_dash():
    packet = sio.decode(
        '52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
    )
    assembling = Reassembler(packet)
    assembling.add(b"\x01\x02\x03")
    assert assembling.add(b"\x04\x05\x06").data == ["message", b"\x01\x02\x03", b"\x04\x05\x06"]


@pytest.mark.parametrize(
    "placeholder",
    [
        '{"_placeholder":true,"num":1}',  # only one attachment
        '{"_placeholder":true,"num":-1}',
        '{"_placeholder":true,"num":"0"}',
        '{"_placeholder":true,"num":true}',
        '{"_placeholder":true,"num":0.5}',
        '{"_placeholder":true,"nom":0}',
    ],
)
def test_invalid_placeholder(placeholder):
    packet = sio.decode('51-["x",' + placeholder + "]")
    with pytest.raises(SocketProtocolError):
        Reassembler(packet).add(b"data")


def test_object_that_only_looks_like_a_placeholder_is_data():
    packet = sio.decode('51-["x",{"_placeholder":false,"num":0},{"_placeholder":true,"num":0}]')
    assert Reassembler(packet).add(b"z").data == ["x", {"_placeholder": False, "num": 0}, b"z"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "7",
        "9[]",
        "a",
        "-",
        "/admin,",
        '4{"message":"x"}',  # CONNECT_ERROR is for servers to send
        '0"token"',  # CONNECT payload must be an object
        "0[]",
        '1{"x":1}',  # DISCONNECT has no payload
        "2",  # EVENT with no payload
        '2{"a":1}',  # payload not an array
        '2"hello"',
        "2[]",  # an event needs at least its name
        "2/admin,",
        '3["x"]',  # ACK without an id
        "312",  # ACK without a payload
        "312{}",
        '2["a",',  # invalid JSON
        '2["a"]]',
        "2{",
        '2abc["message-with-ack",1]',  # invalid ack id
        "2" + "1" * 16 + '["a"]',  # ack id too long
        '5["x",{"_placeholder":true,"num":0}]',  # no attachment count
        '5-["x",{"_placeholder":true,"num":0}]',
        '5x-["x",{"_placeholder":true,"num":0}]',
        '51["x",{"_placeholder":true,"num":0}]',
        '51000-["x"]',
        '517-["x"]',  # too many attachments
        "51-{}",
        "61-[]",  # BINARY_ACK without an id
        "2/" + "n" * 300 + ',["a"]',  # namespace too long
    ],
)
def test_decode_invalid(text):
    with pytest.raises(SocketProtocolError):
        sio.decode(text)


def test_attachment_limit_is_inclusive():
    packet = sio.decode('516-["x"]')
    assert packet.attachments == sio.MAX_ATTACHMENTS == 16


# -- encode ----------------------------------------------------------------------------------------


def test_encode_event():
    assert parts(sio.encode_event("/", ["hello", 1, {"a": [True]}])) == (
        '42["hello",1,{"a":[true]}]',
    )


def test_encode_event_with_namespace_and_ack_id():
    assert parts(sio.encode_event("/admin", ["hello"])) == ('42/admin,["hello"]',)
    assert parts(sio.encode_event("/", ["hello"], ack_id=12)) == ('4212["hello"]',)
    assert parts(sio.encode_event("/admin", ["x"], ack_id=7)) == ('42/admin,7["x"]',)


def test_encode_ack():
    assert parts(sio.encode(sio.ACK, "/", [1, "2", {"3": [False]}], 456)) == (
        '43456[1,"2",{"3":[false]}]',
    )
    assert parts(sio.encode(sio.ACK, "/admin", [], 456)) == ("43/admin,456[]",)


def test_encode_connect_and_connect_error():
    assert parts(sio.encode(sio.CONNECT, "/", {"sid": "abc"})) == ('40{"sid":"abc"}',)
    assert parts(sio.encode(sio.CONNECT, "/admin", {"sid": "abc"})) == ('40/admin,{"sid":"abc"}',)
    assert parts(sio.encode(sio.CONNECT_ERROR, "/random", {"message": "Invalid namespace"})) == (
        '44/random,{"message":"Invalid namespace"}',
    )
    assert parts(sio.encode(sio.CONNECT_ERROR, "/", {"message": "no"})) == ('44{"message":"no"}',)


def test_encode_disconnect():
    assert parts(sio.encode(sio.DISCONNECT, "/")) == ("41",)
    assert parts(sio.encode(sio.DISCONNECT, "/admin")) == ("41/admin,",)


def test_encode_binary_event_with_placeholders_in_order():
    out = sio.encode_event(
        "/", ["hello", b"\x01\x02", {"k": bytearray(b"\x03")}, [memoryview(b"4")]]
    )
    assert parts(out) == (
        '453-["hello",{"_placeholder":true,"num":0},{"k":{"_placeholder":true,"num":1}},'
        '[{"_placeholder":true,"num":2}]]',
        b"\x01\x02",
        b"\x03",
        b"4",
    )
    assert all(type(p) is bytes for p in out.parts[1:])


def test_encode_binary_event_with_namespace_and_ack_id():
    out = sio.encode_event("/admin", ["up", b"\xff"], ack_id=7)
    assert parts(out) == ('451-/admin,7["up",{"_placeholder":true,"num":0}]', b"\xff")


def test_encode_binary_ack():
    out = sio.encode(sio.ACK, "/", [b"\x01\x02\x03", b"\x04\x05\x06"], 789)
    assert parts(out) == (
        '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
        b"\x01\x02\x03",
        b"\x04\x05\x06",
    )
    out = sio.encode(sio.ACK, "/custom", [b""], 1)
    assert parts(out) == ('461-/custom,1[{"_placeholder":true,"num":0}]', b"")


def test_encode_tuples_are_arrays():
    assert parts(sio.encode_event("/", ["x", (1, 2)])) == ('42["x",[1,2]]',)


def test_encoded_binary_event_is_on_the_wire_as_text_then_binary_frames():
    out = sio.encode_event("/", ["a", b"\x09"])
    head = b'451-["a",{"_placeholder":true,"num":0}]'
    assert out.ws == bytes((0x81, len(head))) + head + b"\x82\x01\x09"
    assert out.polling == head.decode() + "\x1ebCQ=="


@pytest.mark.parametrize(
    ("namespace", "args", "ack_id"),
    [
        ("/", ["e", b"\x00\x01", {"deep": [b"x", {"y": b""}]}], None),
        ("/admin", ["e", "text", 3, None], 42),
        ("/admin", ["e", b"bin"], 0),
    ],
)
def test_round_trip(namespace, args, ack_id):
    out = sio.encode_event(namespace, args, ack_id)
    head, *buffers = out.parts
    assert head.startswith("4")
    packet = sio.decode(head[1:])
    assert packet.namespace == namespace
    assert packet.id == ack_id
    assert packet.attachments == len(buffers)
    if buffers:
        assembling = Reassembler(packet)
        for buf in buffers:
            done = assembling.add(buf)
        packet = done
    assert packet.data == args


@pytest.mark.parametrize(
    "text",
    [
        '2["a",NaN]',
        '2["a",Infinity]',
        '2["a",-Infinity]',
        '0{"a":NaN}',
        "2[\"a\",'single quotes']",
        '2["a",1,]',
        '2["a\x01"]',  # a raw control character inside a string
        "2[" * 5000 + "]" * 5000,  # nested past any parser's depth limit
    ],
)
def test_decode_refuses_what_json_does_not_allow(text):
    with pytest.raises(SocketProtocolError):
        sio.decode(text)


def test_lone_surrogate_escape_is_valid_json_and_survives_a_round_trip():
    packet = sio.decode('2["a","\\ud800"]')
    assert packet.data == ["a", "\ud800"]
    (text,) = sio.encode_event("/", packet.data).parts
    assert sio.decode(text[1:]).data == ["a", "\ud800"]
    text.encode("utf-8")  # what goes on the wire is valid UTF-8
