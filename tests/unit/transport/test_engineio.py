"""Engine.IO v4 packets, sans-I/O: decoding what a client sends, encoding what the server sends."""

from __future__ import annotations

import pytest

from switchboard.transport import engineio as eio
from switchboard.transport.engineio import EngineProtocolError, Outgoing


@pytest.mark.parametrize(
    ("text", "packet"),
    [
        ("0", (eio.OPEN, "")),
        ('0{"sid":"x"}', (eio.OPEN, '{"sid":"x"}')),
        ("1", (eio.CLOSE, "")),
        ("2", (eio.PING, "")),
        ("2probe", (eio.PING, "probe")),
        ("3", (eio.PONG, "")),
        ("3probe", (eio.PONG, "probe")),
        ("4", (eio.MESSAGE, "")),
        ("4hello", (eio.MESSAGE, "hello")),
        ("4héllo €", (eio.MESSAGE, "héllo €")),
        ('42["a",1]', (eio.MESSAGE, '2["a",1]')),
        ("5", (eio.UPGRADE, "")),
        ("6", (eio.NOOP, "")),
    ],
)
def test_decode_text_of_each_packet_type(text, packet):
    assert eio.decode_text(text) == packet


def test_packet_type_numbers():
    assert (eio.OPEN, eio.CLOSE, eio.PING, eio.PONG, eio.MESSAGE, eio.UPGRADE, eio.NOOP) == (
        0,
        1,
        2,
        3,
        4,
        5,
        6,
    )


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ("bAQIDBA==", b"\x01\x02\x03\x04"),
        ("bAQID", b"\x01\x02\x03"),
        ("b/w==", b"\xff"),
        ("b" + "AAAA" * 100, bytes(300)),
    ],
)
def test_decode_text_base64_binary_is_a_message(text, data):
    kind, payload = eio.decode_text(text)
    assert kind == eio.MESSAGE
    assert payload == data
    assert isinstance(payload, bytes)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "7",
        "8hello",
        "9",
        "a",
        "x4",
        "/",
        " 4hello",
        "-1",
        "B",
        "bAQI",
        "b!!!!",
        "bAQ=D",
        "b====",
    ],
)
def test_decode_text_invalid(text):
    with pytest.raises(EngineProtocolError):
        eio.decode_text(text)


def test_decode_payload_single_packet():
    assert eio.decode_payload("4hello") == [(eio.MESSAGE, "hello")]


def test_decode_payload_with_separators():
    body = "4hello\x1ebAQIDBA==\x1e2\x1e4world\x1e3"
    assert eio.decode_payload(body) == [
        (eio.MESSAGE, "hello"),
        (eio.MESSAGE, b"\x01\x02\x03\x04"),
        (eio.PING, ""),
        (eio.MESSAGE, "world"),
        (eio.PONG, ""),
    ]


@pytest.mark.parametrize(
    "body", ["", "\x1e", "4a\x1e", "\x1e4a", "4a\x1e\x1e4b", "4a\x1ex", "4a\x1eb%%"]
)
def test_decode_payload_invalid(body):
    with pytest.raises(EngineProtocolError):
        eio.decode_payload(body)


# -- Outgoing -----------------------------------------------------------------------------------


def test_outgoing_text_part():
    out = Outgoing("4hello")
    assert out.ws == b"\x81\x064hello"
    assert out.polling == "4hello"


def test_outgoing_text_and_binary_parts():
    out = Outgoing('451-["x",{"_placeholder":true,"num":0}]', b"\x01\x02\x03")
    head = b'451-["x",{"_placeholder":true,"num":0}]'
    assert out.ws == bytes((0x81, len(head))) + head + b"\x82\x03\x01\x02\x03"
    assert out.polling == '451-["x",{"_placeholder":true,"num":0}]\x1ebAQID'


def test_outgoing_several_binary_parts_and_empty_binary():
    out = Outgoing("4a", b"", b"\xff" * 200)
    assert out.ws == b"\x81\x024a" + b"\x82\x00" + b"\x82\x7e\x00\xc8" + b"\xff" * 200
    assert out.polling == "4a\x1eb\x1eb" + "////" * 66 + "//8="


def test_outgoing_utf8_length_is_in_bytes():
    out = Outgoing("4é€")
    assert out.ws == b"\x81\x06" + "4é€".encode()
    assert out.polling == "4é€"


def test_outgoing_is_encoded_once():
    out = Outgoing("4x", b"\x00")
    assert out.ws is out.ws
    assert out.polling is out.polling


def test_message_helper_and_constant_packets():
    assert eio.message('2["a"]').parts == ('42["a"]',)
    assert eio.PING_PACKET.ws == b"\x81\x012"
    assert eio.PING_PACKET.polling == "2"
    assert eio.NOOP_PACKET.polling == "6"
    assert eio.CLOSE_PACKET.polling == "1"
    assert eio.PROBE_PONG.ws == b"\x81\x063probe"


def test_polling_body_joins_packets_with_the_separator():
    body = eio.polling_body([Outgoing("4a"), Outgoing("4b", b"\x01"), eio.PING_PACKET])
    assert body == "4a\x1e4b\x1ebAQ==\x1e2"
    assert eio.decode_payload(body) == [
        (eio.MESSAGE, "a"),
        (eio.MESSAGE, "b"),
        (eio.MESSAGE, b"\x01"),
        (eio.PING, ""),
    ]


@pytest.mark.parametrize("sid", ["a", "AbC-_09xyzAbC-_09xyz", 'odd "sid" \\ é'])
@pytest.mark.parametrize("upgrades", [[], ["websocket"]])
def test_open_template_fills_in_the_sid_of_a_full_open_packet(
    sid: str, upgrades: list[str]
) -> None:
    info = {"upgrades": upgrades, "pingInterval": 25000, "pingTimeout": 20000}
    template = eio.OpenTemplate(eio.OpenInfo(sid="-", maxPayload=1000, **info))
    packet = template.packet(sid)
    assert packet.parts[0][0] == "0"
    decoded = eio.decode_open(packet.parts[0][1:])
    assert decoded == eio.OpenInfo(sid=sid, maxPayload=1000, **info)
    # Byte for byte what encoding the whole model gives.
    whole = eio.OpenInfo(sid=sid, maxPayload=1000, **info)
    assert packet.parts[0] == "0" + whole.model_dump_json(by_alias=True)
