"""The public API of the server package, pinned: a change here is a change for every user."""

from __future__ import annotations

import switchboard

SERVER_API = {
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
}


def test_the_server_package_exports_exactly_its_public_api() -> None:
    assert switchboard.__all__ == sorted(switchboard.__all__)
    assert set(switchboard.__all__) == SERVER_API


def test_every_exported_name_resolves() -> None:
    # The server side is imported lazily (PEP 562): each name must still load.
    for name in switchboard.__all__:
        assert getattr(switchboard, name) is not None, name
