"""Connection state recovery, compatible with socket.io-client >= 4.6.

The protocol (as socket.io-client speaks it): the CONNECT answer carries
`{sid, pid}`; every broadcast carries an offset as its last argument; a client
that lost its transport reconnects with `{pid, offset, ...auth}` and, when the
answer carries the same pid, reports `socket.recovered === true`.

This module decides *whether* and *from where* a session is restored, and
runs the restore on the transport's primitives (`reserve` a socket that holds
broadcasts; its `Admission` then `release`s it with the CONNECT answer, the
missed entries and what was held); the log and the sessions live behind `EventLog`
(event_log.py; backends/memory.py, backends/redis_log.py).

Where Socket.IO for Node fails and this does not:
- Node looks the client's offset up in its log, so a client with no offset
  (dropped before its first event) or whose offset was pruned during a quiet
  period cannot recover. Here offsets are ordered positions and a session
  remembers where it started (`start`), the last entry queued to it
  (`last_sent`) and up to where it was served (`served`): recovery starts
  from the right place and succeeds whenever no entry after it was pruned.
- Sessions and the log can live in Redis, so another node, or the same node
  after a restart, restores them.
- A reconnect that arrives while this node still holds the old connection
  (the network died without a FIN: socket.io #4880) takes the live socket
  over: same id, rooms and presence, the missed broadcasts once; the stale
  transport is closed and its other namespaces are kept for their reconnects.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from switchboard.metrics import Metrics
from switchboard.realtime.event_log import (
    EventLog,
    LogRecord,
    Pos,
    Session,
    format_pos,
    parse_pos,
)
from switchboard.transport import ConnectAttempt, Outgoing, Server, Socket, encode_event
from switchboard.transport.server import TRANSPORT_CLOSE

log = logging.getLogger("switchboard.realtime.recovery")

_MAX_PID_CHARS = 64
# How long a restore waits for this node's reader to catch up with the log.
_CATCH_UP_SECONDS = 5.0


def new_pid() -> str:
    """A private session id: only the socket's own client ever sees it."""
    return secrets.token_urlsafe(18)


@dataclass(slots=True)
class Admission:
    """A socket reserved for a CONNECT (holding broadcasts) and the answer it is owed.

    Nothing reaches the client until `release`: the caller finishes what the
    client may rely on once it is connected (presence) in between.
    """

    sock: Socket
    answer: dict[str, Any]
    first: list[Outgoing] = field(default_factory=list)
    after: Pos | None = None
    last: Pos | None = None

    def release(self, io: Server) -> None:
        """Send the CONNECT answer, the replayed entries, then what was held."""
        io.release(self.sock, self.answer, self.first, after=self.after, last=self.last)


@dataclass(slots=True)
class Track:
    """Recovery state of a live socket."""

    pid: str
    user_id: int
    start: Pos


@dataclass(slots=True)
class Claim:
    """A session taken for a reconnect, and where its replay starts (exclusive)."""

    session: Session
    after: Pos | None  # None: a taken-over socket that cannot be replayed
    client_offset: Pos | None
    live: Socket | None = None  # the old socket, still here (half-open takeover)


@dataclass(slots=True)
class Replay:
    """What a restored socket must get: rooms, then missed entries in order."""

    rooms: set[str]
    entries: list[tuple[Pos, LogRecord]]
    upto: Pos  # every entry up to here is covered by `entries`


def resume_from(session: Session, offset: Pos | None) -> Pos | None:
    """Where the replay starts for a client that last saw `offset`; None: cannot trust it."""
    last = session.last_sent
    if offset == last:
        # The client got everything queued to it; nothing after that up to
        # `served` was for it, however old `offset` is.
        return session.served
    if offset is None:
        return session.start  # dropped before its first event arrived
    if last is None:
        # Nothing was queued to this session: an older offset is from an earlier session.
        return session.served if offset <= session.served else None
    if offset > last:
        return None  # never sent to this session: forged
    return max(offset, session.start)


class Recovery:
    """Decides which reconnects are restored, and restores them."""

    def __init__(self, io: Server, events: EventLog, window: float, metrics: Metrics) -> None:
        self.io = io
        self.events = events
        self.window = window
        self.metrics = metrics
        self.tracks: dict[str, Track] = {}
        self._live: dict[tuple[str, str], str] = {}  # (namespace, pid) -> sid of a live socket

    # -- CONNECT ---------------------------------------------------------------------

    async def connect(self, attempt: ConnectAttempt, user_id: int, rooms: list[str]) -> Admission:
        """Admit an authenticated CONNECT: restored when it may be, else a new session.

        The socket is reserved, not yet released: the caller sends the answer.
        """
        namespace = attempt.namespace.name
        claim = await self.claim(attempt, user_id)
        if claim is None:
            sock = self.io.reserve(attempt, rooms=rooms)
            return self._new_session(sock, user_id, rooms)
        if claim.live is not None:
            sock = claim.live  # adopted by `claim`, holding broadcasts since
            if claim.after is None:
                return self._new_session(sock, user_id, rooms)
            for room in rooms:
                self.io.join(sock, room)
        else:
            free = self.io.socket(namespace, claim.session.sid) is None
            sock = self.io.reserve(
                attempt,
                sid=claim.session.sid if free else None,
                rooms=set(claim.session.rooms) | set(rooms),
            )
        replay = await self.replay(namespace, sock.sid, claim)
        if replay is None:
            return self._new_session(sock, user_id, rooms)
        for room in replay.rooms:
            self.io.join(sock, room)
        session = claim.session
        first = [
            encode_event(namespace, [record.event, *record.args, format_pos(pos)])
            for pos, record in replay.entries
        ]
        last = claim.client_offset if claim.client_offset == session.last_sent else None
        if replay.entries:
            last = replay.entries[-1][0]
        self.track(sock.sid, namespace, Track(session.pid, session.user_id, session.start))
        self.metrics.recovery_successes.inc()
        return Admission(sock, {"pid": session.pid}, first, after=replay.upto, last=last)

    def _new_session(self, sock: Socket, user_id: int, rooms: list[str]) -> Admission:
        """A fresh pid; a claimed socket that could not be restored keeps only `rooms`."""
        namespace = sock.namespace.name
        for room in set(sock.rooms) - set(rooms):
            self.io.leave(sock, room)
        start = self.events.processed(namespace)
        held = sock.held or []
        pid = new_pid()
        self.track(sock.sid, namespace, Track(pid, user_id, start))
        # What was held belongs to the abandoned session; the new one starts now.
        return Admission(sock, {"pid": pid}, after=held[-1][0] if held else None)

    async def claim(self, attempt: ConnectAttempt, user_id: int) -> Claim | None:
        """Take the session a CONNECT payload asks for, if this user may have it; else None."""
        auth = attempt.auth
        if not isinstance(auth, dict):
            return None
        pid = auth.get("pid")
        if not isinstance(pid, str) or not 0 < len(pid) <= _MAX_PID_CHARS:
            return None
        self.metrics.recovery_attempts.inc()
        raw_offset = auth.get("offset")
        offset = parse_pos(raw_offset)
        if raw_offset is not None and offset is None:
            return None
        namespace = attempt.namespace.name
        live = self._take_live(attempt, pid, user_id)
        try:
            if live is not None:
                session = live
                taken: Session | None = live
            else:
                found = await self.events.peek_session(namespace, pid)
                if found is None or found.user_id != user_id:
                    return None
                session = found
            after = resume_from(session, offset)
            if after is None or not await self.events.can_replay_after(namespace, after):
                return self._refuse_live(live, attempt)
            if live is None:
                taken = await self.events.take_session(namespace, pid)
        except Exception:
            log.exception("session lookup failed; starting a new session")
            return self._refuse_live(live, attempt)
        if taken is None or taken.user_id != user_id:
            return None  # another reconnect took it first
        return Claim(taken, after, offset, attempt.socket if live is not None else None)

    def _take_live(self, attempt: ConnectAttempt, pid: str, user_id: int) -> Session | None:
        """Adopt a socket of this pid that this node still holds (its transport died silently).

        Synchronous from the lookup to `adopt`: from here on the socket holds every
        broadcast for the new connection, so nothing falls between the two.
        """
        namespace = attempt.namespace.name
        sid = self._live.get((namespace, pid))
        sock = self.io.socket(namespace, sid) if sid is not None else None
        track = self.tracks.get(sid) if sid is not None else None
        if sock is None or track is None or track.user_id != user_id or sock.conn is attempt.conn:
            return None
        old = sock.conn
        self.io.adopt(attempt, sock)
        # The stale transport goes; its other namespaces leave as after any lost
        # transport (their sessions are kept for their own reconnects).
        self.io.close(old, TRANSPORT_CLOSE, packet=False)
        log.info("reconnect took over live socket %s from a stale transport", sid)
        return Session(
            pid=pid,
            sid=sock.sid,
            namespace=namespace,
            user_id=user_id,
            rooms=list(sock.rooms),
            start=track.start,
            last_sent=sock.last_pos,
            served=self.events.processed(namespace),
        )

    def _refuse_live(self, live: Session | None, attempt: ConnectAttempt) -> Claim | None:
        """A taken-over socket that cannot be replayed still continues: as a new session."""
        if live is None or attempt.socket is None:
            return None
        return Claim(live, None, None, attempt.socket)

    async def replay(self, namespace: str, sid: str, claim: Claim) -> Replay | None:
        """Rooms and missed entries of a claimed session; None when not provably whole."""
        session = claim.session
        if claim.after is None:
            return None
        try:
            entries = await self.events.entries_after(namespace, claim.after)
        except Exception:
            log.exception("reading the event log failed; starting a new session")
            return None
        if entries is None:
            return None
        rooms = set(session.rooms)
        missed: list[tuple[Pos, LogRecord]] = []
        for pos, record in entries:
            if record.kind in ("join", "leave"):
                if record.user_id == session.user_id and record.room:
                    if record.kind == "join":
                        rooms.add(record.room)
                    else:
                        rooms.discard(record.room)
            elif record.skip != sid and (
                record.rooms is None or not rooms.isdisjoint(record.rooms)
            ):
                missed.append((pos, record))
        upto = entries[-1][0] if entries else claim.after
        # Entries up to `upto` must have reached this node's local delivery, so
        # that the held (live) ones after it continue the replay without a gap.
        if not await self.events.wait_processed(namespace, upto, _CATCH_UP_SECONDS):
            log.warning("log reader behind; session %s not recovered", sid)
            return None
        return Replay(rooms, missed, upto)

    # -- live sockets ----------------------------------------------------------------

    def track(self, sid: str, namespace: str, track: Track) -> None:
        self.tracks[sid] = track
        self._live[(namespace, track.pid)] = sid

    def forget(self, sid: str, namespace: str) -> Track | None:
        track = self.tracks.pop(sid, None)
        if track is not None and self._live.get((namespace, track.pid)) == sid:
            del self._live[(namespace, track.pid)]
        return track

    def left(self, sock: Socket, *, keep: bool) -> None:
        """A socket left its namespace; with `keep`, its session waits for a reconnect.

        Synchronous: the snapshot (rooms, positions) is taken before any other
        broadcast is delivered, and only saving it waits.
        """
        namespace = sock.namespace.name
        track = self.forget(sock.sid, namespace)
        if track is None or not keep:
            return
        # After an overflow the lost entry was never queued: serve from the last one that was.
        served = (
            (sock.last_pos or track.start) if sock.overflowed else self.events.processed(namespace)
        )
        session = Session(
            pid=track.pid,
            sid=sock.sid,
            namespace=namespace,
            user_id=track.user_id,
            rooms=sorted(sock.rooms),
            start=track.start,
            last_sent=sock.last_pos,
            served=served,
        )
        self.io.spawn(self._persist(session))

    async def _persist(self, session: Session) -> None:
        try:
            await self.events.save_session(session, self.window)
        except Exception:
            log.exception("could not persist session %s", session.sid)
