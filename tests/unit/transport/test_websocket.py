"""RFC 6455 on the server side, sans-I/O: the upgrade answer, server frames, client frames."""

from __future__ import annotations

import base64
import os

import pytest

from switchboard.transport import websocket as ws
from switchboard.transport.websocket import (
    FrameParser,
    WsClose,
    WsMessage,
    WsPing,
    WsPong,
    WsProtocolError,
)

MASK = b"\x37\xfa\x21\x3d"  # the masking key of the RFC's section 5.7 examples


def masked(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bytes | None = MASK,
    announce: int | None = None,
) -> bytes:
    """A client frame; `mask=None` leaves it unmasked, `announce` lies about the length."""
    n = len(payload) if announce is None else announce
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    mask_bit = 0x80 if mask is not None else 0
    if n < 126:
        head = bytes((first, mask_bit | n))
    elif n < 65536:
        head = bytes((first, mask_bit | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((first, mask_bit | 127)) + n.to_bytes(8, "big")
    if mask is None:
        return head + payload
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + body


def feed_all(parser: FrameParser, data: bytes, step: int = 1) -> list:
    events: list = []
    for i in range(0, len(data), step):
        events += parser.feed(data[i : i + step])
    return events


def error_of(parser: FrameParser, data: bytes) -> WsProtocolError:
    with pytest.raises(WsProtocolError) as info:
        parser.feed(data)
    return info.value


# -- the opening handshake ------------------------------------------------------------------


def test_accept_key_of_the_rfc_example():
    assert ws.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_upgrade_response_is_a_101_with_the_accept_value():
    answer = ws.upgrade_response("dGhlIHNhbXBsZSBub25jZQ==")
    assert answer.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert answer.endswith(b"\r\n\r\n")
    lines = answer.decode("ascii").split("\r\n")
    assert "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in lines
    assert "Upgrade: websocket" in lines
    assert "Connection: Upgrade" in lines


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        ("dGhlIHNhbXBsZSBub25jZQ==", True),
        (base64.b64encode(bytes(range(16))).decode(), True),
        (None, False),
        ("", False),
        (base64.b64encode(b"fifteen bytes!!").decode(), False),  # 15 bytes
        (base64.b64encode(bytes(range(17))).decode(), False),
        ("not base64 at all!!!!!!!", False),
    ],
)
def test_valid_key_wants_16_base64_bytes(key, ok):
    assert ws.valid_key(key) is ok


# -- server frames ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "header"),
    [
        (0, b"\x81\x00"),
        (1, b"\x81\x01"),
        (125, b"\x81\x7d"),
        (126, b"\x81\x7e\x00\x7e"),
        (65535, b"\x81\x7e\xff\xff"),
        (65536, b"\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
    ],
)
def test_server_text_frame_header_lengths(size, header):
    payload = b"x" * size
    out = ws.frame(ws.OP_TEXT, payload)
    assert out[: len(header)] == header
    assert out[len(header) :] == payload
    assert len(out) == len(header) + size


def test_server_frames_of_the_rfc_examples():
    # Section 5.7: a single-frame unmasked text message, and 256 bytes / 64 KiB binary.
    assert ws.text_frame("Hello") == bytes.fromhex("810548656c6c6f")
    assert ws.frame(ws.OP_BINARY, bytes(256))[:4] == bytes.fromhex("827e0100")
    assert ws.frame(ws.OP_BINARY, bytes(65536))[:10] == bytes.fromhex("827f0000000000010000")


def test_server_frames_are_final_and_unmasked():
    for opcode in (ws.OP_TEXT, ws.OP_BINARY, ws.OP_PING, ws.OP_PONG, ws.OP_CLOSE):
        out = ws.frame(opcode, b"abc")
        assert out[0] == 0x80 | opcode
        assert out[1] & 0x80 == 0
        assert out[2:] == b"abc"


def test_text_frame_length_counts_utf8_bytes():
    assert ws.text_frame("é€") == b"\x81\x05" + "é€".encode()


def test_close_frame():
    assert ws.close_frame() == b"\x88\x02\x03\xe8"
    assert ws.close_frame(1002) == b"\x88\x02\x03\xea"
    assert ws.close_frame(1001, "bye") == b"\x88\x05\x03\xe9bye"


def test_close_frame_reason_stays_a_control_frame():
    out = ws.close_frame(1000, "x" * 500)
    assert out[1] <= 125
    assert len(out) == 2 + out[1]


def test_close_frame_reason_is_cut_on_a_character_boundary():
    for reason in ("a" + "€" * 50, "ab" + "€" * 50, "😀" * 40, "é" * 70 + "a"):
        out = ws.close_frame(1000, reason)  # over the limit: a cut is needed
        assert out[1] <= 125
        cut = out[4:].decode("utf-8")  # raises if a character was split
        assert reason.startswith(cut)
        assert len(reason.encode()) > len(cut.encode()) >= 100


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 7, 8, 9, 125, 1000, 65537])
def test_unmask_is_xor_with_the_repeated_key(size):
    data = os.urandom(size)
    key = os.urandom(4)
    expected = bytes(b ^ key[i % 4] for i, b in enumerate(data))
    assert ws.unmask(data, key) == expected
    assert ws.unmask(expected, key) == data


# -- client frames: messages ---------------------------------------------------------------------


def test_rfc_example_masked_hello():
    parser = FrameParser(1000)
    assert parser.feed(bytes.fromhex("818537fa213d7f9f4d5158")) == [WsMessage(True, b"Hello")]


def test_rfc_example_masked_pong():
    parser = FrameParser(1000)
    assert parser.feed(bytes.fromhex("8a8537fa213d7f9f4d5158")) == [WsPong(b"Hello")]


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70000])
def test_text_and_binary_messages_of_every_length_form(size):
    parser = FrameParser(100_000)
    text = ("é" * size)[: size // 2] + "a" * (size % 2)
    data = os.urandom(size)
    events = parser.feed(masked(ws.OP_TEXT, text.encode()) + masked(ws.OP_BINARY, data))
    assert events == [WsMessage(True, text.encode()), WsMessage(False, data)]


def test_several_frames_in_one_feed():
    parser = FrameParser(1000)
    data = (
        masked(ws.OP_TEXT, b"4one")
        + masked(ws.OP_PING, b"p")
        + masked(ws.OP_BINARY, b"\x00\x01")
        + masked(ws.OP_PONG, b"")
        + masked(ws.OP_TEXT, b"4two")
    )
    assert parser.feed(data) == [
        WsMessage(True, b"4one"),
        WsPing(b"p"),
        WsMessage(False, b"\x00\x01"),
        WsPong(b""),
        WsMessage(True, b"4two"),
    ]


def test_frames_fed_byte_by_byte():
    parser = FrameParser(1000)
    data = (
        masked(ws.OP_TEXT, b"4hello")
        + masked(ws.OP_BINARY, bytes(range(200)))  # 16-bit length
        + masked(ws.OP_PING, b"")
        + masked(ws.OP_CLOSE, (1000).to_bytes(2, "big") + b"done")
    )
    assert feed_all(parser, data, step=1) == [
        WsMessage(True, b"4hello"),
        WsMessage(False, bytes(range(200))),
        WsPing(b""),
        WsClose(1000, "done"),
    ]


def test_64bit_length_header_byte_by_byte_then_payload_in_chunks():
    parser = FrameParser(100_000)
    payload = os.urandom(70_000)
    data = masked(ws.OP_BINARY, payload)
    events = feed_all(parser, data[:14], step=1)  # 2 + 8 length bytes + 4 mask bytes
    assert events == []
    events = feed_all(parser, data[14:], step=4096)
    assert events == [WsMessage(False, payload)]


@pytest.mark.parametrize("step", [1, 2, 3, 7, 1000])
def test_any_split_gives_the_same_events(step):
    data = (
        masked(ws.OP_TEXT, "héllo".encode(), fin=False)
        + masked(ws.OP_PING, b"in between")
        + masked(ws.OP_CONT, " wörld".encode())
        + masked(ws.OP_TEXT, b"4x")
    )
    expected = [
        WsPing(b"in between"),
        WsMessage(True, "héllo wörld".encode()),
        WsMessage(True, b"4x"),
    ]
    assert feed_all(FrameParser(1000), data, step=step) == expected


def test_fragmented_text_with_a_ping_between_fragments():
    parser = FrameParser(1000)
    assert parser.feed(masked(ws.OP_TEXT, b"4hel", fin=False)) == []
    assert parser.feed(masked(ws.OP_PING, b"!")) == [WsPing(b"!")]
    assert parser.feed(masked(ws.OP_CONT, b"lo ", fin=False)) == []
    assert parser.feed(masked(ws.OP_CONT, b"world")) == [WsMessage(True, b"4hello world")]
    # and the next message starts clean
    assert parser.feed(masked(ws.OP_TEXT, b"4next")) == [WsMessage(True, b"4next")]


def test_fragmented_binary_with_a_ping_between_fragments():
    parser = FrameParser(1000)
    events = parser.feed(
        masked(ws.OP_BINARY, b"\x01\x02", fin=False)
        + masked(ws.OP_PING, b"")
        + masked(ws.OP_CONT, b"", fin=False)
        + masked(ws.OP_CONT, b"\x03")
    )
    assert events == [WsPing(b""), WsMessage(False, b"\x01\x02\x03")]


def test_utf8_character_split_across_fragments_is_valid():
    parser = FrameParser(1000)
    euro = "€".encode()
    events = parser.feed(masked(ws.OP_TEXT, euro[:1], fin=False) + masked(ws.OP_CONT, euro[1:]))
    assert events == [WsMessage(True, euro)]


def test_message_of_exactly_max_size_is_accepted():
    parser = FrameParser(10)
    assert parser.feed(masked(ws.OP_BINARY, bytes(10))) == [WsMessage(False, bytes(10))]
    parser = FrameParser(10)
    events = parser.feed(masked(ws.OP_TEXT, b"12345", fin=False) + masked(ws.OP_CONT, b"67890"))
    assert events == [WsMessage(True, b"1234567890")]


def test_ping_between_fragments_does_not_count_against_max_size():
    parser = FrameParser(10)
    events = parser.feed(
        masked(ws.OP_TEXT, b"12345678", fin=False)
        + masked(ws.OP_PING, b"abcde")
        + masked(ws.OP_CONT, b"90")
    )
    assert events == [WsPing(b"abcde"), WsMessage(True, b"1234567890")]


# -- client frames: close ------------------------------------------------------------------------


def test_close_without_payload():
    assert FrameParser(100).feed(masked(ws.OP_CLOSE, b"")) == [WsClose(None, "")]


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999])
def test_close_with_a_valid_code(code):
    payload = code.to_bytes(2, "big") + "au revoir é".encode()
    assert FrameParser(100).feed(masked(ws.OP_CLOSE, payload)) == [WsClose(code, "au revoir é")]


def test_nothing_is_parsed_after_close():
    parser = FrameParser(100)
    events = parser.feed(masked(ws.OP_CLOSE, b"\x03\xe8") + masked(ws.OP_TEXT, b"late"))
    assert events == [WsClose(1000, "")]
    assert parser.feed(masked(ws.OP_TEXT, b"later")) == []


def test_close_with_a_one_byte_payload_is_1002():
    assert error_of(FrameParser(100), masked(ws.OP_CLOSE, b"\x03")).code == 1002


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535])
def test_close_with_an_invalid_code_is_1002(code):
    assert error_of(FrameParser(100), masked(ws.OP_CLOSE, code.to_bytes(2, "big"))).code == 1002


def test_close_reason_not_utf8_is_1007():
    assert error_of(FrameParser(100), masked(ws.OP_CLOSE, b"\x03\xe8\xff\xfe")).code == 1007


# -- client frames: violations -------------------------------------------------------------------


def test_unmasked_client_frame_is_1002():
    err = error_of(FrameParser(100), masked(ws.OP_TEXT, b"4hi", mask=None))
    assert err.code == ws.CLOSE_PROTOCOL_ERROR == 1002


@pytest.mark.parametrize("rsv", [0b100, 0b010, 0b001, 0b111])
def test_reserved_bits_are_1002(rsv):
    assert error_of(FrameParser(100), masked(ws.OP_TEXT, b"4hi", rsv=rsv)).code == 1002


@pytest.mark.parametrize("opcode", [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF])
def test_unknown_opcodes_are_1002(opcode):
    assert error_of(FrameParser(100), masked(opcode, b"x")).code == 1002


@pytest.mark.parametrize("opcode", [ws.OP_PING, ws.OP_PONG, ws.OP_CLOSE])
def test_control_frame_over_125_bytes_is_1002(opcode):
    payload = b"\x03\xe8" + b"x" * 124  # 126 bytes
    assert error_of(FrameParser(1000), masked(opcode, payload)).code == 1002


@pytest.mark.parametrize("opcode", [ws.OP_PING, ws.OP_PONG, ws.OP_CLOSE])
def test_fragmented_control_frame_is_1002(opcode):
    assert error_of(FrameParser(1000), masked(opcode, b"\x03\xe8", fin=False)).code == 1002


@pytest.mark.parametrize("fin", [True, False])
def test_continuation_without_a_message_is_1002(fin):
    assert error_of(FrameParser(100), masked(ws.OP_CONT, b"x", fin=fin)).code == 1002


@pytest.mark.parametrize("second", [ws.OP_TEXT, ws.OP_BINARY])
def test_new_message_inside_a_fragmented_one_is_1002(second):
    parser = FrameParser(100)
    assert parser.feed(masked(ws.OP_BINARY, b"ab", fin=False)) == []
    assert error_of(parser, masked(second, b"cd")).code == 1002


def test_invalid_utf8_text_is_1007():
    err = error_of(FrameParser(100), masked(ws.OP_TEXT, b"4\xff\xfe"))
    assert err.code == ws.CLOSE_INVALID_DATA == 1007


def test_invalid_utf8_in_a_fragmented_text_is_1007():
    parser = FrameParser(100)
    assert parser.feed(masked(ws.OP_TEXT, b"4ok", fin=False)) == []
    assert error_of(parser, masked(ws.OP_CONT, b"\xc3\x28")).code == 1007


def test_truncated_utf8_at_the_end_of_a_text_is_1007():
    assert error_of(FrameParser(100), masked(ws.OP_TEXT, "€".encode()[:2])).code == 1007


def test_binary_messages_are_not_checked_for_utf8():
    assert FrameParser(100).feed(masked(ws.OP_BINARY, b"\xff")) == [WsMessage(False, b"\xff")]


def test_frame_over_max_size_is_1009():
    err = error_of(FrameParser(10), masked(ws.OP_BINARY, bytes(11)))
    assert err.code == ws.CLOSE_TOO_BIG == 1009


def test_fragmented_message_over_max_size_is_1009():
    parser = FrameParser(10)
    assert parser.feed(masked(ws.OP_TEXT, b"123456", fin=False)) == []
    assert error_of(parser, masked(ws.OP_CONT, b"78901")).code == 1009


@pytest.mark.parametrize("announced", [11, 126, 70_000, 2**40, 2**63 - 1])
def test_oversized_frame_is_refused_from_its_header(announced):
    """Only the header (and mask) arrived: the parser refuses before buffering a payload."""
    parser = FrameParser(10)
    head = masked(ws.OP_BINARY, b"", announce=announced)
    err = error_of(parser, head)
    assert err.code == 1009


def test_oversized_header_refused_when_fed_byte_by_byte():
    parser = FrameParser(1000)
    head = masked(ws.OP_BINARY, b"", announce=1 << 30)
    with pytest.raises(WsProtocolError) as info:
        feed_all(parser, head, step=1)
    assert info.value.code == 1009


def test_protocol_error_carries_a_reason():
    err = error_of(FrameParser(100), masked(ws.OP_TEXT, b"x", mask=None))
    assert isinstance(err.reason, str)
    assert err.reason


def _events_until_error(data: bytes, step: int) -> tuple[list, int | None]:
    parser = FrameParser(1000)
    events: list = []
    try:
        for i in range(0, len(data), step):
            events += parser.feed(data[i : i + step])
        events += parser.feed(b"")
    except WsProtocolError as exc:
        return events + list(getattr(exc, "events", [])), exc.code
    return events, None


def test_a_split_before_a_violation_keeps_the_message():
    data = masked(ws.OP_TEXT, b"4hello") + masked(ws.OP_TEXT, b"ab", mask=None)
    assert _events_until_error(data, step=1) == ([WsMessage(True, b"4hello")], 1002)


def test_events_before_a_violation_do_not_depend_on_the_split():
    data = masked(ws.OP_TEXT, b"4hello") + masked(ws.OP_TEXT, b"ab", mask=None)
    assert _events_until_error(data, step=len(data)) == ([WsMessage(True, b"4hello")], 1002)
