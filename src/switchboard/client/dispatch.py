"""Incoming events: which handlers get them, parsed into which model, in what order.

Events are queued by the connection's reader and run by one task, in
arrival order: a handler may await a socket helper (whose ack the reader
delivers meanwhile) without holding up the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError

from switchboard.client.events import SERVER_EVENTS

log = logging.getLogger("switchboard.client")

EventHandler = Callable[[Any], Awaitable[None] | None]


class EventDispatcher:
    """Handlers per (namespace, event), and the task that runs them."""

    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str], list[EventHandler]] = defaultdict(list)
        self._queue: deque[tuple[str, str, list[Any]]] = deque()
        self._pump: asyncio.Task[None] | None = None
        self.expired = asyncio.Event()

    def add(self, event: str, handler: EventHandler, namespace: str | None = None) -> None:
        """Register `handler`; the namespace comes from the contract unless given."""
        if namespace is not None:
            namespaces: tuple[str, ...] = (namespace,)
        elif event in SERVER_EVENTS:
            namespaces = SERVER_EVENTS[event][0]
        else:
            raise ValueError(f"{event!r} is not a contract server event: pass namespace=")
        for ns in namespaces:
            self._handlers[(ns, event)].append(handler)

    def push(self, namespace: str, event: str, args: list[Any]) -> None:
        """Queue one event from the wire (called by the reader: never blocks)."""
        if event == "auth:expired":
            self.expired.set()
        if (namespace, event) not in self._handlers:
            return
        self._queue.append((namespace, event, args))
        if self._pump is None:
            self._pump = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            while self._queue:
                await self._dispatch(*self._queue.popleft())
        finally:
            self._pump = None

    async def _dispatch(self, namespace: str, event: str, args: list[Any]) -> None:
        payload: Any = args[0] if args else None
        spec = SERVER_EVENTS.get(event)
        if spec is not None and namespace in spec[0]:
            try:
                payload = spec[1].model_validate(payload)
            except ValidationError:
                log.warning("dropped a malformed %r event from %s", event, namespace)
                return
        for handler in list(self._handlers.get((namespace, event), ())):
            try:
                result = handler(payload)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("handler of %r failed", event)

    async def close(self) -> None:
        """Drop what is still queued and stop the task (unless a handler is closing us)."""
        self._queue.clear()
        pump = self._pump
        if pump is not None and pump is not asyncio.current_task():
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
