"""`mount(host_app)`: Switchboard in front of an existing ASGI app, on its port.

    EmbeddedApp ── lifespan ──> Switchboard's startup, then the host's (run_lifespan)
                ├── /socket.io/*, /healthz, /metrics ──> Switchboard (as standalone)
                ├── {prefix}/socket.io/* ──> the same Socket.IO server (path without prefix)
                ├── {prefix}/* ──> Switchboard's HTTP API (root_path += prefix)
                └── everything else ──> the host app, scope untouched

The host keeps its routes, middleware, errors and lifespan; Switchboard's
request limits and error bodies apply only to what it serves. The fast
WebSocket path finds `realtime_endpoint` here, as on a standalone app.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from switchboard.app import SwitchboardApp, create_app
from switchboard.auth.directory import AuthenticateHook, UserDirectory
from switchboard.config import Settings
from switchboard.context import AppContext
from switchboard.embed.lifespan import run_lifespan
from switchboard.errors import ConfigError
from switchboard.notifications.service import NotificationService
from switchboard.realtime.facade import Realtime
from switchboard.transport import Endpoint

SOCKETIO_PATH = "/socket.io"
OPERATIONS_PATHS = frozenset({"/healthz", "/metrics"})
_PREFIX_RE = re.compile(r"(/[A-Za-z0-9._~-]+)+")


def route_path(scope: Scope) -> str:
    """The request path below the scope's `root_path` (as ASGI routers see it)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root) :]
    return path


def checked_prefix(prefix: str) -> str:
    if not _PREFIX_RE.fullmatch(prefix) or any(part in (".", "..") for part in prefix.split("/")):
        raise ConfigError(
            f"mount prefix {prefix!r}: a path like '/switchboard' "
            "(starts with '/', no trailing '/', letters, digits, '.', '_', '~', '-')"
        )
    if prefix == SOCKETIO_PATH or prefix.startswith(SOCKETIO_PATH + "/"):
        raise ConfigError(f"mount prefix {prefix!r}: {SOCKETIO_PATH} is the Socket.IO path")
    return prefix


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


class EmbeddedApp:
    """A host ASGI app with Switchboard mounted on it; what `mount` returns.

    `realtime` (emit to users and rooms) and `notifications` (store and push)
    are the in-process handles for the host's own code; they work once the
    server has started (inside the lifespan).
    """

    def __init__(
        self,
        host: ASGIApp,
        switchboard: SwitchboardApp,
        *,
        prefix: str = "/switchboard",
        root_operations: bool = True,
    ) -> None:
        self.host = host
        self.switchboard = switchboard
        self.prefix = checked_prefix(prefix)
        self._root_paths = OPERATIONS_PATHS if root_operations else frozenset()
        # The fast WebSocket path (`fast_websocket_protocol`) finds the transport here.
        self.realtime_endpoint: Endpoint = switchboard.realtime_endpoint

    @property
    def ctx(self) -> AppContext:
        return self.switchboard.ctx

    @property
    def realtime(self) -> Realtime:
        return self.switchboard.ctx.realtime

    @property
    def notifications(self) -> NotificationService:
        return self.switchboard.ctx.notifications

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await run_lifespan(
                scope, receive, send, host=self.host, switchboard=self.switchboard.lifespan
            )
            return
        if kind in ("http", "websocket"):
            path = route_path(scope)
            if _under(path, SOCKETIO_PATH) or path in self._root_paths:
                await self.switchboard(scope, receive, send)
                return
            if _under(path, self.prefix):
                root = scope.get("root_path", "") + self.prefix
                inner = path[len(self.prefix) :]
                if _under(inner, SOCKETIO_PATH):
                    # A client that takes the prefix as its base URL (switchboard.client)
                    # looks for Socket.IO there: the same server, through plain ASGI.
                    scope = {**scope, "path": inner, "raw_path": inner.encode(), "root_path": root}
                else:
                    scope = {**scope, "root_path": root}
                await self.switchboard(scope, receive, send)
                return
        await self.host(scope, receive, send)

    async def drain(self) -> None:
        """Begin a graceful stop: tell every Socket.IO client to reconnect (elsewhere)."""
        await self.switchboard.drain()


def mount(
    host: ASGIApp,
    settings: Settings | None = None,
    *,
    prefix: str = "/switchboard",
    root_operations: bool = True,
    users: UserDirectory | None = None,
    authenticate: AuthenticateHook | None = None,
    switchboard: SwitchboardApp | None = None,
) -> EmbeddedApp:
    """Serve Switchboard and `host` on one ASGI app (docs/embedding.md).

    Socket.IO at `/socket.io/`, Switchboard's HTTP API under `prefix` (e.g.
    `/switchboard/api/conversations`), `/healthz` and `/metrics` at the root
    (`root_operations=False` leaves those paths to the host: they stay under
    the prefix), every other request to `host` unchanged. `settings` default
    to the environment (`SWITCHBOARD_*`); `users` and `authenticate` are the
    host-mode hooks of `create_app` (docs/host-auth.md). Or pass `switchboard`,
    an app built with `create_app(..., web_page=False)`, instead of all three.
    """
    built = switchboard is not None
    if built and (settings is not None or users is not None or authenticate is not None):
        raise ConfigError("mount: pass a built switchboard app, or what to build one from")
    checked_prefix(prefix)  # before building anything
    app = switchboard or create_app(
        settings, users=users, authenticate=authenticate, web_page=False
    )
    return EmbeddedApp(host, app, prefix=prefix, root_operations=root_operations)
