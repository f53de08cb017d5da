"""Token revocation and the user directory behind every token check.

`TokenService.verify` is synchronous (the socket handshake calls it from
code that cannot wait), so everything it needs to refuse a token lives in
memory here and no check costs a query:

- revoked token ids (`jti`), kept until the token would have expired anyway;
- per-user cutoffs ("log out everywhere"): a session that started at or before
  the cutoff is dead, whichever token of it is shown;
- the ids of the users that exist, so a token for a deleted (or never created)
  user is refused.

The database is the source of truth (tables `revoked_tokens`, `token_cutoffs`,
`users`); this node's copy is kept current three ways:

1. its own changes are applied in memory as soon as they are committed;
2. when the backend has a revocation channel (Redis), every change is
   published on it and applied by every node as it arrives (the usual path
   across nodes);
3. a resync every `SWITCHBOARD_AUTH_SYNC_SECONDS` reads what changed since the
   last one (and, every few rounds, the whole user id list), which covers a
   missed Redis message, a Redis outage, and rows changed behind our back.

A user id that is not in the directory is refused, except in the first
seconds of a token's session: a user who just registered on another node may
show up here a moment before that node's message does. Such a token passes the
socket check once and the id is looked up at once; the HTTP path (which may
wait) awaits that lookup instead. A user found missing is treated like a
"log out everywhere".

Listeners (`add_listener`) hear of every revocation on every node: the
realtime layer uses that to end the affected live sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from switchboard.realtime.backends import BackendUnavailable, Channel
from switchboard.storage.database import Database
from switchboard.storage.models import RevokedToken, TokenCutoff, User
from switchboard.types import UserId

log = logging.getLogger("switchboard.auth")

# How long a token replaced by a refresh keeps working (requests already in flight).
ROTATION_GRACE_SECONDS = 30.0
# A session this young may belong to a user registered on another node whose
# announcement has not arrived yet: look the id up instead of refusing it.
FRESH_SESSION_SECONDS = 10.0
# Clocks of different nodes and commit order differ a little: each incremental
# resync re-reads this much before the previous one.
RESYNC_OVERLAP_SECONDS = 60.0
# Every Nth resync reloads the whole user id list (finds deleted users).
FULL_USER_RELOAD_EVERY = 10
# After a failed publish, skip Redis for this long (the resync covers it).
PUBLISH_PAUSE_SECONDS = 5.0
# Ids looked up and not found; bounded so forged ids cannot grow memory.
MAX_MISSING = 10_000

# `on_revoked(user_id, jti)`: jti None means every token of the user.
RevocationListener = Callable[[UserId, str | None], Awaitable[None]]


# What the directory says of a token's user: known; looked up and not found
# ("gone"); not in the directory ("missing"); or not in it but in a session
# young enough to be accepted while a lookup runs ("unconfirmed").
UserState = Literal["ok", "gone", "missing", "unconfirmed"]


class RevocationService:
    def __init__(
        self,
        db: Database,
        channel: Channel | None,
        sync_seconds: float,
        *,
        rotation_grace_seconds: float = 30.0,
    ) -> None:
        self.rotation_grace_seconds = rotation_grace_seconds
        self.db = db
        self.channel = channel
        self.sync_seconds = sync_seconds
        self._jtis: dict[str, float] = {}  # jti -> its exp
        self._cutoffs: dict[UserId, float] = {}
        self._users: set[UserId] = set()
        self._missing: set[UserId] = set()
        self._rotated: dict[str, float] = {}  # jti replaced by a refresh -> end of its grace
        self._max_user_id = 0
        self._loaded = False
        self._listeners: list[RevocationListener] = []
        self._lookups: dict[UserId, asyncio.Task[bool]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._last_sync = 0.0
        self._rounds = 0
        self._publish_paused_until = 0.0

    # -- listeners -------------------------------------------------------------------

    def add_listener(self, listener: RevocationListener) -> None:
        """Call `listener(user_id, jti | None)` on every revocation this node learns of."""
        self._listeners.append(listener)

    async def _fire(self, user_id: UserId, jti: str | None) -> None:
        for listener in list(self._listeners):
            try:
                await listener(user_id, jti)
            except Exception:
                log.exception("revocation listener failed", extra={"user_id": user_id, "jti": jti})

    # -- the in-memory checks (no I/O) -------------------------------------------------

    def is_revoked(self, user_id: UserId, jti: str | None, session_start: float | None) -> bool:
        if jti is not None and jti in self._jtis:
            # A token a refresh replaced still works for a few seconds: requests and
            # socket handshakes already under way with it (other tabs, a reconnect
            # racing the refresh) are not refused. It cannot be refreshed again.
            grace = self._rotated.get(jti)
            return grace is None or grace <= time.time()
        cutoff = self._cutoffs.get(user_id)
        return cutoff is not None and (session_start is None or session_start <= cutoff)

    def knows_user(self, user_id: UserId) -> bool:
        return not self._loaded or user_id in self._users

    def user_state(self, user_id: UserId, session_start: float | None) -> UserState:
        if self.knows_user(user_id):
            return "ok"
        if user_id in self._missing:
            return "gone"
        if session_start is not None and session_start >= time.time() - FRESH_SESSION_SECONDS:
            self.lookup_user(user_id)
            return "unconfirmed"
        return "missing"

    def lookup_user(self, user_id: UserId) -> asyncio.Task[bool]:
        """Look an unknown id up in the database (once at a time per id)."""
        task = self._lookups.get(user_id)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._lookup(user_id))
            self._lookups[user_id] = task
            task.add_done_callback(lambda t: self._lookup_done(user_id, t))
        return task

    def _lookup_done(self, user_id: UserId, task: asyncio.Task[bool]) -> None:
        self._lookups.pop(user_id, None)
        if not task.cancelled() and task.exception() is not None:
            # The socket path does not wait for the lookup: its failure ends here.
            log.warning("user lookup failed for %s: %s", user_id, task.exception())

    async def _lookup(self, user_id: UserId) -> bool:
        async with self.db.session() as session:
            found = await session.scalar(select(User.id).where(User.id == user_id))
        if found is not None:
            self._add_user(user_id)
            return True
        if len(self._missing) >= MAX_MISSING:
            self._missing.clear()
        self._missing.add(user_id)
        log.info("token for a user that does not exist refused", extra={"user_id": user_id})
        await self._fire(user_id, None)
        return False

    def _add_user(self, user_id: UserId) -> None:
        self._users.add(user_id)
        self._missing.discard(user_id)
        self._max_user_id = max(self._max_user_id, user_id)

    # -- changes -------------------------------------------------------------------

    async def revoke_token(
        self, user_id: UserId, jti: str, expires_at: float, *, rotated: bool = False
    ) -> bool:
        """Revoke one token; False when it already was (a second refresh of the same token).

        `rotated`: replaced by a refresh. The session goes on with the new token,
        so listeners (which end live sockets) are not told.
        """
        if jti in self._jtis:
            return False
        now = time.time()
        async with self.db.write_session() as session:
            session.add(
                RevokedToken(jti=jti, user_id=user_id, expires_at=expires_at, revoked_at=now)
            )
            try:
                await session.commit()
            except IntegrityError:
                self._jtis[jti] = expires_at
                return False
        await self._apply_jti(user_id, jti, expires_at, rotated=rotated)
        await self._publish(
            {"kind": "jti", "user_id": user_id, "jti": jti, "exp": expires_at, "rotated": rotated}
        )
        return True

    async def revoke_all(self, user_id: UserId, valid_after: float | None = None) -> None:
        """End every session of `user_id` that started at or before `valid_after` (now)."""
        at = time.time() if valid_after is None else valid_after
        for attempt in range(2):
            async with self.db.write_session() as session:
                row = await session.get(TokenCutoff, user_id)
                if row is None:
                    session.add(
                        TokenCutoff(user_id=user_id, valid_after=at, updated_at=time.time())
                    )
                elif row.valid_after < at:
                    row.valid_after = at
                    row.updated_at = time.time()
                try:
                    await session.commit()
                    break
                except IntegrityError:
                    # Another node inserted the user's first cutoff at the same
                    # moment: the row exists now, so the second pass updates it.
                    if attempt:
                        raise
        await self._apply_cutoff(user_id, at)
        await self._publish({"kind": "cutoff", "user_id": user_id, "at": at})

    async def user_created(self, user_id: UserId) -> None:
        self._add_user(user_id)
        await self._publish({"kind": "user", "user_id": user_id})

    async def _apply_jti(
        self, user_id: UserId, jti: str, expires_at: float, *, rotated: bool = False
    ) -> None:
        if jti in self._jtis:
            return
        self._jtis[jti] = expires_at
        if rotated:
            now = time.time()
            if len(self._rotated) > MAX_MISSING:
                self._rotated = {j: t for j, t in self._rotated.items() if t > now}
            self._rotated[jti] = now + self.rotation_grace_seconds
        else:
            await self._fire(user_id, jti)

    async def _apply_cutoff(self, user_id: UserId, at: float) -> None:
        current = self._cutoffs.get(user_id)
        if current is not None and current >= at:
            return
        self._cutoffs[user_id] = at
        await self._fire(user_id, None)

    # -- life cycle ----------------------------------------------------------------

    async def start(self) -> None:
        await self._load()
        loop = asyncio.get_running_loop()
        self._spawn(loop.create_task(self._sync_loop()))
        if self.channel is not None:
            # After every (re)subscription: whatever was published while nobody listened.
            self._spawn(loop.create_task(self.channel.listen(self._on_message, self.sync)))

    async def stop(self) -> None:
        for task in [*self._tasks, *self._lookups.values()]:
            task.cancel()
        for task in [*self._tasks, *self._lookups.values()]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    def _spawn(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _load(self) -> None:
        now = time.time()
        async with self.db.session() as session:
            jtis = (
                await session.execute(
                    select(RevokedToken.jti, RevokedToken.expires_at).where(
                        RevokedToken.expires_at > now
                    )
                )
            ).all()
            cutoffs = (
                await session.execute(select(TokenCutoff.user_id, TokenCutoff.valid_after))
            ).all()
            users = set(await session.scalars(select(User.id)))
        self._jtis = {jti: exp for jti, exp in jtis}
        self._cutoffs = {uid: at for uid, at in cutoffs}
        self._users = users
        self._max_user_id = max(users, default=0)
        self._last_sync = now
        self._loaded = True

    async def sync(self) -> None:
        """Catch up with the database: revocations and users changed since the last sync."""
        started = time.time()
        since = self._last_sync - RESYNC_OVERLAP_SECONDS
        self._rounds += 1
        full = self._rounds % FULL_USER_RELOAD_EVERY == 0
        async with self.db.write_session() as session:
            jtis = (
                await session.execute(
                    select(RevokedToken.user_id, RevokedToken.jti, RevokedToken.expires_at).where(
                        RevokedToken.revoked_at >= since, RevokedToken.expires_at > started
                    )
                )
            ).all()
            cutoffs = (
                await session.execute(
                    select(TokenCutoff.user_id, TokenCutoff.valid_after).where(
                        TokenCutoff.updated_at >= since
                    )
                )
            ).all()
            if full:
                users = set(await session.scalars(select(User.id)))
            else:
                users = set(
                    await session.scalars(select(User.id).where(User.id > self._max_user_id))
                )
            # Expired revocations can go: the token's own `exp` refuses it now.
            await session.execute(delete(RevokedToken).where(RevokedToken.expires_at <= started))
            await session.commit()
        for uid, jti, exp in jtis:
            await self._apply_jti(uid, jti, exp)
        for uid, at in cutoffs:
            await self._apply_cutoff(uid, at)
        if full:
            gone = self._users - users
            if gone:
                # Registered here after the list was read? Those are not gone.
                async with self.db.session() as session:
                    gone -= set(await session.scalars(select(User.id).where(User.id.in_(gone))))
            self._users -= gone
            for uid in users:
                self._add_user(uid)
            for uid in gone:
                log.info("user no longer exists; its tokens are refused", extra={"user_id": uid})
                await self._fire(uid, None)
        else:
            for uid in users:
                self._add_user(uid)
        self._jtis = {j: exp for j, exp in self._jtis.items() if exp > started}
        self._last_sync = started

    async def _sync_loop(self) -> None:
        while True:
            await asyncio.sleep(self.sync_seconds)
            try:
                await self.sync()
            except Exception as exc:
                log.warning("revocation resync failed; retrying next round: %s", exc)

    # -- the channel between nodes ----------------------------------------------------

    async def _publish(self, message: dict[str, Any]) -> None:
        if self.channel is None or time.monotonic() < self._publish_paused_until:
            return
        try:
            await self.channel.publish(json.dumps(message))
        except BackendUnavailable as exc:
            # Stored already: other nodes catch up at their next resync. A dead
            # store costs the client's timeouts and retries: not on every logout.
            self._publish_paused_until = time.monotonic() + PUBLISH_PAUSE_SECONDS
            log.warning("could not publish a revocation (%s): %s", message.get("kind"), exc)

    async def _on_message(self, data: str) -> None:
        try:
            message = json.loads(data)
            kind = message["kind"]
            user_id = int(message["user_id"])
            if kind == "jti":
                await self._apply_jti(
                    user_id,
                    str(message["jti"]),
                    float(message["exp"]),
                    rotated=bool(message.get("rotated", False)),
                )
            elif kind == "cutoff":
                await self._apply_cutoff(user_id, float(message["at"]))
            elif kind == "user":
                self._add_user(user_id)
        except (TypeError, KeyError, ValueError) as exc:
            log.warning("malformed revocation message ignored: %s", exc)
