"""The notification scheduler: an asyncio loop over the database, on every node.

Each tick claims and pushes the notifications that are due (see
`NotificationService.deliver_due`: the claim is atomic, so several nodes on one
database deliver each row once). The database is the source of truth, so rows
that fell due while no server was running go out on the first tick after start.
The same loop runs housekeeping: pruning old read notifications, at most once
an hour per node.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from switchboard.notifications.service import NotificationService

log = logging.getLogger("switchboard.notifications.scheduler")

HOUSEKEEPING_EVERY_SECONDS = 3600.0
BATCH = 500
Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]


class NotificationScheduler:
    def __init__(
        self, service: NotificationService, *, interval_seconds: float, retention_days: int
    ) -> None:
        self.service = service
        self.interval = interval_seconds
        self.retention_days = retention_days
        self._task: asyncio.Task[Any] | None = None
        self._last_housekeeping: float | None = None

    def start(self, spawn: Spawn) -> None:
        """Start the loop as a task owned by `spawn` (the realtime server's task set)."""
        if self._task is None:
            self._task = spawn(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await self.tick()
            await asyncio.sleep(self.interval)

    async def tick(self) -> None:
        """One pass: deliver everything due (in batches), then housekeeping when it is time."""
        try:
            while await self.service.deliver_due(batch=BATCH) >= BATCH:
                pass  # a full batch: more may be due right now
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("delivering due notifications failed; retrying next tick")
        if self.retention_days > 0 and self._housekeeping_due():
            try:
                pruned = await self.service.prune_read(self.retention_days)
                if pruned:
                    log.info("pruned read notifications", extra={"count": pruned})
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("pruning read notifications failed")

    def _housekeeping_due(self) -> bool:
        now = time.monotonic()
        if (
            self._last_housekeeping is not None
            and now - self._last_housekeeping < HOUSEKEEPING_EVERY_SECONDS
        ):
            return False
        self._last_housekeeping = now
        return True
