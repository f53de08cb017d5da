"""The socket lifecycle: one Engine.IO session carrying every namespace, kept alive.

`SocketConnection` is the asyncio adapter around the sans-I/O
`ClientSession`: it opens a transport (`transports.open_transport`),
connects every namespace at once, reads packets in one task, answers acks,
watches the server's heartbeat, and after a lost transport reconnects with
backoff, resuming the previous sessions (pid and offset) when the server can.

States, as `on_state` receives them: "connected", "reconnecting",
"recovered" (a reconnect the server recovered on every namespace) and
"disconnected".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from switchboard.client.errors import AckTimeoutError, NotConnectedError, SwitchboardClientError
from switchboard.client.transports import (
    KNOWN_TRANSPORTS,
    Transport,
    TransportError,
    open_transport,
)
from switchboard.transport import engineio as eio
from switchboard.transport.client import (
    AckReceived,
    ClientEvent,
    ClientSession,
    Connected,
    ConnectRefused,
    EventReceived,
    NamespaceClosed,
    Opened,
    SessionClosed,
)
from switchboard.transport.engineio import EngineProtocolError
from switchboard.transport.socketio import SocketProtocolError

log = logging.getLogger("switchboard.client")

StateListener = Callable[[str], Awaitable[None]]
EventListener = Callable[[str, str, list[Any]], None]

# ± this share of each reconnect delay is random, so clients dropped together
# do not come back together.
_JITTER = 0.2


class ConnectError(SwitchboardClientError):
    """A connect attempt failed: refused by the server, or no transport."""


class SocketConnection:
    """Every namespace of one client over one Engine.IO session, reconnected when lost.

    `auth()` and `headers()` are called on every (re)connect, so a refreshed
    token is the one that reconnects. `on_event(namespace, name, args)` must
    not block: it is called from the reader.
    """

    def __init__(
        self,
        base_url: str,
        namespaces: Sequence[str],
        *,
        auth: Callable[[], dict[str, Any]],
        headers: Callable[[], dict[str, str]],
        on_state: StateListener,
        on_event: EventListener,
        transports: Sequence[str] = ("websocket",),
        reconnection: bool = True,
        reconnection_delay: float = 0.5,
        reconnection_delay_max: float = 5.0,
        timeout: float = 10.0,
    ) -> None:
        unknown = set(transports) - KNOWN_TRANSPORTS
        if unknown or not transports:
            raise ValueError(f"transports must be among {sorted(KNOWN_TRANSPORTS)}: {transports!r}")
        self.base_url = base_url
        self.namespaces = tuple(namespaces)
        self.transports = tuple(transports)
        self.reconnection = reconnection
        self.reconnection_delay = reconnection_delay
        self.reconnection_delay_max = reconnection_delay_max
        self.timeout = timeout
        self.session = ClientSession()
        self.state = "disconnected"
        self.recovered = False
        self._auth = auth
        self._headers = headers
        self._on_state = on_state
        self._on_event = on_event
        self._transport: Transport | None = None
        self._reader: asyncio.Task[None] | None = None
        self._reconnector: asyncio.Task[None] | None = None
        self._sending = asyncio.Lock()
        self._acks: dict[int, asyncio.Future[list[Any]]] = {}
        self._ready: asyncio.Future[None] | None = None
        self._waiting: set[str] = set()
        self._recovered: set[str] = set()
        self._closing = False
        self._has_connected = False

    # -- state -----------------------------------------------------------------------------

    @property
    def transport(self) -> Transport | None:
        """The live transport, if any."""
        return self._transport

    @property
    def connected(self) -> bool:
        """True while every namespace is connected."""
        return self._transport is not None and all(
            ns in self.session.sids for ns in self.namespaces
        )

    def sid(self, namespace: str) -> str | None:
        return self.session.sids.get(namespace) if self._transport is not None else None

    def forget_session(self) -> None:
        """The next connect starts new sessions instead of recovering (after a logout)."""
        self.session.forget()
        self._has_connected = False
        self.recovered = False

    async def _notify(self, state: str) -> None:
        self.state = state
        await self._on_state(state)

    # -- connect and disconnect ----------------------------------------------------------------

    async def connect(self) -> None:
        """Connect every namespace; raises `ConnectError` when the server refuses or is away."""
        if self._transport is not None or self._reconnector is not None:
            raise SwitchboardClientError("already connected")
        self._closing = False
        await self._attempt()
        await self._connected()

    async def _attempt(self) -> None:
        """One connect: a transport, CONNECT on every namespace, every answer."""
        self.session.start()
        loop = asyncio.get_running_loop()
        ready = self._ready = loop.create_future()
        self._waiting = set(self.namespaces)
        self._recovered = set()
        try:
            async with asyncio.timeout(self.timeout):
                transport, first = await open_transport(
                    self.base_url, self.transports, self._headers(), http_timeout=self.timeout
                )
                self._transport = transport
                self._reader = loop.create_task(self._read(transport, first))
                await asyncio.shield(ready)
        except TimeoutError:
            await self._drop()
            raise ConnectError(f"no answer from the server in {self.timeout}s") from None
        except TransportError as exc:
            await self._drop()
            raise ConnectError(str(exc)) from exc
        except BaseException:
            await self._drop()
            raise
        finally:
            self._ready = None
            if not ready.done():
                ready.cancel()
            elif not ready.cancelled():
                ready.exception()  # retrieved: a failed attempt was reported by the raise

    async def _connected(self) -> None:
        reconnect = self._has_connected
        self._has_connected = True
        self.recovered = reconnect and self._recovered >= set(self.namespaces)
        await self._notify("recovered" if self.recovered else "connected")

    async def disconnect(self) -> None:
        """Leave every namespace, close the session and stop reconnecting."""
        self._closing = True
        reconnector, self._reconnector = self._reconnector, None
        if reconnector is not None and reconnector is not asyncio.current_task():
            reconnector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reconnector
        if self._transport is not None:
            for ns in list(self.session.sids):
                self.session.disconnect(ns)
            self.session.close()
            with contextlib.suppress(TransportError):
                await self._flush()
        await self._drop()
        if self.state != "disconnected":
            await self._notify("disconnected")

    async def _drop(self) -> None:
        """Stop reading and close the transport; pending acks fail."""
        transport, self._transport = self._transport, None
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        if transport is not None:
            with contextlib.suppress(TransportError, OSError):
                await transport.close()
        self._fail_acks()

    def _fail_acks(self) -> None:
        acks, self._acks = self._acks, {}
        for future in acks.values():
            if not future.done():
                future.set_exception(NotConnectedError("the connection was lost"))

    # -- sending -------------------------------------------------------------------------------

    async def _flush(self) -> None:
        # Taken under the lock: packets leave in the order the session made them.
        async with self._sending:
            packets = self.session.data_to_send()
            transport = self._transport
            if packets and transport is not None:
                await transport.send(packets)

    async def call(self, namespace: str, event: str, payload: Any) -> Any:
        """Emit `event` with `payload` and return the ack's first argument."""
        if self._transport is None or namespace not in self.session.sids:
            raise NotConnectedError(f"{namespace} is not connected")
        ack_id = self.session.emit(namespace, event, [payload], ack=True)
        assert ack_id is not None
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = future
        try:
            try:
                await self._flush()
            except TransportError:
                raise NotConnectedError(f"{namespace} is not connected") from None
            try:
                args = await asyncio.wait_for(future, self.timeout)
            except TimeoutError:
                raise AckTimeoutError(f"no ack for {event!r} in {self.timeout}s") from None
        finally:
            if self._acks.get(ack_id) is future:
                del self._acks[ack_id]
        return args[0] if args else None

    # -- reading -------------------------------------------------------------------------------

    async def _read(self, transport: Transport, first: list[eio.Packet]) -> None:
        silence: float | None = None
        packets = first
        try:
            while True:
                for packet in packets:
                    for event in self.session.receive(packet):
                        if isinstance(event, Opened):
                            silence = event.info.silence_allowed
                            auth = self._auth()
                            for ns in self.namespaces:
                                self.session.connect(ns, auth)
                        elif not self._handle(event):
                            await self._ended_by_server(transport)
                            return
                await self._flush()
                # No packet for a ping interval plus its timeout: the server is gone.
                async with asyncio.timeout(silence):
                    packets = await transport.receive()
        except (TransportError, TimeoutError, EngineProtocolError, SocketProtocolError) as exc:
            log.info("lost the connection to %s: %s", self.base_url, exc or type(exc).__name__)
            self._lost(transport, ConnectError(f"connection lost: {exc}"))

    def _handle(self, event: ClientEvent) -> bool:
        """Apply one protocol event; False when the server ended the session."""
        if isinstance(event, EventReceived):
            if event.ack_id is not None:
                # Switchboard's server asks for none; answering keeps other servers happy.
                self.session.ack(event.namespace, event.ack_id, [])
            if isinstance(event.name, str):
                self._on_event(event.namespace, event.name, event.args)
        elif isinstance(event, AckReceived):
            future = self._acks.pop(event.ack_id, None)
            if future is not None and not future.done():
                future.set_result(event.args)
        elif isinstance(event, Connected):
            if event.recovered:
                self._recovered.add(event.namespace)
            self._waiting.discard(event.namespace)
            if not self._waiting and self._ready is not None and not self._ready.done():
                self._ready.set_result(None)
        elif isinstance(event, ConnectRefused):
            message = event.data.get("message", "refused")
            if self._ready is not None and not self._ready.done():
                self._ready.set_exception(ConnectError(f"{event.namespace}: {message}"))
            else:
                log.warning("%s refused: %s", event.namespace, message)
        elif isinstance(event, NamespaceClosed):
            return bool(self.session.sids)
        elif isinstance(event, SessionClosed):
            return False
        return True

    def _lost(self, transport: Transport, error: ConnectError) -> None:
        if self._transport is not transport:
            return  # already dropped on purpose
        self._fail_acks()
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(error)  # a connect attempt: it reports and retries
            return
        self._transport = None
        self._reader = None
        if not self._closing:
            self._reconnector = asyncio.get_running_loop().create_task(self._after_loss(transport))

    async def _ended_by_server(self, transport: Transport) -> None:
        """Every namespace was disconnected by the server, or it closed the session:
        the server meant it (an expired token, a shutdown of this client), so no reconnect."""
        self._fail_acks()
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(ConnectError("the server closed the session"))
            return
        if self._transport is transport:
            self._transport = None
            self._reader = None
        with contextlib.suppress(TransportError, OSError):
            await transport.close()
        self._reconnector = asyncio.get_running_loop().create_task(self._report_disconnected())

    async def _report_disconnected(self) -> None:
        self._reconnector = None
        await self._notify("disconnected")

    async def _after_loss(self, transport: Transport) -> None:
        with contextlib.suppress(TransportError, OSError):
            await transport.close()
        if not self.reconnection:
            self._reconnector = None
            await self._notify("disconnected")
            return
        await self._notify("reconnecting")
        attempt = 0
        while not self._closing:
            delay = min(self.reconnection_delay * 2**attempt, self.reconnection_delay_max)
            spread = 1 + _JITTER * (2 * random.random() - 1)  # noqa: S311 (spreading, not secrets)
            await asyncio.sleep(delay * spread)
            attempt += 1
            try:
                await self._attempt()
            except ConnectError as exc:
                log.info("reconnect attempt %d failed: %s", attempt, exc)
                continue
            except Exception:
                # Not a refusal or a network failure: still no reason to stop trying.
                log.warning("reconnect attempt %d failed", attempt, exc_info=True)
                continue
            self._reconnector = None
            await self._connected()
            return
