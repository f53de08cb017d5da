"""WebSocket (RFC 6455) for servers, sans-I/O: the upgrade answer, frame parsing, framing.

`FrameParser.feed(bytes)` turns what a client sent into `WsMessage`, `WsPing`,
`WsPong` and `WsClose` events, and raises `WsProtocolError` (with the close code
to answer) on anything the RFC forbids. `frame()` builds a server frame:
unmasked, so one frame serves every recipient of a broadcast.

permessage-deflate (RFC 7692) is off unless the server enables it, and then
only without context takeover on either side: every message is compressed on
its own, so a broadcast is still compressed once and the same frame serves
every recipient that negotiated it. Without it, any reserved bit set by a
client is a protocol error.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from dataclasses import dataclass

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_INVALID_DATA = 1007
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# Codes a peer may send in a CLOSE frame (RFC 6455 7.4.1; 1005/1006/1015 are local only).
_SENDABLE_CLOSE_CODES = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012})


class WsProtocolError(Exception):
    """The peer broke the protocol; answer with a CLOSE of `code` and drop the connection."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        # What the same read held before the violation: delivered all the same, so
        # that what the application sees does not depend on how TCP split the bytes.
        self.events: list[WsEvent] = []


@dataclass(slots=True)
class WsMessage:
    text: bool
    data: bytes  # UTF-8 for text messages (already validated)


@dataclass(slots=True)
class WsPing:
    data: bytes


@dataclass(slots=True)
class WsPong:
    data: bytes


@dataclass(slots=True)
class WsClose:
    code: int | None
    reason: str


WsEvent = WsMessage | WsPing | WsPong | WsClose


def accept_key(key: str) -> str:
    """The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`."""
    digest = hashlib.sha1(key.encode("ascii") + _GUID).digest()  # noqa: S324 - fixed by the RFC
    return base64.b64encode(digest).decode("ascii")


def valid_key(key: str | None) -> bool:
    if not key:
        return False
    try:
        return len(base64.b64decode(key, validate=True)) == 16
    except ValueError:
        return False


def upgrade_response(key: str, extensions: str | None = None) -> bytes:
    ext = f"Sec-WebSocket-Extensions: {extensions}\r\n" if extensions else ""
    return (
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept_key(key)}\r\n{ext}\r\n"
    ).encode("ascii")


DEFLATE_RESPONSE = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
# Messages shorter than this are sent as they are (deflate would not pay).
DEFLATE_MIN_BYTES = 128
_DEFLATE_TAIL = b"\x00\x00\xff\xff"


def negotiate_deflate(offer: str | None) -> str | None:
    """Our answer to a client's `Sec-WebSocket-Extensions`, or None to go without."""
    if not offer:
        return None
    for item in offer.split(","):
        name, *params = (p.strip() for p in item.split(";"))
        if name.lower() != "permessage-deflate":
            continue
        keys = {p.split("=", 1)[0].strip().lower(): p for p in params}
        window = keys.get("server_max_window_bits")
        if window is not None and window.split("=", 1)[-1].strip(' "') != "15":
            continue  # we compress with the full window only
        return DEFLATE_RESPONSE
    return None


def deflate_frame(opcode: int, payload: bytes) -> bytes:
    """One final, unmasked frame, compressed on its own (RSV1 set) when that pays."""
    if len(payload) < DEFLATE_MIN_BYTES:
        return frame(opcode, payload)
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH)
    if body.endswith(_DEFLATE_TAIL):
        body = body[:-4]
    whole = frame(opcode, body)
    return bytes((whole[0] | 0x40,)) + whole[1:]


def frame(opcode: int, payload: bytes) -> bytes:
    """One final, unmasked server frame."""
    n = len(payload)
    if n < 126:
        header = bytes((0x80 | opcode, n))
    elif n < 65536:
        header = bytes((0x80 | opcode, 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 127)) + n.to_bytes(8, "big")
    return header + payload


def text_frame(text: str) -> bytes:
    return frame(OP_TEXT, text.encode("utf-8"))


def close_frame(code: int = CLOSE_NORMAL, reason: str = "") -> bytes:
    # A control frame carries at most 125 bytes: the code and up to 123 of reason,
    # cut on a character boundary so that it stays UTF-8.
    encoded = reason.encode("utf-8")[:123].decode("utf-8", "ignore").encode("utf-8")
    return frame(OP_CLOSE, code.to_bytes(2, "big") + encoded)


def unmask(payload: bytes, mask: bytes) -> bytes:
    """XOR with the 4-byte mask, done on one big integer (fast for any size)."""
    n = len(payload)
    if n == 0:
        return payload
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


class FrameParser:
    """Client frames in, events out. Keeps at most one partial frame and one partial message."""

    __slots__ = (
        "_buf",
        "_closed",
        "_frag",
        "_frag_deflated",
        "_frag_op",
        "_frag_size",
        "inflate",
        "max_size",
    )

    def __init__(self, max_size: int, *, inflate: bool = False) -> None:
        self.max_size = max_size
        self.inflate = inflate  # permessage-deflate was negotiated
        self._frag_deflated = False
        self._buf = b""
        self._frag: list[bytes] | None = None
        self._frag_op = 0
        self._frag_size = 0
        self._closed = False

    def feed(self, data: bytes) -> list[WsEvent]:
        """Events in `data` (with what came before); WsProtocolError carries the good ones."""
        events: list[WsEvent] = []
        try:
            self._feed(data, events)
        except WsProtocolError as exc:
            self._closed = True
            exc.events = events
            raise
        return events

    def _feed(self, data: bytes, events: list[WsEvent]) -> None:
        if self._closed:
            return
        buf = self._buf + data if self._buf else data
        pos = 0
        end = len(buf)
        while end - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            if b0 & 0x30 or (b0 & 0x40 and not (self.inflate and b0 & 0x0F in (1, 2))):
                raise WsProtocolError(CLOSE_PROTOCOL_ERROR, "reserved bits set")
            if not b1 & 0x80:
                raise WsProtocolError(CLOSE_PROTOCOL_ERROR, "client frame not masked")
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if end - pos < 4:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                head = 4
            elif length == 127:
                if end - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            opcode = b0 & 0x0F
            if opcode >= 0x8 and (length > 125 or not b0 & 0x80):
                raise WsProtocolError(CLOSE_PROTOCOL_ERROR, "bad control frame")
            # Refuse an oversized frame from its header, before buffering its payload
            # (control frames are never part of the message being assembled).
            so_far = self._frag_size if opcode == OP_CONT else 0
            if length + so_far > self.max_size:
                raise WsProtocolError(CLOSE_TOO_BIG, "message too big")
            if end - pos < head + 4 + length:
                break
            mask = buf[pos + head : pos + head + 4]
            start = pos + head + 4
            payload = unmask(buf[start : start + length], mask)
            pos = start + length
            event = self._frame(b0 & 0x80 != 0, opcode, payload, b0 & 0x40 != 0)
            if event is not None:
                events.append(event)
                if isinstance(event, WsClose):
                    self._closed = True
                    break
        self._buf = buf[pos:]

    def _frame(self, fin: bool, opcode: int, payload: bytes, deflated: bool) -> WsEvent | None:
        if opcode in (OP_TEXT, OP_BINARY):
            if self._frag is not None:
                raise WsProtocolError(CLOSE_PROTOCOL_ERROR, "new message inside a fragmented one")
            if fin:
                return self._message(opcode, self._inflate(payload) if deflated else payload)
            self._frag, self._frag_op, self._frag_size = [payload], opcode, len(payload)
            self._frag_deflated = deflated
            return None
        if opcode == OP_CONT:
            if self._frag is None:
                raise WsProtocolError(CLOSE_PROTOCOL_ERROR, "continuation without a message")
            self._frag.append(payload)
            self._frag_size += len(payload)
            if not fin:
                return None
            whole = b"".join(self._frag)
            op = self._frag_op
            self._frag, self._frag_size = None, 0
            return self._message(op, self._inflate(whole) if self._frag_deflated else whole)
        if opcode == OP_PING:
            return WsPing(payload)
        if opcode == OP_PONG:
            return WsPong(payload)
        if opcode == OP_CLOSE:
            return _close_event(payload)
        raise WsProtocolError(CLOSE_PROTOCOL_ERROR, f"unknown opcode {opcode}")

    def _inflate(self, payload: bytes) -> bytes:
        """One message compressed on its own (no context takeover), bounded by max_size."""
        inflater = zlib.decompressobj(-15)
        try:
            data = inflater.decompress(payload + _DEFLATE_TAIL, self.max_size + 1)
        except zlib.error:
            raise WsProtocolError(CLOSE_INVALID_DATA, "bad compressed data") from None
        if len(data) > self.max_size or inflater.unconsumed_tail:
            raise WsProtocolError(CLOSE_TOO_BIG, "message too big")
        return data

    @staticmethod
    def _message(opcode: int, payload: bytes) -> WsMessage:
        if opcode == OP_TEXT:
            try:
                payload.decode("utf-8")
            except UnicodeDecodeError:
                raise WsProtocolError(CLOSE_INVALID_DATA, "text frame is not UTF-8") from None
            return WsMessage(True, payload)
        return WsMessage(False, payload)


def _close_event(payload: bytes) -> WsClose:
    if not payload:
        return WsClose(None, "")
    if len(payload) == 1:
        raise WsProtocolError(CLOSE_PROTOCOL_ERROR, "close frame with a one-byte payload")
    code = int.from_bytes(payload[:2], "big")
    if code not in _SENDABLE_CLOSE_CODES and not 3000 <= code <= 4999:
        raise WsProtocolError(CLOSE_PROTOCOL_ERROR, f"invalid close code {code}")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise WsProtocolError(CLOSE_INVALID_DATA, "close reason is not UTF-8") from None
    return WsClose(code, reason)
