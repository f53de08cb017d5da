"""What an operator sees of one app: request ids, health checks, metrics and gauges.

`install` wires them into a built app: the request-id middleware, the
backend's health checks for `/healthz`, the per-emit metrics hook, a 503 for
requests that fail because the shared backend is down, and the gauges that
show an outage while it lasts. `start` and `stop` run inside the app's
lifespan. Which backend (memory or Redis) is decided by `open_backend`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING

from fastapi import FastAPI

from switchboard.api.errors import answer_unavailable
from switchboard.api.request_id import RequestIdMiddleware
from switchboard.config import Settings
from switchboard.metrics import Metrics
from switchboard.realtime.backends import Backend, HealthCheck
from switchboard.storage.database import Database

if TYPE_CHECKING:
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
    def __init__(self, metrics: Metrics, db: Database, backend: Backend) -> None:
        self.metrics = metrics
        self.db = db
        self.backend = backend
        self._task: asyncio.Task[None] | None = None

    @property
    def health_checks(self) -> Mapping[str, HealthCheck]:
        """What `/healthz` pings besides the database (the shared backend, if any)."""
        return self.backend.health_checks

    def install(self, http: FastAPI, rt: RealtimeServer) -> None:
        """Wire the request ids, the emit metrics and the Redis-outage answer into a built app."""
        http.add_middleware(RequestIdMiddleware, metrics=self.metrics)
        rt.emitter.hooks.append(EmitMetrics(self.metrics))
        if self.backend.name == "redis":
            # redis-py's own errors, from parts that talk to Redis directly
            # (presence, the event log), mean the shared backend is down.
            from redis.exceptions import RedisError

            answer_unavailable(http, RedisError, what="redis")

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._refresh_gauges())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _refresh_gauges(self) -> None:
        # Gauges that show an outage while it lasts, even if nobody calls /healthz.
        redis = self.backend.health_checks.get("redis")
        while True:
            self.metrics.database_up.set(1 if await self.db.ping() else 0)
            if redis is not None:
                self.metrics.redis_up.set(1 if await redis() else 0)
            await asyncio.sleep(GAUGE_INTERVAL)
