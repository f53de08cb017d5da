"""A mounted app serves Socket.IO on uvicorn's fast WebSocket path, or through plain ASGI.

The fast path answers a bad Engine.IO upgrade with its own HTTP 400 and JSON
body, where the portable path closes the WebSocket (uvicorn answers 403):
that tells which one served (as in tests/transport/test_uvicorn_fast_path.py).
"""

from __future__ import annotations

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.embed.conftest import StartExample
from tests.embed.test_examples import login
from tests.support.clients import connect


async def test_readme_command_takes_the_fast_path(start_example: StartExample) -> None:
    server = start_example("fastapi_app")
    ws_url = server.url.replace("http", "ws")
    with pytest.raises(InvalidStatus) as refused:
        await websockets.connect(ws_url + "/socket.io/?EIO=3&transport=websocket")
    assert refused.value.response.status_code == 400
    assert b'"code":3' in refused.value.response.body


@pytest.mark.parametrize("transport", ["polling", "websocket"])
async def test_without_the_fast_path_sockets_work_through_asgi(
    start_example: StartExample, transport: str
) -> None:
    server = start_example("starlette_app", fast_path=False)
    ws_url = server.url.replace("http", "ws")
    with pytest.raises(InvalidStatus) as refused:
        await websockets.connect(ws_url + "/socket.io/?EIO=3&transport=websocket")
    assert refused.value.response.status_code == 403  # uvicorn's answer to a close: ASGI served

    async with httpx.AsyncClient(base_url=server.url) as http:
        bob = await login(http, "bob")
        client, rec = await connect(
            server.url, bob, events={"/notifications": ["order:created"]}, transports=[transport]
        )
        try:
            placed = await http.post(
                "/orders", json={"item": "kettle"}, cookies={"auth_token": bob.token}
            )
            assert placed.status_code == 201
            assert await rec.wait_for("/notifications", "order:created") == [placed.json()]
        finally:
            await client.disconnect()
