"""Reference server processes, one per protocol suite and WebSocket path, shared by the tests.

`fast`: reference_server.py as the official suites run it (WebSocket on fastws.py).
`portable`: the same app with WebSocket through EngineAsgi (portable_reference_server.py).
Polling goes through EngineAsgi on both, so polling-only tests use the fast one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conformance.client import ReferenceServer


def _serve(factory: pytest.TempPathFactory, suite: str, kind: str) -> Iterator[ReferenceServer]:
    proc = ReferenceServer(suite, factory.mktemp(f"{kind}-{suite}"), kind).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def engineio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceServer]:
    yield from _serve(tmp_path_factory, "engine.io", "fast")


@pytest.fixture(scope="session")
def engineio_portable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceServer]:
    yield from _serve(tmp_path_factory, "engine.io", "portable")


@pytest.fixture(scope="session")
def socketio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceServer]:
    yield from _serve(tmp_path_factory, "socket.io", "fast")


@pytest.fixture(scope="session")
def socketio_portable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceServer]:
    yield from _serve(tmp_path_factory, "socket.io", "portable")


@pytest.fixture(params=["fast", "portable"])
def engineio_any(request: pytest.FixtureRequest) -> ReferenceServer:
    name = "engineio_server" if request.param == "fast" else "engineio_portable"
    server: ReferenceServer = request.getfixturevalue(name)
    return server


@pytest.fixture(params=["fast", "portable"])
def socketio_any(request: pytest.FixtureRequest) -> ReferenceServer:
    name = "socketio_server" if request.param == "fast" else "socketio_portable"
    server: ReferenceServer = request.getfixturevalue(name)
    return server
