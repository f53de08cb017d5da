"""The reference application of reference_server.py on uvicorn's own WebSocket implementation.

    python tests/conformance/portable_reference_server.py --suite socket.io --port 3000

reference_server.py serves WebSocket upgrades on the fast path (fastws.py); this one leaves
them to uvicorn, so that every WebSocket goes through `EngineAsgi` (asgi.py), the portable
path used under other ASGI servers. Same app, same options.
"""

from __future__ import annotations

from tests.conformance.reference_server import main

if __name__ == "__main__":
    main(portable=True)
