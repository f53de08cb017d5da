"""What `switchboard.client` promises: its exported names, and no python-socketio underneath."""

from __future__ import annotations

import ast
from pathlib import Path

import switchboard.client
from tests.support.imports import loaded_packages

CLIENT_DIR = Path(switchboard.client.__file__).parent


def test_public_names_are_pinned() -> None:
    assert switchboard.client.__all__ == [
        "AckTimeoutError",
        "AuthExpired",
        "Conversation",
        "Message",
        "NotConnectedError",
        "Notification",
        "NotificationPage",
        "PresenceEvent",
        "ReadReceipt",
        "SwitchboardAckError",
        "SwitchboardClient",
        "SwitchboardClientError",
        "SwitchboardHTTPError",
        "TypingEvent",
        "UnreadCount",
        "User",
    ]
    for name in switchboard.client.__all__:
        assert getattr(switchboard.client, name) is not None


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_client_module_imports_python_socketio_or_engineio() -> None:
    modules = sorted(CLIENT_DIR.glob("*.py"))
    assert len(modules) > 5
    offenders = {
        p.name: sorted(_imported_roots(p) & {"socketio", "engineio"})
        for p in modules
        if _imported_roots(p) & {"socketio", "engineio"}
    }
    assert offenders == {}


def test_using_the_client_loads_neither_python_socketio_nor_engineio() -> None:
    """At run time too: every client module, and a client object, in a fresh interpreter."""
    code = (
        "import pkgutil, importlib, switchboard.client as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'switchboard.client.'):\n"
        "    importlib.import_module(m.name)\n"
        "c.SwitchboardClient('http://127.0.0.1:1', token='t')"
    )
    assert loaded_packages(code, {"socketio", "engineio"}) == []
