"""Connection state recovery for python-socketio's AsyncClient.

Everything here reaches into python-socketio internals; it is written against
python-socketio 5.18.1, pinned exactly in pyproject.toml. Re-read
socketio/async_client.py before moving the pin.

The protocol is socket.io-client's (≥ 4.6):
- the server's CONNECT answer carries `{sid, pid}` when recovery is on;
- every broadcast event carries one extra trailing string argument, the offset;
- on reconnect, the CONNECT payload of each namespace is `{pid, offset, ...auth}`;
- the socket is "recovered" when the server answers with the same pid again.

python-socketio sends one auth payload to every namespace and knows nothing
of pids, so this subclass overrides the three places involved: sending CONNECT
(`_handle_eio_connect`), receiving it (`_handle_connect`) and receiving events
(`_handle_event`). The offset is stripped before handlers run: Switchboard's
payloads are always JSON objects, so a trailing string after the payload is
always the offset.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from socketio import packet

StateListener = Callable[[str], Awaitable[None] | None]


class RecoveringAsyncClient(socketio.AsyncClient):  # type: ignore[misc]
    """An AsyncClient that keeps Socket.IO's recovery state per namespace.

    `on_state(state)` is called with "connected", "reconnecting", "recovered"
    (a reconnect the server recovered on every namespace) or "disconnected".
    """

    def __init__(
        self, *, on_state: StateListener | None = None, wait_timeout: float = 5.0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._on_state = on_state
        self._wait_timeout = wait_timeout
        self.pids: dict[str, str] = {}
        self.offsets: dict[str, str] = {}
        self.recovered_namespaces: set[str] = set()
        self._has_connected = False
        self.recovered = False

    # -- sending CONNECT ----------------------------------------------------------------

    def connect_payload(self, namespace: str, auth: dict[str, Any]) -> dict[str, Any]:
        """What CONNECT carries for `namespace`: the auth, plus pid/offset once known."""
        pid = self.pids.get(namespace)
        if pid is None:
            return dict(auth)
        extra: dict[str, Any] = {"pid": pid}
        offset = self.offsets.get(namespace)
        if offset is not None:
            extra["offset"] = offset
        # As socket.io-client's Object.assign({pid, offset}, auth): auth keys win.
        return {**extra, **auth}

    async def _handle_eio_connect(self) -> None:
        self.logger.info("Engine.IO connection established")
        self.sid = self.eio.sid
        real_auth = await self._get_real_value(self.connection_auth) or {}
        for n in self.connection_namespaces:
            await self._send_packet(
                self.packet_class(
                    packet.CONNECT, data=self.connect_payload(n, real_auth), namespace=n
                )
            )

    # -- receiving CONNECT and events -------------------------------------------------

    async def _handle_connect(self, namespace: str | None, data: Any) -> None:
        ns = namespace or "/"
        pid = data.get("pid") if isinstance(data, dict) else None
        if isinstance(pid, str) and pid:
            if self.pids.get(ns) == pid:
                self.recovered_namespaces.add(ns)
            else:
                # A new session: the old offset belongs to the old pid.
                self.recovered_namespaces.discard(ns)
                self.offsets.pop(ns, None)
            self.pids[ns] = pid
        else:
            self.recovered_namespaces.discard(ns)
            self.pids.pop(ns, None)
            self.offsets.pop(ns, None)
        await super()._handle_connect(namespace, data)

    async def _handle_event(self, namespace: str | None, id: int | None, data: list[Any]) -> None:
        ns = namespace or "/"
        # data is [event, *args]: strip only when the event has more than one argument.
        if ns in self.pids and len(data) > 2 and isinstance(data[-1], str):
            self.offsets[ns] = data[-1]
            data = data[:-1]
        await super()._handle_event(namespace, id, data)

    def forget_session(self) -> None:
        """Drop pids and offsets: the next connect starts a new session (after logout)."""
        self.pids.clear()
        self.offsets.clear()
        self.recovered_namespaces.clear()
        self._has_connected = False
        self.recovered = False

    # -- connection state ---------------------------------------------------------------

    async def connect(self, url: Any, *args: Any, **kwargs: Any) -> None:
        # _handle_reconnect calls connect() without wait_timeout (default 1 s):
        # too short for a loaded machine, so ours applies to reconnects too.
        kwargs.setdefault("wait_timeout", self._wait_timeout)
        reconnect = self._has_connected
        self.recovered_namespaces.clear()
        await super().connect(url, *args, **kwargs)
        self._has_connected = True
        self.recovered = reconnect and set(self.connection_namespaces) <= self.recovered_namespaces
        await self._notify("recovered" if self.recovered else "connected")

    async def _handle_eio_disconnect(self, reason: Any) -> None:
        will_reconnect = self.reconnection and self.eio.state == "connected"
        was_connected = self.connected
        await super()._handle_eio_disconnect(reason)
        if was_connected:
            await self._notify("reconnecting" if will_reconnect else "disconnected")

    async def _handle_disconnect(self, namespace: str | None) -> None:
        # A server-side DISCONNECT of the last namespace closes Engine.IO with
        # `connected` already False, which _handle_eio_disconnect cannot see.
        was_connected = self.connected
        await super()._handle_disconnect(namespace)
        if was_connected and not self.connected:
            await self._notify("disconnected")

    async def _handle_reconnect(self) -> None:
        await super()._handle_reconnect()
        if self.eio.state != "connected":  # gave up, or aborted by shutdown()
            await self._notify("disconnected")

    async def _notify(self, state: str) -> None:
        if self._on_state is None:
            return
        try:
            result = self._on_state(state)
            if inspect.isawaitable(result):
                await result
        except Exception:
            self.logger.exception("connection state listener failed")
