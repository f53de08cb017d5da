"""Engine.IO v4 packets, sans-I/O: what travels inside a WebSocket message or a polling body.

A packet is a type digit and data: `0` open, `1` close, `2` ping, `3` pong,
`4` message, `5` upgrade, `6` noop. Over WebSocket each packet is one message
(a binary message is a `4` packet with bytes); over long-polling a body holds
several packets separated by `\\x1e`, binary ones as `b` + base64.

`Outgoing` is what the server sends: a few packets, encoded for WebSocket
(ready frames, concatenated) and, only when a polling client needs it, for a
polling body. A broadcast builds one `Outgoing` and hands the same object to
every recipient.
"""

from __future__ import annotations

import base64
import binascii
from typing import Final

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from switchboard.transport.websocket import OP_BINARY, OP_TEXT, deflate_frame, frame, text_frame

OPEN: Final = 0
CLOSE: Final = 1
PING: Final = 2
PONG: Final = 3
MESSAGE: Final = 4
UPGRADE: Final = 5
NOOP: Final = 6

SEPARATOR: Final = "\x1e"

Packet = tuple[int, str | bytes]


class EngineProtocolError(Exception):
    """A packet or payload that is not Engine.IO v4: the session is closed."""


def decode_text(text: str) -> Packet:
    """One packet from a WebSocket text message or one segment of a polling body."""
    if not text:
        raise EngineProtocolError("empty packet")
    kind = ord(text[0]) - 48
    if not 0 <= kind <= 6:
        if text[0] == "b":
            try:
                return MESSAGE, base64.b64decode(text[1:], validate=True)
            except (binascii.Error, ValueError):
                raise EngineProtocolError("invalid base64 packet") from None
        raise EngineProtocolError("unknown packet type")
    return kind, text[1:]


def decode_payload(body: str) -> list[Packet]:
    """Every packet of a polling body (a client's POST, or a server's GET answer)."""
    return [decode_text(segment) for segment in body.split(SEPARATOR)]


class OpenInfo(BaseModel):
    """The OPEN packet's JSON: the session id and the heartbeat the server keeps."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    sid: str = Field(min_length=1, max_length=256)
    upgrades: list[str] = Field(default_factory=list, max_length=8)
    ping_interval_ms: int = Field(alias="pingInterval", ge=1, le=3_600_000)
    ping_timeout_ms: int = Field(alias="pingTimeout", ge=1, le=3_600_000)
    max_payload: int = Field(alias="maxPayload", ge=1)

    @property
    def silence_allowed(self) -> float:
        """Seconds without a packet from the server after which the session is dead."""
        return (self.ping_interval_ms + self.ping_timeout_ms) / 1000


def _json_str(text: str) -> str:
    return orjson.dumps(text).decode()


class OpenTemplate:
    """The OPEN packets a server sends (`decode_open` reads one on the client).

    They differ only in their sid: the rest is validated and encoded once.

    Building and dumping an `OpenInfo` costs about 10 µs, a noticeable part of a
    connect storm's CPU; filling in the sid costs well under one.
    """

    __slots__ = ("_tail",)

    def __init__(self, info: OpenInfo) -> None:
        encoded = info.model_dump_json(by_alias=True)
        head = '{"sid":' + _json_str(info.sid)
        if not encoded.startswith(head):
            raise ValueError("OpenInfo no longer encodes its sid first")
        self._tail = encoded[len(head) :]

    def packet(self, sid: str) -> Outgoing:
        return Outgoing('0{"sid":' + _json_str(sid) + self._tail)


def decode_open(data: str | bytes) -> OpenInfo:
    """The data of an OPEN packet (what follows the `0`), validated: it comes from the network."""
    try:
        return OpenInfo.model_validate_json(data)
    except ValidationError:
        raise EngineProtocolError("invalid open packet") from None


class Outgoing:
    """Packets the server sends, encoded once for every transport that asks."""

    __slots__ = ("_polling", "_ws", "_wsz", "parts")

    def __init__(self, *parts: str | bytes) -> None:
        # Text parts carry their type digit ("42[...]"); bytes parts are binary messages.
        self.parts = parts
        self._ws: bytes | None = None
        self._wsz: bytes | None = None
        self._polling: str | None = None

    @property
    def ws(self) -> bytes:
        """WebSocket frames, back to back: one write puts them all on the wire."""
        ws = self._ws
        if ws is None:
            ws = self._ws = b"".join(
                text_frame(p) if isinstance(p, str) else frame(OP_BINARY, p) for p in self.parts
            )
        return ws

    @property
    def ws_deflated(self) -> bytes:
        """The same frames compressed with permessage-deflate (no context takeover)."""
        wsz = self._wsz
        if wsz is None:
            wsz = self._wsz = b"".join(
                deflate_frame(OP_TEXT, p.encode("utf-8"))
                if isinstance(p, str)
                else deflate_frame(OP_BINARY, p)
                for p in self.parts
            )
        return wsz

    @property
    def polling(self) -> str:
        body = self._polling
        if body is None:
            body = self._polling = SEPARATOR.join(
                p if isinstance(p, str) else "b" + base64.b64encode(p).decode("ascii")
                for p in self.parts
            )
        return body


def message(text: str) -> Outgoing:
    """One Engine.IO MESSAGE packet carrying `text` (a Socket.IO packet)."""
    return Outgoing("4" + text)


PING_PACKET: Final = Outgoing("2")
NOOP_PACKET: Final = Outgoing("6")
CLOSE_PACKET: Final = Outgoing("1")
PROBE_PONG: Final = Outgoing("3probe")


def polling_body(packets: list[Outgoing]) -> str:
    return SEPARATOR.join(p.polling for p in packets)
