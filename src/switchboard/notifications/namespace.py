"""The `/notifications` namespace: every socket joins its user's room `user:{id}`.

On connect a socket is told its unread count; `notification:read {id}` marks
one of the user's notifications read and tells the user's other sockets the
new count, so every tab's badge agrees.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from switchboard.notifications.schemas import ReadPayload
from switchboard.notifications.service import UNREAD_COUNT_EVENT, NotificationService
from switchboard.realtime.namespace import AckResult, SocketContext, SocketNamespace, event
from switchboard.types import NOTIFICATIONS

if TYPE_CHECKING:
    from switchboard.realtime.server import RealtimeServer

log = logging.getLogger("switchboard.notifications")


class NotificationsNamespace(SocketNamespace):
    name = NOTIFICATIONS

    def __init__(self, rt: RealtimeServer, service: NotificationService) -> None:
        super().__init__(rt)
        self.service = service

    async def after_connect(self, sock: SocketContext) -> None:
        try:
            count = await self.service.unread_count_on_connect(sock.user_id)
        except Exception:
            # The socket stays useful without its badge; the next change pushes a count.
            log.exception("unread count on connect failed", extra={"sid": sock.sid})
            return
        await self.rt.emitter.to_socket(
            sock.sid, UNREAD_COUNT_EVENT, {"count": count}, namespace=self.name
        )

    @event("notification:read", ReadPayload)
    async def read(self, sock: SocketContext, payload: ReadPayload) -> AckResult:
        _row, count = await self.service.mark_read(sock.user_id, payload.id)
        await self.service.push_unread_count(sock.user_id, count, skip_sid=sock.sid)
        return {"unread_count": count}
