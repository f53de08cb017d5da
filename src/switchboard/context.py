"""`AppContext`: the objects one app instance shares between HTTP, sockets and jobs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from switchboard.auth.tokens import TokenService
from switchboard.auth.users import UserService
from switchboard.chat.service import ChatService
from switchboard.config import Settings
from switchboard.metrics import Metrics
from switchboard.notifications.service import NotificationService
from switchboard.realtime.backends import HealthCheck
from switchboard.realtime.facade import Realtime
from switchboard.storage.database import Database


@dataclass
class AppContext:
    settings: Settings
    db: Database
    tokens: TokenService
    metrics: Metrics
    realtime: Realtime
    users: UserService
    chat: ChatService
    notifications: NotificationService
    # What /healthz pings besides the database (the shared backend, if any).
    health_checks: Mapping[str, HealthCheck]
