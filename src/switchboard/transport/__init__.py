"""Switchboard's own Engine.IO v4 / Socket.IO v5 server.

Layers, bottom up:
- `websocket.py`, `engineio.py`, `socketio.py`: the protocols, sans-I/O
  (bytes and strings in, events and bytes out; no sockets, tasks or clocks);
- `timers.py`: every connection's heartbeat and connect deadlines on one timer;
- `connection.py`, `sockets.py`, `server.py`: sessions, namespaces, rooms and
  the corked fan-out (a broadcast is encoded once, appended to each
  recipient, and each connection is written once per loop iteration);
- `fastws.py`: WebSocket connections on raw asyncio protocol callbacks,
  plugged into uvicorn as its WebSocket protocol class;
- `front.py`: uvicorn's HTTP protocol class in front of it, so a connection
  that opens with our upgrade skips uvicorn's HTTP parser;
- `asgi.py`: long-polling, and WebSocket through any ASGI server.
"""

from switchboard.transport.asgi import EngineAsgi
from switchboard.transport.connection import Connection, Handshake
from switchboard.transport.engineio import Outgoing
from switchboard.transport.fastws import Endpoint, RequestHead, fast_websocket_protocol
from switchboard.transport.front import fast_http_protocol
from switchboard.transport.server import Server, ServerOptions
from switchboard.transport.socketio import encode_event
from switchboard.transport.sockets import (
    ConnectAttempt,
    ConnectRefused,
    Namespace,
    NamespaceHandler,
    Pos,
    Socket,
)

__all__ = [
    "ConnectAttempt",
    "ConnectRefused",
    "Connection",
    "Endpoint",
    "EngineAsgi",
    "Handshake",
    "Namespace",
    "NamespaceHandler",
    "Outgoing",
    "Pos",
    "RequestHead",
    "Server",
    "ServerOptions",
    "Socket",
    "encode_event",
    "fast_http_protocol",
    "fast_websocket_protocol",
]
