"""The server runs on Switchboard's own transport: python-socketio stays a client library."""

from __future__ import annotations

import subprocess
import sys

import switchboard.transport


def test_building_and_serving_the_app_imports_neither_python_socketio_nor_engineio() -> None:
    code = (
        "import sys, switchboard.cli, switchboard.app;"
        "app = switchboard.app.create_app(switchboard.load_settings());"
        "from switchboard.transport import fast_websocket_protocol;"
        "fast_websocket_protocol(app.realtime_endpoint);"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('socketio', 'engineio')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"SWITCHBOARD_ENV": "test", "SWITCHBOARD_JWT_SECRET": "s" * 40, "PATH": ""},
    )
    assert out.stdout.strip() == "[]"


def test_transport_public_api_is_pinned() -> None:
    assert switchboard.transport.__all__ == sorted(switchboard.transport.__all__)
    assert "Server" in switchboard.transport.__all__
    assert "fast_websocket_protocol" in switchboard.transport.__all__
