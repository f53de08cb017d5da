"""The base of Switchboard's namespaces: authenticated sockets and validated events.

A domain namespace subclasses `SocketNamespace` and declares its events:

    class ChatNamespace(SocketNamespace):
        name = "/chat"

        @event("typing", TypingPayload)
        async def typing(self, sock: SocketContext, payload: TypingPayload) -> AckResult:
            ...

Every event is rate-limited, its payload validated with pydantic, and the
handler's result (or error) becomes the SPEC's ack: `{ok: true, ...}` or
`{ok: false, error: {code, message}}`. Nothing a client sends can raise out of
here, close the server, or touch another user's socket.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import socketio
from pydantic import BaseModel, ValidationError

from switchboard.errors import (
    AppError,
    AuthError,
    ForbiddenError,
    InvalidPayloadError,
    RateLimitedError,
)
from switchboard.realtime.auth import authenticate_handshake
from switchboard.realtime.ratelimit import TokenBucket
from switchboard.realtime.state import SocketState
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


class SocketNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
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
        super().__init__(self.name)
        self.rt = rt
        self.sockets: dict[Sid, SocketState] = {}

    # -- hooks for subclasses --------------------------------------------------------

    async def rooms_for(self, user_id: UserId) -> list[str]:
        """Rooms a new socket joins before it is told it is connected."""
        return [user_room(user_id)]

    async def on_connected(self, sock: SocketContext) -> None:
        """Runs once the client has its CONNECT answer (send first events here)."""

    async def on_disconnected(self, sock: SocketContext) -> None:
        """Runs after the socket has left presence."""

    # -- the CONNECT handshake (called by _sio_internals.SocketIOServer) ---------------

    async def authenticate(
        self, sid: Sid, environ: Mapping[str, Any], auth: object
    ) -> dict[str, Any]:
        claims = authenticate_handshake(self.rt.tokens, environ, auth)
        rate = self.rt.settings.rate_limit
        state = SocketState(
            claims.user_id, self.name, claims.expires_at, TokenBucket(rate) if rate > 0 else None
        )
        for room in await self.rooms_for(claims.user_id):
            await self.enter_room(sid, room)
        self.sockets[sid] = state
        self._schedule_expiry(sid, state)
        return {}

    async def connected(self, sid: Sid) -> None:
        state = self.sockets.get(sid)
        if state is None:  # disconnected while connecting
            return
        await self.rt.socket_connected(self.name, sid, state.user_id)
        await self.on_connected(SocketContext(sid, state.user_id, self.name))

    # -- python-socketio entry point -------------------------------------------------

    async def trigger_event(self, event_name: str, *args: Any) -> Any:
        if event_name == "disconnect":
            await self._disconnected(args[0])
            return None
        if event_name == "connect":  # handled by authenticate/connected
            return None
        sid: Sid = args[0]
        return await self._dispatch(sid, event_name, args[1:])

    async def _dispatch(self, sid: Sid, event_name: str, args: tuple[Any, ...]) -> AckResult:
        state = self.sockets.get(sid)
        if state is None:
            return ForbiddenError("not connected").to_ack()
        spec = self._events.get(event_name)
        # Unknown names are counted under one label: clients must not grow the metrics.
        self.rt.metrics.event_in(self.name, spec.name if spec else "<unknown>")
        if state.bucket is not None and not state.bucket.take():
            self.rt.metrics.rate_limited(self.name)
            return RateLimitedError().to_ack()
        if spec is None:
            return InvalidPayloadError(f"unknown event {str(event_name)[:64]!r}").to_ack()
        sock = SocketContext(sid, state.user_id, self.name)
        started = time.perf_counter()
        try:
            payload: Any = args[0] if args else None
            if spec.payload is not None:
                payload = spec.payload.model_validate(payload)
            result = await spec.handler(self, sock, payload)
        except ValidationError as exc:
            return InvalidPayloadError(_validation_message(exc)).to_ack()
        except AppError as exc:
            return exc.to_ack()
        except Exception:
            log.exception(
                "event handler failed",
                extra={
                    "namespace": self.name,
                    "event": event_name,
                    "sid": sid,
                    "user_id": state.user_id,
                },
            )
            return {"ok": False, "error": {"code": "internal", "message": "internal error"}}
        finally:
            self.rt.metrics.handler_latency(self.name, spec.name, time.perf_counter() - started)
        return {"ok": True, **(result or {})}

    async def _disconnected(self, sid: Sid) -> None:
        state = self.sockets.pop(sid, None)
        if state is None:
            return
        if state.expiry is not None:
            state.expiry.cancel()
        await self.rt.socket_disconnected(self.name, sid, state.user_id)
        try:
            await self.on_disconnected(SocketContext(sid, state.user_id, self.name))
        except Exception:
            log.exception("disconnect hook failed", extra={"namespace": self.name, "sid": sid})

    # -- token lifetime on live sockets ----------------------------------------------

    def _schedule_expiry(self, sid: Sid, state: SocketState) -> None:
        if state.expiry is not None:
            state.expiry.cancel()
        delay = max(0.0, state.expires_at - time.time())
        state.expiry = asyncio.get_running_loop().call_later(delay, self._expire, sid)

    def _expire(self, sid: Sid) -> None:
        self.rt.spawn(self._end_expired(sid))

    async def _end_expired(self, sid: Sid) -> None:
        state = self.sockets.get(sid)
        if state is None:
            return
        if state.expires_at > time.time():
            # The loop's monotonic clock can fire a hair before the wall-clock `exp`
            # (or a refresh moved it): check again at the new time, never drop it.
            self._schedule_expiry(sid, state)
            return
        log.info("token expired on a live socket", extra={"namespace": self.name, "sid": sid})
        await self.rt.emitter.to_socket(
            sid, "auth:expired", {"code": "token_expired"}, namespace=self.name
        )
        await self.disconnect(sid)

    @event("auth:refresh", AuthRefreshPayload)
    async def auth_refresh(self, sock: SocketContext, payload: AuthRefreshPayload) -> AckResult:
        try:
            claims = self.rt.tokens.verify(payload.token)
        except AuthError as exc:
            raise ForbiddenError(exc.code) from None
        if claims.user_id != sock.user_id:
            raise ForbiddenError("token belongs to another user")
        state = self.sockets.get(sock.sid)
        if state is None:
            raise ForbiddenError("not connected")
        state.expires_at = claims.expires_at
        self._schedule_expiry(sock.sid, state)
        return {"expires_at": datetime.fromtimestamp(claims.expires_at, UTC).isoformat()}
