"""Switchboard: the real-time layer of a Python web app.

One ASGI process serves the app's HTTP API and an authenticated Socket.IO
server on the same port. See README.md and docs/.
"""

from switchboard.app import SwitchboardApp, create_app
from switchboard.config import Settings, load_settings
from switchboard.errors import (
    AppError,
    AuthError,
    ConfigError,
    RealtimeNotStartedError,
    SwitchboardError,
)
from switchboard.realtime.facade import Realtime

__all__ = [
    "AppError",
    "AuthError",
    "ConfigError",
    "Realtime",
    "RealtimeNotStartedError",
    "Settings",
    "SwitchboardApp",
    "SwitchboardError",
    "create_app",
    "load_settings",
]
