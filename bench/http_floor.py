"""What the internal API costs before and around the notification work.

    .venv/bin/python -m bench.http_floor [--requests 3000] [--connections 32]

Kinds of POST /api/internal/notifications: a wrong key (401, refused by a
dependency), an invalid body (422, refused by validation), ten unknown users
(404: the writer runs its statement and commits, no row matches) and ten
known users of whom none is connected (202: rows stored, counts added, the
broadcasts reach no socket). Server CPU per request is what every
notification request pays on top of delivering to sockets. Prints figures;
asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.http_pool import HttpPool
from bench.servers import API_KEY, RunningServer, kinds
from bench.users import register_http

PATH = "/api/internal/notifications"
UNKNOWN = 10**12
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("401 wrong key", "not-the-key", {"user_ids": [1], "title": "t"}),
    ("422 invalid body", API_KEY, {"user_ids": [], "title": "t"}),
    (
        "404 ten unknown users",
        API_KEY,
        {"user_ids": list(range(UNKNOWN, UNKNOWN + 10)), "title": "t"},
    ),
]


async def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.http_floor", description=__doc__)
    p.add_argument("--requests", type=int, default=3000)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--server-core", type=int, default=0)
    p.add_argument("--generator-core", type=int, default=1)
    args = p.parse_args(argv)
    os.sched_setaffinity(0, {args.generator_core})
    data = Path(tempfile.mkdtemp(prefix="switchboard-http-floor-"))
    kind = kinds(Path("/nonexistent"), Path("/nonexistent"))["switchboard"]
    server = RunningServer(kind, data, args.server_core).start()
    pool = HttpPool(server.port, args.connections)
    try:
        await pool.open()
        known = [u.id for u in await register_http(server.url, range(10))]
        cases = [
            *CASES,
            ("202 ten known users, none connected", API_KEY, {"user_ids": known, "title": "t"}),
        ]
        per_worker = args.requests // args.connections
        for label, key, payload in cases:
            raw = pool.prepare(PATH, payload, {"Authorization": f"Bearer {key}"})

            async def worker(request: bytes = raw) -> None:
                for _ in range(per_worker):
                    await pool.post(request)

            cpu0, started = server.cpu_seconds(), time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(args.connections)))
            elapsed, cpu = time.perf_counter() - started, server.cpu_seconds() - cpu0
            n = per_worker * args.connections
            print(
                f"{label}: {n / elapsed:,.0f} requests/s, {cpu * 1e6 / n:,.0f} µs server CPU each"
            )
    finally:
        pool.close()
        server.stop()
        shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
