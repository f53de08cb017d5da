"""Which protocol serves a new connection: ours for a WebSocket that opens with our upgrade.

uvicorn accepts an HTTP protocol *class* (`http=` in `uvicorn.Config`, or
`--http module:Class` on its command line). The class that
`fast_http_protocol(endpoint)` makes, or `HttpProtocol` here, reads a new connection's
first request head. When it is a WebSocket upgrade under the endpoint's path (what
every Socket.IO client sends on a new WebSocket connection), the connection
goes straight to `EngineWebSocketProtocol`; anything else goes, bytes
untouched, to uvicorn's own HTTP protocol, which serves the connection from
then on (and still hands later upgrades on it to the `ws=` class).

Why: through uvicorn's HTTP protocol, an upgrade costs a protocol object,
two address lookups, a parse with a Python callback per header and a rebuilt
copy of the request before our protocol sees it: without them a connect
storm costs about a quarter less server CPU per connect (docs/benchmarks.md).
uvicorn stays the server: sockets, TLS, lifespan, signals, shutdown and every
other request are its own.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, ClassVar, cast

from switchboard.transport.fastws import (
    MAX_HEAD_BYTES,
    Endpoint,
    EngineWebSocketProtocol,
    fast_websocket_protocol,
    http_error,
)

# A header line `Upgrade: websocket` (names and the token are case-insensitive).
_UPGRADE = re.compile(rb"\r\nupgrade[ \t]*:[ \t]*websocket[ \t]*\r\n", re.IGNORECASE)


def fast_http_protocol(
    endpoint: Endpoint | None = None, http: type[asyncio.Protocol] | None = None
) -> type[asyncio.Protocol]:
    """A uvicorn HTTP protocol class: our upgrades to the fast path, the rest to `http`.

    `http` None: uvicorn's httptools protocol (what uvicorn picks with httptools
    installed, as `uvicorn[standard]` has it).
    """
    ws = fast_websocket_protocol(endpoint)
    # Without an endpoint the WebSocket class finds the app's; under another
    # path than the default, its upgrades simply take uvicorn's way to it.
    prefix = b"GET " + (endpoint.path if endpoint else "/socket.io/").encode()
    attributes = {"ws_class": ws, "http_class": http, "prefix": prefix}
    return type("FrontProtocol", (FrontProtocol,), attributes)


class FrontProtocol(asyncio.Protocol):
    ws_class: ClassVar[type[EngineWebSocketProtocol]]
    http_class: ClassVar[type[asyncio.Protocol] | None]  # None: uvicorn's httptools protocol
    prefix: ClassVar[bytes]  # how the request line of our upgrades starts

    def __init__(
        self, config: Any, server_state: Any, app_state: Any = None, _loop: Any = None
    ) -> None:
        self.config = config
        self.server_state = server_state
        self.app_state = app_state
        self._loop = _loop
        self.transport: asyncio.Transport | None = None
        self._head = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        # Counted as uvicorn counts its own: shutdown and `limit_concurrency` see it.
        self.server_state.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server_state.connections.discard(self)

    def shutdown(self) -> None:
        """uvicorn's shutdown: nothing was answered yet, so the connection just ends."""
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        head = self._head + data
        prefix = self.prefix
        if not head.startswith(prefix[: len(head)]):
            self._hand_over(self._http(), head)
            return
        end = head.find(b"\r\n\r\n", 0, MAX_HEAD_BYTES)
        if end < 0:
            if len(head) >= MAX_HEAD_BYTES:
                assert self.transport is not None
                http_error(self.transport, 400, "Request too large")
                return
            self._head = head
            return
        if _UPGRADE.search(head, 0, end + 2) is not None:
            ws = self.ws_class(
                config=self.config, server_state=self.server_state, app_state=self.app_state
            )
            self._hand_over(ws, head)
        else:  # long-polling and other requests under the path
            self._hand_over(self._http(), head)

    def _http(self) -> asyncio.Protocol:
        """uvicorn's HTTP protocol, made as uvicorn makes it."""
        make = cast(Any, self.http_class or _httptools_protocol())
        return cast(
            asyncio.Protocol,
            make(
                config=self.config,
                server_state=self.server_state,
                app_state=self.app_state,
                _loop=self._loop,
            ),
        )

    def _hand_over(self, protocol: asyncio.Protocol, data: bytes) -> None:
        transport = self.transport
        assert transport is not None
        self._head = b""
        self.server_state.connections.discard(self)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        protocol.data_received(data)


def _httptools_protocol() -> type[asyncio.Protocol]:
    # Looked up per connection, not at import: the transport itself does not depend
    # on uvicorn (after the first time, a dictionary lookup in `sys.modules`).
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    return HttpToolsProtocol


# For `uvicorn --http switchboard.transport.front:HttpProtocol`: the WebSocket class
# finds the transport on the app uvicorn serves (`app.realtime_endpoint`).
HttpProtocol = fast_http_protocol()
