"""Serve the built web page (web/ → src/switchboard/static) without shadowing any route.

The page is served from the 404 path: a GET that matched no route gets the
static file of that path, or `index.html`. A catch-all mount at `/` would
instead swallow routes an application adds after `create_app` (the emit
facade is meant to be used from the app's own routes).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

_NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>Switchboard</title>
<h1>Switchboard is running</h1>
<p>The web page has not been built. Run <code>make run</code> (it builds <code>web/</code>),
or use the HTTP API under <code>/api</code> and Socket.IO at <code>/socket.io/</code>.</p>"""

_API_PREFIXES = ("/api/", "/socket.io", "/healthz", "/metrics")


def _static_file(root: Path, path: str) -> Path | None:
    candidate = (root / path.lstrip("/")).resolve()
    # Never serve outside the static folder (../ in the path).
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def install_web_page(app: FastAPI, static_dir: Path) -> None:
    root = static_dir.resolve()

    @app.exception_handler(StarletteHTTPException)
    async def _not_found_serves_page(request: Request, exc: StarletteHTTPException) -> Response:
        unmatched = exc.status_code == 404 and "endpoint" not in request.scope
        if (
            not unmatched
            or request.method not in ("GET", "HEAD")
            or request.url.path.startswith(_API_PREFIXES)
        ):
            return await http_exception_handler(request, exc)
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(_NOT_BUILT)
        found = _static_file(root, request.url.path)
        if found is not None:
            return FileResponse(found)
        return FileResponse(index)
