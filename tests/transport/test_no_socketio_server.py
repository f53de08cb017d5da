"""The server runs on Switchboard's own transport: python-socketio stays a client library."""

from __future__ import annotations

from pathlib import Path

import switchboard.transport
from tests.support.imports import loaded_packages


def test_building_and_serving_the_app_imports_neither_python_socketio_nor_engineio(
    tmp_path: Path,
) -> None:
    code = (
        "import switchboard.cli, switchboard.app\n"
        "app = switchboard.app.create_app(switchboard.load_settings())\n"
        "from switchboard.transport import fast_websocket_protocol\n"
        "fast_websocket_protocol(app.realtime_endpoint)"
    )
    env = {"SWITCHBOARD_ENV": "test", "SWITCHBOARD_JWT_SECRET": "s" * 40}
    assert loaded_packages(code, {"socketio", "engineio"}, env=env, cwd=tmp_path) == []


def test_transport_public_api_is_pinned() -> None:
    assert switchboard.transport.__all__ == sorted(switchboard.transport.__all__)
    assert "Server" in switchboard.transport.__all__
    assert "fast_websocket_protocol" in switchboard.transport.__all__
