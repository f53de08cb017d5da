"""The base of Switchboard's namespaces: authenticated sockets and validated events.

A domain namespace subclasses `SocketNamespace` and declares its events:

    class ChatNamespace(SocketNamespace):
        name = "/chat"

        @event("typing", TypingPayload)
        async def typing(self, sock: SocketContext, payload: TypingPayload) -> AckResult:
            ...

It serves one namespace of the transport (`switchboard.transport`): every
event is rate-limited, its payload validated with pydantic, and the handler's
result (or error) becomes the SPEC's ack: `{ok: true, ...}` or
`{ok: false, error: {code, message}}`. Nothing a client sends can raise out of
here, close the server, or touch another user's socket. Event names are data:
`disconnect`, `connect` and the like from a client are refused like any
unknown name, and only the transport's own disconnect runs `on_disconnect`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError

from switchboard.errors import (
    AppError,
    AuthError,
    ForbiddenError,
    InternalError,
    InvalidPayloadError,
    RateLimitedError,
)
from switchboard.realtime.auth import authenticate_handshake
from switchboard.realtime.ratelimit import TokenBucket
from switchboard.realtime.recovery import Admission
from switchboard.realtime.state import SocketState
from switchboard.transport import ConnectAttempt, ConnectRefused, Socket
from switchboard.transport.server import SESSION_ENDING_REASONS
from switchboard.types import Sid, UserId, user_room

if TYPE_CHECKING:
    from switchboard.realtime.server import RealtimeServer

log = logging.getLogger("switchboard.realtime")

AckResult = dict[str, Any]
P = TypeVar("P", bound=BaseModel)
Handler = Callable[[Any, "SocketContext", Any], Awaitable[AckResult | None]]


@dataclass(frozen=True, slots=True)
class SocketContext:
    """Who sent an event: handed to every event handler."""

    sid: Sid
    user_id: UserId
    namespace: str


@dataclass(frozen=True, slots=True)
class _EventSpec:
    name: str
    payload: type[BaseModel] | None
    handler: Handler


def event(
    name: str, payload: type[P] | None = None
) -> Callable[[Callable[[Any, SocketContext, P], Awaitable[AckResult | None]]], Any]:
    """Declare a method as the handler of client event `name`."""

    def decorate(fn: Callable[[Any, SocketContext, P], Awaitable[AckResult | None]]) -> Any:
        fn.__switchboard_event__ = _EventSpec(name, payload, fn)  # type: ignore[attr-defined]
        return fn

    return decorate


class AuthRefreshPayload(BaseModel):
    token: str


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


# Names that Socket.IO clients use for their own events: a client never sends them.
RESERVED_EVENTS = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
)
_MAX_EVENT_NAME_CHARS = 64


class SocketNamespace:
    """An authenticated namespace; subclasses add events with `@event`."""

    name: ClassVar[str]
    _events: ClassVar[dict[str, _EventSpec]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        events: dict[str, _EventSpec] = {}
        for klass in reversed(cls.__mro__):
            for attr in vars(klass).values():
                spec = getattr(attr, "__switchboard_event__", None)
                if isinstance(spec, _EventSpec):
                    events[spec.name] = spec
        cls._events = events

    def __init__(self, rt: RealtimeServer) -> None:
        self.rt = rt

    # -- hooks for subclasses --------------------------------------------------------

    async def rooms_for(self, user_id: UserId) -> list[str]:
        """Rooms a new socket joins before it is told it is connected."""
        return [user_room(user_id)]

    async def after_connect(self, sock: SocketContext) -> None:
        """Runs once the client has its CONNECT answer (send first events here)."""

    async def on_disconnected(self, sock: SocketContext) -> None:
        """Runs after the socket has left presence."""

    # -- helpers for subclasses ------------------------------------------------------

    def state_of(self, sid: Sid) -> SocketState | None:
        sock = self.rt.io.socket(self.name, sid)
        state = sock.state if sock is not None else None
        return state if isinstance(state, SocketState) else None

    async def enter_room(self, sid: Sid, room: str) -> None:
        sock = self.rt.io.socket(self.name, sid)
        if sock is not None:
            self.rt.io.join(sock, room)

    async def disconnect(self, sid: Sid) -> None:
        sock = self.rt.io.socket(self.name, sid)
        if sock is not None:
            self.rt.io.disconnect(sock)

    # -- the transport's NamespaceHandler ------------------------------------------------

    async def on_connect(self, attempt: ConnectAttempt) -> None:
        await self.rt.start()
        claims = await authenticate_handshake(
            self.rt.tokens, self.rt.settings, attempt.handshake, attempt.auth
        )
        self._check_socket_cap(claims.user_id)
        rooms = await self.rooms_for(claims.user_id)
        rate = self.rt.settings.rate_limit
        state = SocketState(
            claims.user_id, self.name, claims.expires_at, TokenBucket(rate) if rate > 0 else None
        )
        state.jti, state.session_start = claims.jti, claims.session_start
        recovery = self.rt.recovery
        if recovery is None:
            admission = Admission(self.rt.io.reserve(attempt, rooms=rooms), {})
        else:
            admission = await recovery.connect(attempt, claims.user_id, rooms)
        sock = admission.sock
        previous = sock.state
        if isinstance(previous, SocketState):
            # A live socket taken over by its reconnect: it never left presence.
            state.counted = previous.counted
            if previous.expiry is not None:
                previous.expiry.cancel()
        sock.state = state
        if not state.counted:
            # Before the answer: a client told it is connected is online for
            # every node's presence query (with Redis, a round trip later would
            # leave a window in which it is not). Broadcasts meanwhile are held.
            state.counted = True
            await self.rt.socket_connected(self.name, Sid(sock.sid), state.user_id)
        admission.release(self.rt.io)
        if sock.connected:
            self._schedule_expiry(sock.sid, state)

    def _check_socket_cap(self, user_id: UserId) -> None:
        cap = self.rt.settings.max_sockets_per_user
        ns = self.rt.io.namespaces.get(self.name)
        if cap and ns is not None and len(ns.members(user_room(user_id))) >= cap:
            self.rt.metrics.rate_limited(self.name)
            raise ConnectRefused(RateLimitedError("too many connections").to_connect_error())

    async def on_connected(self, sock: Socket) -> None:
        state = sock.state
        if not isinstance(state, SocketState):
            return
        await self.after_connect(SocketContext(Sid(sock.sid), state.user_id, self.name))

    def on_event(self, sock: Socket, args: list[Any], ack_id: int | None) -> None:
        state = sock.state
        if not isinstance(state, SocketState):
            return
        name = args[0]
        spec = self._events.get(name) if isinstance(name, str) else None
        # Unknown names are counted under one label: clients must not grow the metrics.
        self.rt.metrics.event_in(self.name, spec.name if spec else "<unknown>")
        if state.bucket is not None and not state.bucket.take():
            self.rt.metrics.rate_limited(self.name)
            self.rt.io.ack(sock, ack_id, [RateLimitedError().to_ack()])
            return
        if spec is None:
            self.rt.io.ack(sock, ack_id, [InvalidPayloadError(_unknown(name)).to_ack()])
            return
        context = SocketContext(Sid(sock.sid), state.user_id, self.name)
        self.rt.spawn(self._run(sock, spec, context, args[1:], ack_id))

    async def _run(
        self,
        sock: Socket,
        spec: _EventSpec,
        context: SocketContext,
        args: list[Any],
        ack_id: int | None,
    ) -> None:
        started = time.perf_counter()
        try:
            payload: Any = args[0] if args else None
            if spec.payload is not None:
                payload = spec.payload.model_validate(payload)
            result = await spec.handler(self, context, payload)
            answer: AckResult = {"ok": True, **(result or {})}
        except ValidationError as exc:
            answer = InvalidPayloadError(_validation_message(exc)).to_ack()
        except AppError as exc:
            answer = exc.to_ack()
        except Exception:
            log.exception(
                "event handler failed",
                extra={
                    "namespace": self.name,
                    "event": spec.name,
                    "sid": context.sid,
                    "user_id": context.user_id,
                },
            )
            answer = InternalError().to_ack()
        finally:
            self.rt.metrics.handler_latency(self.name, spec.name, time.perf_counter() - started)
        self.rt.io.ack(sock, ack_id, [answer])

    def on_disconnect(self, sock: Socket, reason: str) -> None:
        state = sock.state
        if not isinstance(state, SocketState):
            return
        sock.state = None
        if state.expiry is not None:
            state.expiry.cancel()
        if self.rt.recovery is not None:
            self.rt.recovery.left(sock, keep=reason not in SESSION_ENDING_REASONS)
        if state.counted:
            self.rt.spawn(self._disconnected(Sid(sock.sid), state.user_id))

    async def _disconnected(self, sid: Sid, user_id: UserId) -> None:
        await self.rt.socket_disconnected(self.name, sid, user_id)
        try:
            await self.on_disconnected(SocketContext(sid, user_id, self.name))
        except Exception:
            log.exception("disconnect hook failed", extra={"namespace": self.name, "sid": sid})

    # -- token lifetime on live sockets ----------------------------------------------

    def _schedule_expiry(self, sid: str, state: SocketState) -> None:
        if state.expiry is not None:
            state.expiry.cancel()
        delay = max(0.0, state.expires_at - time.time())
        state.expiry = asyncio.get_running_loop().call_later(delay, self._expire, sid, state)

    def _expire(self, sid: str, state: SocketState) -> None:
        self.rt.spawn(self._end_expired(sid, state))

    async def _end_expired(self, sid: str, state: SocketState) -> None:
        sock = self.rt.io.socket(self.name, sid)
        if sock is None or sock.state is not state:
            return
        if state.expires_at > time.time():
            # The loop's monotonic clock can fire a hair before the wall-clock `exp`
            # (or a refresh moved it): check again at the new time, never drop it.
            self._schedule_expiry(sid, state)
            return
        log.info("token expired on a live socket", extra={"namespace": self.name, "sid": sid})
        self.rt.io.emit(sock, "auth:expired", {"code": "token_expired"})
        self.rt.io.disconnect(sock)

    def end_revoked(self, user_id: UserId, jti: str | None) -> int:
        """Tell and disconnect this user's sockets that ran on a revoked token.

        `jti`: that token (a logout); None: every session the user's cutoff
        covers, or all of them when the user is gone. A token replaced by a
        refresh is not announced: its session goes on (the client sends
        `auth:refresh` with the new token).
        """
        ns = self.rt.io.namespaces.get(self.name)
        if ns is None:
            return 0
        ended = 0
        tokens = self.rt.tokens
        for sock in list(ns.members(user_room(user_id))):
            state = sock.state
            if not isinstance(state, SocketState) or state.user_id != user_id:
                continue
            if jti is not None and state.jti != jti:
                continue
            if jti is None and tokens.session_alive(user_id, None, state.session_start):
                continue
            log.info("token revoked on a live socket", extra={"namespace": self.name})
            self.rt.io.emit(sock, "auth:expired", {"code": "invalid_token"})
            self.rt.io.disconnect(sock)
            ended += 1
        return ended

    @event("auth:refresh", AuthRefreshPayload)
    async def auth_refresh(self, sock: SocketContext, payload: AuthRefreshPayload) -> AckResult:
        try:
            claims = await self.rt.tokens.verify_presented(payload.token)
        except AuthError as exc:
            raise ForbiddenError(exc.code) from None
        if claims.user_id != sock.user_id:
            raise ForbiddenError("token belongs to another user")
        state = self.state_of(sock.sid)
        if state is None:
            raise ForbiddenError("not connected")
        state.expires_at = claims.expires_at
        state.jti, state.session_start = claims.jti, claims.session_start
        self._schedule_expiry(sock.sid, state)
        return {"expires_at": datetime.fromtimestamp(claims.expires_at, UTC).isoformat()}


def _unknown(name: object) -> str:
    if not isinstance(name, str):
        return "the event name must be a string"
    shown = name[:_MAX_EVENT_NAME_CHARS]
    if name in RESERVED_EVENTS:
        return f"{shown!r} is reserved and cannot be sent by a client"
    return f"unknown event {shown!r}"
