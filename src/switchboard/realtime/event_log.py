"""The event log every broadcast goes through, and the session store of recovery.

Every server-to-client broadcast is appended to an ordered per-namespace log
and delivered from it, on every node, in log order, whether or not recovery
is on; with recovery on the log also keeps the last window of entries and the
sessions of dropped sockets. `EventLog` is the interface; a backend
(`switchboard.realtime.backends`) supplies the implementation:
- `MemoryLog` (`backends/memory.py`): one node. A per-namespace counter numbers
  every broadcast, a deque keeps the last `retention` seconds of them,
  sessions live in a dict. Publishing delivers synchronously, so the log
  order is the delivery order by construction.
- `RedisLog` (`backends/redis_log.py`): many nodes and restarts. One Redis
  Stream per namespace is both the cross-node transport and the replay log.

Positions are `(int, int)` pairs shown to clients as `"a-b"` strings (a Redis
Stream id, or `"<process start ms>-<counter>"` in memory): they are totally
ordered, so the server can prove that nothing between two of them was lost.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from switchboard.transport.socketio import dumps

Pos = tuple[int, int]
ZERO: Pos = (0, 0)

_OFFSET_RE = re.compile(r"^(\d{1,20})-(\d{1,20})$")


def format_pos(pos: Pos) -> str:
    return f"{pos[0]}-{pos[1]}"


def parse_pos(value: object) -> Pos | None:
    """A client-supplied offset, or None when it is not one of ours."""
    if not isinstance(value, str):
        return None
    m = _OFFSET_RE.match(value)
    return (int(m.group(1)), int(m.group(2))) if m else None


@dataclass(slots=True)
class LogRecord:
    """One entry of the log: a broadcast (`event`), or a user's sockets joining or
    leaving a room on every node (`join`, `leave`)."""

    kind: str
    event: str = ""
    args: list[Any] = field(default_factory=list)
    rooms: list[str] | None = None  # None: the whole namespace
    skip: str | None = None
    user_id: int | None = None
    room: str | None = None

    @classmethod
    def broadcast(
        cls, event: str, data: Any, room: str | Sequence[str] | None, skip: str | None = None
    ) -> LogRecord:
        """An emit: a tuple of `data` is several arguments, None none; `room` None is everyone."""
        rooms = None if room is None else [room] if isinstance(room, str) else list(room)
        args = list(data) if isinstance(data, tuple) else ([] if data is None else [data])
        return cls("event", event, args, rooms, skip)

    def to_json(self) -> str:
        """The record as JSON (raises TypeError for values JSON cannot carry, such as bytes).

        Arguments are encoded as the wire encodes them (`socketio.dumps`), so a
        record read back from JSON is delivered as the same text.
        """
        if self.kind in ("join", "leave"):
            return json.dumps({"k": self.kind, "u": self.user_id, "j": self.room})
        return dumps(
            {"k": "event", "e": self.event, "a": self.args, "r": self.rooms, "s": self.skip}
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> LogRecord:
        d = json.loads(raw)
        if d["k"] in ("join", "leave"):
            return cls(str(d["k"]), user_id=int(d["u"]), room=str(d["j"]))
        return cls("event", event=d["e"], args=list(d["a"]), rooms=d["r"], skip=d["s"])


@dataclass(slots=True)
class Session:
    """What a dropped socket leaves behind so that it can be restored."""

    pid: str
    sid: str
    namespace: str
    user_id: int
    rooms: list[str]
    start: Pos  # log position when the socket connected
    last_sent: Pos | None  # last broadcast queued to it (None: none yet)
    served: Pos  # every entry up to here that was for it was queued to it

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Session:
        d = json.loads(raw)
        last = d["last_sent"]
        return cls(
            pid=str(d["pid"]),
            sid=str(d["sid"]),
            namespace=str(d["namespace"]),
            user_id=int(d["user_id"]),
            rooms=[str(r) for r in d["rooms"]],
            start=(int(d["start"][0]), int(d["start"][1])),
            last_sent=None if last is None else (int(last[0]), int(last[1])),
            served=(int(d["served"][0]), int(d["served"][1])),
        )


Entry = tuple[Pos, LogRecord]
# Called for every entry, in log order, on every node: (namespace, entries). The
# records of one `publish_many`, or one read of a shared log, come in one call, so
# a run of broadcasts to the same rooms can leave as one write per socket.
Deliver = Callable[[str, Sequence[Entry]], None]


class EventLog(Protocol):
    """The ordered per-namespace log, its local delivery, and the session store."""

    def bind(self, deliver: Deliver) -> None:
        """Set what runs for every entry, on this node, in log order."""
        ...

    async def start(self, namespaces: list[str]) -> None:
        """Begin delivering (readers for a shared log)."""
        ...

    async def publish(self, namespace: str, record: LogRecord) -> None:
        """Append to the log; `deliver` runs for it on every node (maybe later)."""
        ...

    async def publish_many(self, namespace: str, records: Sequence[LogRecord]) -> None:
        """`publish` each record, in order; a shared log takes them in one round trip."""
        ...

    def processed(self, namespace: str) -> Pos:
        """The last position this node has delivered locally."""
        ...

    async def wait_processed(self, namespace: str, pos: Pos, within: float) -> bool:
        """Wait until this node has delivered up to `pos`; False on timeout."""
        ...

    async def can_replay_after(self, namespace: str, pos: Pos) -> bool:
        """True when no entry after `pos` has been pruned."""
        ...

    async def entries_after(self, namespace: str, pos: Pos) -> list[tuple[Pos, LogRecord]] | None:
        """Every entry after `pos`, in order; None when one of them was pruned."""
        ...

    async def save_session(self, session: Session, ttl: float) -> None: ...

    async def peek_session(self, namespace: str, pid: str) -> Session | None: ...

    async def take_session(self, namespace: str, pid: str) -> Session | None:
        """Remove and return a session: at most one reconnect gets it."""
        ...

    async def close(self) -> None: ...
