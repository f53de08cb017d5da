"""permessage-deflate (RFC 7692) without context takeover: off by default, a setting."""

from __future__ import annotations

import zlib

import pytest
import websockets

from switchboard.transport import websocket as ws
from switchboard.transport.engineio import Outgoing
from switchboard.transport.websocket import FrameParser, WsMessage, WsProtocolError
from tests.support.clients import register


def client_deflated(payload: bytes, opcode: int = ws.OP_TEXT) -> bytes:
    """A masked client frame compressed on its own, RSV1 set."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = c.compress(payload) + c.flush(zlib.Z_SYNC_FLUSH)
    body = body[:-4]
    mask = b"\x01\x02\x03\x04"
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(body))
    n = len(body)
    head = bytes((0x80 | 0x40 | opcode,))
    if n < 126:
        head += bytes((0x80 | n,))
    elif n < 65536:
        head += bytes((0x80 | 126,)) + n.to_bytes(2, "big")
    else:
        head += bytes((0x80 | 127,)) + n.to_bytes(8, "big")
    return head + mask + masked


def test_negotiation_accepts_plain_offers_and_our_window_only() -> None:
    assert ws.negotiate_deflate(None) is None
    assert ws.negotiate_deflate("x-webkit-deflate-frame") is None
    answer = ws.negotiate_deflate("permessage-deflate; client_max_window_bits")
    assert answer == ws.DEFLATE_RESPONSE
    assert "server_no_context_takeover" in answer
    assert "client_no_context_takeover" in answer
    assert ws.negotiate_deflate("permessage-deflate; server_max_window_bits=10") is None
    assert (
        ws.negotiate_deflate("permessage-deflate; server_max_window_bits=10, permessage-deflate")
        == ws.DEFLATE_RESPONSE
    )


def test_compressed_client_message_is_inflated() -> None:
    text = b"4" + b"hello " * 100
    events = FrameParser(10_000, inflate=True).feed(client_deflated(text))
    assert events == [WsMessage(True, text)]


def test_rsv1_without_negotiation_is_a_protocol_error() -> None:
    with pytest.raises(WsProtocolError) as err:
        FrameParser(10_000).feed(client_deflated(b"4" + b"x" * 300))
    assert err.value.code == ws.CLOSE_PROTOCOL_ERROR


def test_a_compression_bomb_is_refused_by_the_inflated_size() -> None:
    bomb = client_deflated(b"4" + b"\x00" * 5_000_000, ws.OP_BINARY)
    assert len(bomb) < 10_000
    with pytest.raises(WsProtocolError) as err:
        FrameParser(1_000_000, inflate=True).feed(bomb)
    assert err.value.code == ws.CLOSE_TOO_BIG


def test_server_frames_are_compressed_once_and_small_ones_left_alone() -> None:
    big = Outgoing("42" + '["message:new",{"body":"' + "chat " * 100 + '"}]')
    frame = big.ws_deflated
    assert frame is big.ws_deflated  # cached: one compression per broadcast
    assert frame[0] == 0x80 | 0x40 | ws.OP_TEXT
    assert len(frame) < len(big.ws)
    small = Outgoing("2")
    assert small.ws_deflated == small.ws


async def test_a_server_with_compression_talks_deflate_to_a_client_that_offers_it(
    server_factory,  # type: ignore[no-untyped-def]
) -> None:
    srv = server_factory(env={"SWITCHBOARD_WS_COMPRESSION": "true"})
    user = await register(srv.url)
    url = srv.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with websockets.connect(url, additional_headers=user.cookie) as conn:
        extensions = conn.response.headers.get("Sec-WebSocket-Extensions", "")
        assert "permessage-deflate" in extensions
        assert str(await conn.recv()).startswith("0{")
        await conn.send("40/chat,")
        assert str(await conn.recv()).startswith("40/chat,")
        long_query = '42/chat,1["presence:query",{"user_ids":[' + ",".join(["1"] * 300) + "]}]"
        await conn.send(long_query)  # compressed by the client
        while True:
            answer = str(await conn.recv())
            if answer.startswith("43/chat,1"):
                assert '"ok":true' in answer
                break


async def test_compression_is_off_by_default(server) -> None:  # type: ignore[no-untyped-def]
    url = server.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with websockets.connect(url) as conn:
        assert conn.response.headers.get("Sec-WebSocket-Extensions") is None
        assert str(await conn.recv()).startswith("0{")
