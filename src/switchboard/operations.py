"""Everything a multi-node deployment adds to one app: cluster presence, health, metrics.

`Operations.build(settings, metrics)` decides from `SWITCHBOARD_REDIS_URL`
whether presence is local (one node) or in Redis (a cluster), and `install`
wires the rest: the request-id middleware, the Redis health check for
`/healthz`, the per-emit metrics hook and the dependency gauges. `start` and
`stop` run inside the app's lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from switchboard.api.request_id import RequestIdMiddleware
from switchboard.config import Settings
from switchboard.metrics import Metrics
from switchboard.realtime.cluster_presence import ClusterPresence
from switchboard.realtime.redis_conn import redis_client, redis_ping

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from switchboard.context import AppContext
    from switchboard.realtime.server import RealtimeServer

GAUGE_INTERVAL = 5.0


def resolve_node_id(settings: Settings) -> str:
    """`SWITCHBOARD_NODE_ID`, or host-pid-random: unique per process life."""
    return settings.node_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class EmitMetrics:
    """Emitter hook: counts every broadcast delivered here and how many local sockets got it."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def on_delivered(self, namespace: str, event: str, recipients: int) -> None:
        self.metrics.event_out(namespace, event, recipients)


class Operations:
    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.node_id = resolve_node_id(settings)
        self.presence: ClusterPresence | None = None
        self.redis: Redis | None = None
        self._task: asyncio.Task[None] | None = None
        self._db: Any = None
        if settings.redis_url:
            self.redis = redis_client(settings.redis_url, name=f"switchboard-health-{self.node_id}")
            self.presence = ClusterPresence(
                redis_client(settings.redis_url, name=f"switchboard-presence-{self.node_id}"),
                self.node_id,
                ttl_seconds=settings.node_ttl_seconds,
                metrics=metrics,
            )
            metrics.count_online_users(self.presence.local_user_count)

    def install(self, http: FastAPI, ctx: AppContext, rt: RealtimeServer) -> None:
        """Wire middleware, health checks and hooks into a built app."""
        self._db = ctx.db
        ctx.services["node_id"] = self.node_id
        http.add_middleware(RequestIdMiddleware, metrics=self.metrics)
        rt.emitter.hooks.append(EmitMetrics(self.metrics))
        if self.presence is not None:
            # A dead node's users are announced by the survivor that reaps it.
            self.presence.on_change = rt._presence_changed
        if self.redis is not None:
            redis = self.redis
            ctx.services.setdefault("health_checks", {})["redis"] = lambda: redis_ping(redis)

            async def _redis_down(_request: Request, exc: Exception) -> JSONResponse:
                return JSONResponse(
                    {"detail": "redis unavailable, try again", "code": "unavailable"},
                    status_code=503,
                )

            http.add_exception_handler(RedisError, _redis_down)

    async def start(self) -> None:
        if self.presence is not None:
            await self.presence.start()
        self._task = asyncio.get_running_loop().create_task(self._refresh_gauges())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.redis is not None:
            await self.redis.aclose()

    async def _refresh_gauges(self) -> None:
        # Gauges that show an outage while it lasts, even if nobody calls /healthz.
        while True:
            if self._db is not None:
                self.metrics.database_up.set(1 if await self._db.ping() else 0)
            if self.redis is not None:
                self.metrics.redis_up.set(1 if await redis_ping(self.redis) else 0)
            await asyncio.sleep(GAUGE_INTERVAL)
