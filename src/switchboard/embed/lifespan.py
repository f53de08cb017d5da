"""One ASGI lifespan for two apps: Switchboard's startup and shutdown around the host's.

The server sends one `lifespan.startup` and, later, one `lifespan.shutdown`.
The host app sees exactly the protocol it would see alone, with the server's
own scope, so whatever its startup stores in `scope["state"]` reaches its
requests; its failure messages reach the server unchanged.

Switchboard starts first and stops last: the host's startup code, its
background jobs and its shutdown may still emit.

A host that does not speak the lifespan protocol (Django's ASGI handler
raises on the scope) runs without one, as under uvicorn's `--lifespan auto`:
an app that raises before it asked for its first message has no lifespan, one
that raises later failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("switchboard.embed")

# After its last message a host lifespan only has to return; one that hangs is cancelled.
_HOST_EXIT_SECONDS = 5.0


class HostLifespan:
    """Drives the host app's lifespan as a server would, one phase at a time."""

    def __init__(self, host: ASGIApp, scope: Scope) -> None:
        self._host = host
        self._scope = scope
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._replies: asyncio.Queue[Message] = asyncio.Queue()
        self._asked = False
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        await self._host(self._scope, self._receive, self._send)

    async def _receive(self) -> Message:
        self._asked = True
        return await self._inbox.get()

    async def _send(self, message: Message) -> None:
        await self._replies.put(message)

    async def startup(self) -> str | None:
        """None when the host started (or has no lifespan), else why it did not."""
        self._task = asyncio.get_running_loop().create_task(self._run())
        await self._inbox.put({"type": "lifespan.startup"})
        return await self._outcome("lifespan.startup")

    async def shutdown(self) -> str | None:
        """None when the host stopped cleanly, else its failure message."""
        task = self._task
        if task is None or task.done():
            return None  # no lifespan, or it ended already: nothing to stop
        await self._inbox.put({"type": "lifespan.shutdown"})
        outcome = await self._outcome("lifespan.shutdown")
        await self._finish()
        return outcome

    async def _outcome(self, phase: str) -> str | None:
        task = self._task
        assert task is not None
        reply = asyncio.ensure_future(self._replies.get())
        done, _ = await asyncio.wait({reply, task}, return_when=asyncio.FIRST_COMPLETED)
        if reply in done:
            message = reply.result()
            if message["type"] == f"{phase}.complete":
                return None
            if message["type"] == f"{phase}.failed":
                await self._finish()
                return str(message.get("message") or f"host app: {phase} failed")
            await self._finish()
            return f"host app sent {message['type']!r} during {phase}"
        reply.cancel()
        error = None if task.cancelled() else task.exception()
        if error is None:
            return None  # it returned: an app that ignores lifespan events
        if phase == "lifespan.startup" and not self._asked:
            log.info("the host app has no lifespan (%s); running it without one", error)
            return None
        return f"host app: {error!r}"

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def _finish(self) -> None:
        """Let the host's lifespan coroutine end, and take its exception (already reported)."""
        task = self._task
        if task is None:
            return
        if not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=_HOST_EXIT_SECONDS)
            except TimeoutError:
                task.cancel()
        with contextlib.suppress(BaseException):
            await task


async def run_lifespan(
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    host: ASGIApp,
    switchboard: Callable[[], AbstractAsyncContextManager[None]],
) -> None:
    """Serve the lifespan scope for Switchboard (outside) and the host (inside)."""
    message = await receive()
    if message["type"] != "lifespan.startup":
        return
    running = switchboard()
    try:
        await running.__aenter__()
    except Exception as exc:
        log.exception("switchboard failed to start")
        await send({"type": "lifespan.startup.failed", "message": f"switchboard: {exc}"})
        return
    host_life = HostLifespan(host, scope)
    try:
        failure = await host_life.startup()
        if failure is not None:
            await _stop(running)
            await send({"type": "lifespan.startup.failed", "message": failure})
            return
        await send({"type": "lifespan.startup.complete"})

        await receive()  # lifespan.shutdown: the only message that can come next
        failure = await host_life.shutdown()
        if not await _stop(running):
            failure = failure or "switchboard: shutdown failed (see the log)"
        if failure is None:
            await send({"type": "lifespan.shutdown.complete"})
        else:
            await send({"type": "lifespan.shutdown.failed", "message": failure})
    finally:
        host_life.cancel()  # only if the server gave up on us half-way (cancelled)


async def _stop(running: AbstractAsyncContextManager[None]) -> bool:
    try:
        await running.__aexit__(None, None, None)
    except Exception:
        log.exception("switchboard failed to stop cleanly")
        return False
    return True
