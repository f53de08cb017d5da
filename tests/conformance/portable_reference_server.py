"""The reference application of reference_server.py on uvicorn's own WebSocket implementation.

    python tests/conformance/portable_reference_server.py --suite socket.io --port 3000

reference_server.py serves WebSocket upgrades on the fast path (fastws.py); this one leaves
them to uvicorn, so that every WebSocket goes through `EngineAsgi` (asgi.py), the portable
path used under other ASGI servers. Same app, same options.
"""

from __future__ import annotations

import argparse

import uvicorn

from tests.conformance.reference_server import build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=("socket.io", "engine.io"), required=True)
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    app, _endpoint = build(args.suite)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        ws="websockets-sansio",
        loop="uvloop",
        http="httptools",
        lifespan="off",
        log_level="warning",
    )


if __name__ == "__main__":
    main()
