"""Connection state recovery, compatible with socket.io-client >= 4.6.

The protocol (as socket.io-client speaks it): the CONNECT answer carries
`{sid, pid}`; every broadcast carries an offset as its last argument; a client
that lost its transport reconnects with `{pid, offset, ...auth}` and, when the
answer carries the same pid, reports `socket.recovered === true`.

This module decides *whether* and *from where* a session is restored; the
log and the sessions live behind `EventLog` (recovery_store.py, cluster_log.py)
and the python-socketio side (same sid, rooms, queueing) is in _sio_internals.

Where Socket.IO for Node fails and this does not:
- Node looks the client's offset up in its log, so a client with no offset
  (dropped before its first event) or whose offset was pruned during a quiet
  period cannot recover. Here offsets are ordered positions and a session
  remembers where it started (`start`), the last entry queued to it
  (`last_sent`) and up to where it was served (`served`): recovery starts
  from the right place and succeeds whenever no entry after it was pruned.
- Sessions and the log can live in Redis, so another node, or the same node
  after a restart, restores them.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import socketio

from switchboard.auth.tokens import TokenService
from switchboard.metrics import Metrics
from switchboard.realtime.auth import authenticate_handshake
from switchboard.realtime.recovery_store import (
    EventLog,
    LogRecord,
    Pos,
    Session,
    parse_pos,
)

log = logging.getLogger("switchboard.realtime.recovery")

_MAX_PID_CHARS = 64
# How long a restore waits for this node's reader to catch up with the log.
_CATCH_UP_SECONDS = 5.0


def new_pid() -> str:
    """A private session id: only the socket's own client ever sees it."""
    return secrets.token_urlsafe(18)


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
    after: Pos
    client_offset: Pos | None


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
    """Decides which reconnects are restored, and with what."""

    def __init__(
        self, events: EventLog, window: float, tokens: TokenService, metrics: Metrics
    ) -> None:
        self.events = events
        self.window = window
        self.tokens = tokens
        self.metrics = metrics
        self.tracks: dict[str, Track] = {}

    # -- reconnect -------------------------------------------------------------------

    async def claim(self, namespace: str, environ: Mapping[str, Any], auth: object) -> Claim | None:
        """Take the session a CONNECT payload asks for, if it may have it; else None."""
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
        try:
            claims = authenticate_handshake(self.tokens, environ, auth)
        except socketio.exceptions.ConnectionRefusedError:
            return None  # the normal path refuses it with the right error
        try:
            session = await self.events.peek_session(namespace, pid)
            if session is None or session.user_id != claims.user_id:
                return None
            after = resume_from(session, offset)
            if after is None or not await self.events.can_replay_after(namespace, after):
                return None
            taken = await self.events.take_session(namespace, pid)
        except Exception:
            log.exception("session lookup failed; starting a new session")
            return None
        if taken is None or taken.user_id != claims.user_id:
            return None  # another reconnect took it first
        return Claim(taken, after, offset)

    async def replay(self, namespace: str, sid: str, claim: Claim) -> Replay | None:
        """Rooms and missed entries of a claimed session; None when not provably whole."""
        session = claim.session
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
            if record.kind == "join":
                if record.user_id == session.user_id and record.room:
                    rooms.add(record.room)
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

    def succeeded(self) -> None:
        self.metrics.recovery_successes.inc()

    async def give_back(self, claim: Claim) -> None:
        """Put a claimed session back (its reconnect failed for another reason)."""
        try:
            await self.events.save_session(claim.session, self.window)
        except Exception:
            log.exception("could not put a session back")

    # -- live sockets ----------------------------------------------------------------

    def track(self, sid: str, track: Track) -> None:
        self.tracks[sid] = track

    def forget(self, sid: str) -> None:
        self.tracks.pop(sid, None)

    def session_of(
        self,
        namespace: str,
        sid: str,
        rooms: list[str],
        last_sent: Pos | None,
        overflowed: bool,
    ) -> Session | None:
        """Snapshot a dropping socket (synchronously, before it leaves its rooms)."""
        track = self.tracks.pop(sid, None)
        if track is None:
            return None
        # After an overflow the lost entry was never queued: serve from the last one that was.
        served = (last_sent or track.start) if overflowed else self.events.processed(namespace)
        return Session(
            pid=track.pid,
            sid=sid,
            namespace=namespace,
            user_id=track.user_id,
            rooms=rooms,
            start=track.start,
            last_sent=last_sent,
            served=served,
        )

    async def persist(self, session: Session) -> None:
        try:
            await self.events.save_session(session, self.window)
        except Exception:
            log.exception("could not persist session %s", session.sid)
