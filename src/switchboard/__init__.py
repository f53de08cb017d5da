"""Switchboard: the real-time layer of a Python web app.

One ASGI process serves the app's HTTP API and an authenticated Socket.IO
server on the same port. See README.md and docs/.

The server side is imported on first use (PEP 562), so that `switchboard.client`
and the CLI's client commands do not pay for FastAPI, SQLAlchemy and the app.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from switchboard.errors import (
    AppError,
    AuthError,
    ConfigError,
    RealtimeNotStartedError,
    SwitchboardError,
)

if TYPE_CHECKING:
    from switchboard.app import SwitchboardApp, create_app
    from switchboard.config import Settings, load_settings
    from switchboard.embed import EmbeddedApp, mount
    from switchboard.notifier import Notifier
    from switchboard.publisher import Publisher, SyncPublisher
    from switchboard.realtime.facade import Realtime

__all__ = [
    "AppError",
    "AuthError",
    "ConfigError",
    "EmbeddedApp",
    "Notifier",
    "Publisher",
    "Realtime",
    "RealtimeNotStartedError",
    "Settings",
    "SwitchboardApp",
    "SwitchboardError",
    "SyncPublisher",
    "create_app",
    "load_settings",
    "mount",
]

_LAZY = {
    "SwitchboardApp": "switchboard.app",
    "create_app": "switchboard.app",
    "Settings": "switchboard.config",
    "load_settings": "switchboard.config",
    "EmbeddedApp": "switchboard.embed",
    "mount": "switchboard.embed",
    "Notifier": "switchboard.notifier",
    "Publisher": "switchboard.publisher",
    "SyncPublisher": "switchboard.publisher",
    "Realtime": "switchboard.realtime.facade",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'switchboard' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
