"""The embedded backend: one process, everything in memory (no `SWITCHBOARD_REDIS_URL`)."""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence

from switchboard.realtime.backends import Channel, HealthCheck, PresenceListener, SharedBuckets
from switchboard.realtime.event_log import (
    ZERO,
    Deliver,
    Entry,
    EventLog,
    LogRecord,
    Pos,
    Session,
)
from switchboard.realtime.presence import PresenceStore
from switchboard.types import Sid, UserId


class MemoryBackend:
    """Nothing to share with other nodes: no rate-limit store, no revocation channel."""

    name = "memory"

    def __init__(self) -> None:
        self.shared_buckets: SharedBuckets | None = None
        self.revocations: Channel | None = None
        self.health_checks: Mapping[str, HealthCheck] = {}

    def event_log(self, window: float) -> EventLog:
        return MemoryLog(window, keep=window > 0)

    def presence(self, on_remote_change: PresenceListener) -> PresenceStore:
        # One node: no other node can die holding this one's users.
        return LocalPresence()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


def _kept(record: LogRecord) -> str | LogRecord:
    """What the recovery window keeps of a record: its JSON, when it has one.

    A string is invisible to the cyclic collector, and so is a tuple of plain
    values once the collector has seen it; a record and its lists and dicts
    are not. Kept as objects, two minutes of a busy node's broadcasts
    were millions of them, walked by every collection of the older
    generations: a 0.5 s pause at 4,500 messages/s (docs/benchmarks.md).
    Replay, which is rare, decodes; the Redis log keeps the same JSON.
    """
    try:
        return record.to_json()
    except (TypeError, ValueError):  # bytes, or another value JSON cannot carry
        return record


class _NamespaceLog:
    __slots__ = ("entries", "pruned_upto", "seq")

    def __init__(self) -> None:
        self.seq = 0
        self.pruned_upto: Pos = ZERO
        # (seq, monotonic time, kept record): plain values only, so that the
        # collector stops tracking each entry on its first pass (see `_kept`).
        self.entries: deque[tuple[int, float, str | LogRecord]] = deque()


class MemoryLog:
    """Single-node log: counter + time-pruned deque per namespace, sessions in a dict."""

    def __init__(self, retention: float, *, keep: bool = True) -> None:
        # `keep=False` (recovery disabled): number and deliver, store nothing.
        self.retention = retention
        self.keep = keep
        self._epoch = int(time.time() * 1000)
        self._logs: dict[str, _NamespaceLog] = {}
        self._sessions: dict[tuple[str, str], tuple[float, Session]] = {}
        # (expiry, key) in expiry order, so expiring costs only what expired
        # (a disconnect storm saves thousands). An entry whose session was
        # replaced or taken since is skipped when it comes up.
        self._expiries: list[tuple[float, tuple[str, str]]] = []
        self._deliver: Deliver = lambda _ns, _entries: None

    def _log(self, namespace: str) -> _NamespaceLog:
        log = self._logs.get(namespace)
        if log is None:
            log = self._logs[namespace] = _NamespaceLog()
        return log

    def bind(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def start(self, namespaces: list[str]) -> None:
        return None

    async def publish(self, namespace: str, record: LogRecord) -> None:
        self._deliver(namespace, [self._append(self._log(namespace), record)])

    async def publish_many(self, namespace: str, records: Sequence[LogRecord]) -> None:
        log = self._log(namespace)
        self._deliver(namespace, [self._append(log, record) for record in records])

    def _append(self, log: _NamespaceLog, record: LogRecord) -> Entry:
        log.seq += 1
        pos = (self._epoch, log.seq)
        if self.keep:
            now = time.monotonic()
            log.entries.append((log.seq, now, _kept(record)))
            self._prune(log, now)
        return pos, record

    def _prune(self, log: _NamespaceLog, now: float) -> None:
        cutoff = now - self.retention
        entries = log.entries
        while entries and entries[0][1] < cutoff:
            log.pruned_upto = (self._epoch, entries.popleft()[0])

    def processed(self, namespace: str) -> Pos:
        return (self._epoch, self._log(namespace).seq)

    async def wait_processed(self, namespace: str, pos: Pos, within: float) -> bool:
        return self.processed(namespace) >= pos

    async def can_replay_after(self, namespace: str, pos: Pos) -> bool:
        log = self._log(namespace)
        self._prune(log, time.monotonic())
        return log.pruned_upto <= pos

    async def entries_after(self, namespace: str, pos: Pos) -> list[tuple[Pos, LogRecord]] | None:
        if not await self.can_replay_after(namespace, pos):
            return None
        out: list[tuple[Pos, LogRecord]] = []
        epoch = self._epoch
        for seq, _t, kept in reversed(self._logs[namespace].entries):
            p = (epoch, seq)
            if p <= pos:
                break
            out.append((p, kept if isinstance(kept, LogRecord) else LogRecord.from_json(kept)))
        out.reverse()
        return out

    def _expire_sessions(self) -> None:
        now = time.monotonic()
        expiries, sessions = self._expiries, self._sessions
        while expiries and expiries[0][0] < now:
            exp, key = heapq.heappop(expiries)
            current = sessions.get(key)
            if current is not None and current[0] == exp:
                del sessions[key]

    async def save_session(self, session: Session, ttl: float) -> None:
        self._expire_sessions()
        key, exp = (session.namespace, session.pid), time.monotonic() + ttl
        self._sessions[key] = (exp, session)
        heapq.heappush(self._expiries, (exp, key))

    async def peek_session(self, namespace: str, pid: str) -> Session | None:
        self._expire_sessions()
        found = self._sessions.get((namespace, pid))
        return found[1] if found else None

    async def take_session(self, namespace: str, pid: str) -> Session | None:
        self._expire_sessions()
        found = self._sessions.pop((namespace, pid), None)
        return found[1] if found else None

    async def close(self) -> None:
        self._sessions.clear()
        self._expiries.clear()


class LocalPresence:
    """In-process presence: user id → set of socket ids."""

    def __init__(self) -> None:
        self._sockets: dict[UserId, set[Sid]] = {}

    async def add(self, user_id: UserId, sid: Sid) -> bool:
        sids = self._sockets.get(user_id)
        if sids is None:
            self._sockets[user_id] = {sid}
            return True
        sids.add(sid)
        return False

    async def remove(self, user_id: UserId, sid: Sid) -> bool:
        sids = self._sockets.get(user_id)
        if sids is None or sid not in sids:
            return False
        sids.discard(sid)
        if sids:
            return False
        del self._sockets[user_id]
        return True

    async def is_online(self, user_id: UserId) -> bool:
        return user_id in self._sockets

    async def online_user_ids(self) -> set[UserId]:
        return set(self._sockets)

    async def online_status_bulk(self, user_ids: Iterable[UserId]) -> dict[UserId, bool]:
        return {uid: uid in self._sockets for uid in user_ids}

    async def close(self) -> None:
        self._sockets.clear()
