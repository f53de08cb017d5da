"""`create_app(settings)`: the HTTP API and the Socket.IO server on one ASGI app.

    BodyLimit ─> SocketIOMount ── /socket.io/* ──> origin check ──> transport (EngineAsgi)
                              └── everything else ──> FastAPI (API, /healthz, /metrics, page)

    uvicorn ── WebSocket upgrade of /socket.io/ ──> origin check ──> transport (fast path)

Each call builds a fresh, independent app: nothing is module-level, so tests
can run two in one process. `switchboard.embed.mount` puts the same app in
front of a host application (it drives `SwitchboardApp.lifespan` itself).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Receive, Scope, Send

from switchboard.__about__ import __version__
from switchboard.api import health, presence
from switchboard.api.body_limit import BodyLimitMiddleware
from switchboard.api.errors import install_error_handlers
from switchboard.api.origin import OriginPolicy, SocketIOMount
from switchboard.api.web_page import install_web_page
from switchboard.auth import internal as auth_internal
from switchboard.auth import routes as auth_routes
from switchboard.auth.directory import AuthenticateHook, UserDirectory
from switchboard.auth.host import build_host_auth
from switchboard.auth.revocation import RevocationService
from switchboard.auth.tokens import TokenService
from switchboard.auth.users import UserService
from switchboard.chat import routes as chat_routes
from switchboard.chat.namespace import ChatNamespace
from switchboard.chat.service import ChatService
from switchboard.config import Settings, load_settings
from switchboard.context import AppContext
from switchboard.limits import Limits
from switchboard.metrics import Metrics
from switchboard.notifications import internal as notification_internal
from switchboard.notifications import routes as notification_routes
from switchboard.notifications.namespace import NotificationsNamespace
from switchboard.notifications.scheduler import NotificationScheduler
from switchboard.notifications.service import UNREAD_COUNT_EVENT, NotificationService
from switchboard.operations import Operations, resolve_node_id
from switchboard.realtime.backends import open_backend
from switchboard.realtime.facade import Realtime
from switchboard.realtime.server import RealtimeServer
from switchboard.storage.database import Database
from switchboard.storage.migrate import upgrade_database
from switchboard.transport import Endpoint, EngineAsgi

log = logging.getLogger("switchboard")

STATIC_DIR = Path(__file__).parent / "static"
SHUTDOWN_STEP_SECONDS = 3.0


async def _bounded(step: Awaitable[None], what: str) -> None:
    try:
        await asyncio.wait_for(step, SHUTDOWN_STEP_SECONDS)
    except TimeoutError:
        log.warning("shutdown: %s did not stop within %.0fs; going on", what, SHUTDOWN_STEP_SECONDS)
    except Exception:
        log.exception("shutdown: %s failed; going on", what)


class SwitchboardApp:
    """The ASGI application `switchboard serve` runs.

    `lifespan()` starts and stops everything behind it (database, backend,
    realtime server, scheduler); standalone, the FastAPI app runs it from the
    ASGI lifespan protocol, mounted, `switchboard.embed` runs it around the
    host's own.
    """

    def __init__(
        self,
        ctx: AppContext,
        http: FastAPI,
        rt: RealtimeServer,
        policy: OriginPolicy,
        lifespan: Callable[[], AbstractAsyncContextManager[None]],
    ) -> None:
        self.ctx = ctx
        self.http = http
        self.rt = rt
        self.lifespan = lifespan
        settings = ctx.settings
        engine = EngineAsgi(rt.io, cors_allowed=policy.allows_cross_origin)
        # In front of both sides: the API and Engine.IO's polling POSTs (whose
        # payload limit is the Engine.IO one, if lower) are refused with 413 alike.
        self._app = BodyLimitMiddleware(
            SocketIOMount(http, engine, policy),
            settings.max_body_bytes,
            prefix_limits={"/socket.io": settings.max_http_buffer_size},
        )
        # The fast WebSocket path (`fast_websocket_protocol`) finds the transport here.
        self.realtime_endpoint = Endpoint(rt.io, "/socket.io/", check=policy.check_upgrade)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    async def drain(self) -> None:
        """Begin a graceful stop: tell every client to reconnect (elsewhere)."""
        await self.rt.drain()


def create_app(
    settings: Settings | None = None,
    *,
    users: UserDirectory | None = None,
    authenticate: AuthenticateHook | None = None,
    web_page: bool = True,
) -> SwitchboardApp:
    """`users`: the host's user directory; `authenticate`: the host's session check
    (both docs/host-auth.md). Without them, Switchboard's own users and tokens.
    `web_page=False` leaves out the demo page (as `mount` does)."""
    settings = settings or load_settings()
    db = Database(settings)
    metrics = Metrics()
    # Memory or Redis, decided here once, from SWITCHBOARD_REDIS_URL.
    backend = open_backend(settings, node_id=resolve_node_id(settings), metrics=metrics)
    user_service = UserService(db, directory=users)
    host_auth = build_host_auth(settings, user_service, authenticate)
    revocations = RevocationService(
        db,
        backend.revocations,
        settings.auth_sync_seconds,
        rotation_grace_seconds=settings.token_rotation_grace_seconds,
    )
    tokens = TokenService(
        # In host mode no token of ours is issued or accepted: any key will do.
        settings.resolved_jwt_secret() if host_auth is None else secrets.token_urlsafe(48),
        settings.token_ttl_seconds,
        session_max_seconds=settings.session_max_seconds,
        revocations=revocations,
        host=host_auth,
    )
    realtime = Realtime()
    limits = Limits(settings, backend.shared_buckets, metrics)
    chat = ChatService(db, realtime, user_service, settings, limits)
    notifications = NotificationService(db, realtime)
    ctx = AppContext(
        settings=settings,
        db=db,
        tokens=tokens,
        metrics=metrics,
        realtime=realtime,
        users=user_service,
        chat=chat,
        notifications=notifications,
        health_checks=backend.health_checks,
    )
    ops = Operations(metrics, db, backend)
    rt = RealtimeServer(settings, tokens, metrics, backend)
    rt.register(ChatNamespace(rt, chat))
    rt.on_presence_change(chat.on_presence_change)
    rt.on_room_change(chat.on_room_change)
    rt.register(NotificationsNamespace(rt, notifications))
    rt.on_logged_event(UNREAD_COUNT_EVENT, notifications.forget_unread_count)
    scheduler = NotificationScheduler(
        notifications,
        interval_seconds=settings.scheduler_interval_seconds,
        retention_days=settings.notification_retention_days,
    )

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        await upgrade_database(db)
        db.start()
        await revocations.start()
        realtime.bind(rt)
        await backend.start()
        await ops.start()
        await rt.start()
        scheduler.start(rt.spawn)
        log.debug("switchboard started", extra={"database": db.dialect})
        try:
            yield
        finally:
            # Each step is bounded, so a stuck one (a request blocked on the
            # database, say) cannot keep a draining node from exiting.
            await _bounded(scheduler.stop(), "scheduler")
            realtime.unbind()
            await _bounded(rt.close(), "realtime server")
            await _bounded(ops.stop(), "operations")
            await _bounded(revocations.stop(), "token revocations")
            await _bounded(backend.close(), f"{backend.name} backend")
            await _bounded(db.dispose(), "database pool")

    http = FastAPI(title="Switchboard", version=__version__, lifespan=lambda _app: lifespan())
    http.state.ctx = ctx
    http.state.limits = limits
    install_error_handlers(http)
    ops.install(http, rt)
    if settings.cors_origins:
        http.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    # Always routed: without a key its guard answers 404 saying why. First, because
    # FastAPI tries routers in order and services call these at the highest rates.
    http.include_router(notification_internal.router)
    http.include_router(auth_internal.router)
    http.include_router(health.router)
    http.include_router(presence.router)
    http.include_router(auth_routes.router)
    if host_auth is None:  # in host mode the host signs its users in
        http.include_router(auth_routes.session_router)
    http.include_router(chat_routes.router)
    http.include_router(notification_routes.router)

    if web_page:
        install_web_page(http, STATIC_DIR)

    return SwitchboardApp(ctx, http, rt, OriginPolicy(settings.cors_origins), lifespan)
