"""A python-socketio client that speaks connection state recovery, for tests.

It keeps the `pid` of each namespace's CONNECT answer and the last offset
seen, strips that offset (a trailing string argument, sent only once the
CONNECT answer carried a pid) before handlers run, and sends `{pid, offset}`
with its auth on every (re)connect — the contract socket.io-client and the
SDK follow. `recovered` tells, per namespace, whether the last CONNECT kept the pid.
"""

from __future__ import annotations

from typing import Any

import socketio
from socketio import packet


class RecoveringClient(socketio.AsyncClient):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pids: dict[str, str] = {}
        self.offsets: dict[str, str] = {}
        self.recovered: dict[str, bool] = {}
        self.connect_sids: dict[str, str] = {}

    def resume_from(self, other: RecoveringClient) -> None:
        """Carry another client's sessions over (a reconnect from a new client object)."""
        self.pids = dict(other.pids)
        self.offsets = dict(other.offsets)

    async def _handle_eio_connect(self) -> None:
        self.sid = self.eio.sid
        base = await self._get_real_value(self.connection_auth) or {}
        for ns in self.connection_namespaces:
            data = dict(base)
            if ns in self.pids:
                data["pid"] = self.pids[ns]
                if ns in self.offsets:
                    data["offset"] = self.offsets[ns]
            await self._send_packet(self.packet_class(packet.CONNECT, data=data, namespace=ns))

    async def _handle_connect(self, namespace: str | None, data: Any) -> None:
        ns = namespace or "/"
        if isinstance(data, dict):
            pid = data.get("pid")
            self.recovered[ns] = isinstance(pid, str) and self.pids.get(ns) == pid
            if isinstance(pid, str):
                if not self.recovered[ns]:
                    self.offsets.pop(ns, None)
                self.pids[ns] = pid
            if isinstance(data.get("sid"), str):
                self.connect_sids[ns] = data["sid"]
        await super()._handle_connect(namespace, data)

    async def _handle_event(self, namespace: str | None, id: Any, data: Any) -> None:
        ns = namespace or "/"
        if ns in self.pids and id is None and len(data) > 1 and isinstance(data[-1], str):
            self.offsets[ns] = data[-1]
            data = data[:-1]
        await super()._handle_event(namespace, id, data)
