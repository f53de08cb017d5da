"""Socket.IO v5 packets, sans-I/O: parse and encode them, in either direction.

A packet is `<type>[<attachments>-][/<namespace>,][<ack id>][<JSON>]`:
0 CONNECT, 1 DISCONNECT, 2 EVENT, 3 ACK, 4 CONNECT_ERROR, 5 BINARY_EVENT,
6 BINARY_ACK. Binary arguments travel as separate Engine.IO binary messages
after the text packet, which holds `{"_placeholder":true,"num":i}` in their
place; `Reassembler` puts them back.

Malformed packets raise `SocketProtocolError` and the connection is closed, as
the reference server does. A well-formed EVENT whose name is not a string is
NOT a protocol error: the application answers it with an error ack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

import orjson

from switchboard.transport.engineio import Outgoing

CONNECT: Final = 0
DISCONNECT: Final = 1
EVENT: Final = 2
ACK: Final = 3
CONNECT_ERROR: Final = 4
BINARY_EVENT: Final = 5
BINARY_ACK: Final = 6

# Bounds on what a client may ask the server to hold while a packet is assembled.
MAX_ATTACHMENTS: Final = 16
_MAX_ACK_ID_DIGITS: Final = 15
_MAX_NAMESPACE_CHARS: Final = 256
_JSON_OPTIONS: Final = orjson.OPT_NON_STR_KEYS


class SocketProtocolError(Exception):
    """Not a Socket.IO v5 packet."""


@dataclass(slots=True)
class SioPacket:
    type: int
    namespace: str
    data: Any = None
    id: int | None = None
    attachments: int = 0


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, option=_JSON_OPTIONS).decode("utf-8")
    except TypeError:
        # A string that is not valid UTF-8 (a lone surrogate) or an integer past
        # 64 bits: the standard encoder escapes or writes them.
        return json.dumps(value, separators=(",", ":"))


def decode(text: str, *, from_server: bool = False) -> SioPacket:
    """Parse one text packet; binary attachments (if announced) follow separately.

    `from_server` parses the server's direction (the client side of the
    protocol): CONNECT answers carry an object, CONNECT_ERROR is allowed.
    """
    n = len(text)
    if n == 0 or not "0" <= text[0] <= "6":
        raise SocketProtocolError("unknown packet type")
    kind = ord(text[0]) - 48
    i = 1
    attachments = 0
    if kind in (BINARY_EVENT, BINARY_ACK):
        dash = text.find("-", i)
        digits = text[i:dash] if dash > 0 else ""
        if not digits.isdigit() or len(digits) > 3:
            raise SocketProtocolError("invalid attachment count")
        attachments = int(digits)
        if attachments > MAX_ATTACHMENTS:
            raise SocketProtocolError("too many attachments")
        i = dash + 1
    namespace = "/"
    if i < n and text[i] == "/":
        comma = text.find(",", i)
        end = n if comma < 0 else comma
        namespace = text[i:end]
        if len(namespace) > _MAX_NAMESPACE_CHARS:
            raise SocketProtocolError("namespace too long")
        i = end + 1 if comma >= 0 else n
    ack_id: int | None = None
    start = i
    while i < n and "0" <= text[i] <= "9":
        i += 1
    if i > start:
        if i - start > _MAX_ACK_ID_DIGITS:
            raise SocketProtocolError("ack id too long")
        ack_id = int(text[start:i])
    data: Any = None
    if i < n:
        data = _loads(text[i:])
    packet = SioPacket(kind, namespace, data, ack_id, attachments)
    _check_payload(packet, has_payload=i < n, from_server=from_server)
    return packet


def _loads(body: str) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    # orjson refuses valid JSON that Python can hold, a lone surrogate escape
    # ("\\ud800"): the standard parser takes it, so the application can refuse it
    # with an error ack instead of a dropped connection. (An integer past 64 bits
    # orjson reads as a float, which the payload models refuse like the integer.)
    try:
        return json.loads(body, parse_constant=_not_json)
    except (ValueError, RecursionError):
        raise SocketProtocolError("invalid JSON payload") from None


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_payload(packet: SioPacket, *, has_payload: bool, from_server: bool) -> None:
    kind, data = packet.type, packet.data
    if kind == CONNECT:
        # A client's auth is optional; a server's answer always carries `{sid, ...}`.
        ok = isinstance(data, dict) if from_server else not has_payload or isinstance(data, dict)
    elif kind == CONNECT_ERROR:
        ok = from_server and isinstance(data, dict)
    elif kind == DISCONNECT:
        ok = not has_payload
    elif kind in (EVENT, BINARY_EVENT):
        ok = isinstance(data, list) and len(data) > 0
    elif kind in (ACK, BINARY_ACK):
        ok = isinstance(data, list) and packet.id is not None
    else:
        ok = False
    if not ok:
        raise SocketProtocolError("invalid payload for the packet type")


class Reassembler:
    """Collects the binary attachments announced by a BINARY_EVENT or BINARY_ACK."""

    __slots__ = ("buffers", "packet")

    def __init__(self, packet: SioPacket) -> None:
        self.packet = packet
        self.buffers: list[bytes] = []

    def add(self, data: bytes) -> SioPacket | None:
        """Take one attachment; the whole packet once the last one arrived."""
        self.buffers.append(data)
        if len(self.buffers) < self.packet.attachments:
            return None
        self.packet.data = _fill(self.packet.data, self.buffers)
        return self.packet


def _fill(value: Any, buffers: list[bytes]) -> Any:
    if isinstance(value, list):
        return [_fill(v, buffers) for v in value]
    if isinstance(value, dict):
        if value.get("_placeholder") is True and len(value) == 2:
            num = value.get("num")
            if isinstance(num, int) and not isinstance(num, bool) and 0 <= num < len(buffers):
                return buffers[num]
            raise SocketProtocolError("invalid attachment placeholder")
        return {k: _fill(v, buffers) for k, v in value.items()}
    return value


def _extract(value: Any, buffers: list[bytes]) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        buffers.append(bytes(value))
        return {"_placeholder": True, "num": len(buffers) - 1}
    if isinstance(value, list | tuple):
        return [_extract(v, buffers) for v in value]
    if isinstance(value, dict):
        return {k: _extract(v, buffers) for k, v in value.items()}
    return value


def _has_binary(value: Any) -> bool:
    if isinstance(value, bytes | bytearray | memoryview):
        return True
    if isinstance(value, list | tuple):
        return any(_has_binary(v) for v in value)
    if isinstance(value, dict):
        return any(_has_binary(v) for v in value.values())
    return False


def encode(kind: int, namespace: str, data: Any = None, ack_id: int | None = None) -> Outgoing:
    """One packet, ready for every transport; bytes in `data` become attachments."""
    prefix = "" if namespace == "/" else namespace + ","
    ident = "" if ack_id is None else str(ack_id)
    if data is None:
        return Outgoing(f"4{kind}{prefix}{ident}")
    try:
        # The common case in one C call; bytes (attachments) make orjson refuse.
        body = orjson.dumps(data, option=_JSON_OPTIONS).decode("utf-8")
    except TypeError:
        if kind in (EVENT, ACK) and _has_binary(data):
            buffers: list[bytes] = []
            body = dumps(_extract(data, buffers))
            kind = BINARY_EVENT if kind == EVENT else BINARY_ACK
            head = f"4{kind}{len(buffers)}-{prefix}{ident}{body}"
            return Outgoing(head, *buffers)
        body = dumps(data)
    return Outgoing(f"4{kind}{prefix}{ident}{body}")


def encode_event(namespace: str, args: list[Any], ack_id: int | None = None) -> Outgoing:
    """An EVENT: `args` is `[name, *arguments]`."""
    return encode(EVENT, namespace, args, ack_id)
