"""A host app for tests: Switchboard's app plus a WebSocket route of the host's own."""

from __future__ import annotations

from fastapi import WebSocket

from switchboard import create_app

app = create_app()


@app.http.websocket("/echo")
async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    text = await websocket.receive_text()
    await websocket.send_text(f"echo: {text}")
    await websocket.close()
