"""The `/notifications` namespace: every socket joins its user's room `user:{id}`."""

from __future__ import annotations

from switchboard.realtime.namespace import SocketNamespace
from switchboard.types import NOTIFICATIONS


class NotificationsNamespace(SocketNamespace):
    name = NOTIFICATIONS
