"""Namespaces, their sockets and rooms, and what an application plugs into them.

A `Namespace` maps room names to sets of `Socket` objects, so a broadcast
walks the members themselves, with no per-recipient lookup. An application
serves a namespace by implementing `NamespaceHandler`; the transport never
gives an event name a meaning of its own (a client event called `disconnect`
is just an event), so only the transport's own disconnect path reaches
`on_disconnect`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from switchboard.transport.connection import Connection, Handshake
    from switchboard.transport.engineio import Outgoing

# An ordered position of a broadcast in the application's log (connection state recovery).
Pos = tuple[int, int]


class ConnectRefused(Exception):
    """Raised by `on_connect`: the client gets CONNECT_ERROR with `data` as payload."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(data.get("message", "refused"))
        self.data = data


class Socket:
    """One client's membership of one namespace, over one Engine.IO connection."""

    __slots__ = (
        "__weakref__",
        "conn",
        "connected",
        "held",
        "last_pos",
        "namespace",
        "overflowed",
        "rooms",
        "sid",
        "state",
    )

    def __init__(self, sid: str, namespace: Namespace, conn: Connection) -> None:
        self.sid = sid
        self.namespace = namespace
        self.conn = conn
        self.rooms: set[str] = set()
        self.connected = False
        self.state: Any = None  # the application's per-socket data
        # Recovery: broadcasts held while a restore is prepared, the last position
        # queued to this socket, and whether an entry was lost to an overflow.
        self.held: list[tuple[Pos, Outgoing]] | None = None
        self.last_pos: Pos | None = None
        self.overflowed = False

    @property
    def handshake(self) -> Handshake:
        return self.conn.handshake

    def __repr__(self) -> str:
        return f"<Socket {self.namespace.name} {self.sid}>"


class Namespace:
    __slots__ = ("handler", "name", "rooms", "sockets")

    def __init__(self, name: str, handler: NamespaceHandler) -> None:
        self.name = name
        self.handler = handler
        self.sockets: dict[str, Socket] = {}
        self.rooms: dict[str, set[Socket]] = {}

    def join(self, sock: Socket, room: str) -> None:
        members = self.rooms.get(room)
        if members is None:
            members = self.rooms[room] = set()
        members.add(sock)
        sock.rooms.add(room)

    def leave(self, sock: Socket, room: str) -> None:
        sock.rooms.discard(room)
        members = self.rooms.get(room)
        if members is not None:
            members.discard(sock)
            if not members:
                del self.rooms[room]

    def members(self, room: str) -> set[Socket]:
        return self.rooms.get(room) or set()

    def recipients(self, rooms: list[str] | None, skip: str | None) -> list[Socket]:
        """Sockets in any of `rooms` (the whole namespace when None), each once."""
        if rooms is None:
            found: Any = self.sockets.values()
        elif len(rooms) == 1:
            found = self.rooms.get(rooms[0], ())
        else:
            found = set().union(*(self.rooms.get(r, ()) for r in rooms))
        if skip is None:
            return list(found)
        return [s for s in found if s.sid != skip]


@dataclass(slots=True)
class ConnectAttempt:
    """A client's CONNECT to a namespace, handed to `NamespaceHandler.on_connect`."""

    conn: Connection
    namespace: Namespace
    auth: Any  # the CONNECT payload (None or an object)
    socket: Socket | None = field(default=None)

    @property
    def handshake(self) -> Handshake:
        return self.conn.handshake


class NamespaceHandler(Protocol):
    """What an application implements to serve one namespace."""

    async def on_connect(self, attempt: ConnectAttempt) -> None:
        """Accept with `Server.accept(attempt, ...)`, or raise ConnectRefused."""
        ...

    async def on_connected(self, sock: Socket) -> None:
        """The client has its CONNECT answer (runs only if it is still connected)."""
        ...

    def on_event(self, sock: Socket, args: list[Any], ack_id: int | None) -> None:
        """A client EVENT: `args` is `[name, *arguments]` (the name is not checked).

        Synchronous, so a handler can refuse cheaply (rate limits) before it
        spends a task; answer with `Server.ack(sock, ack_id, ...)`.
        """
        ...

    def on_disconnect(self, sock: Socket, reason: str) -> None:
        """The socket has left its namespace; `sock.rooms` still lists its rooms."""
        ...
