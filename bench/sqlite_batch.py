"""What one batch of notification requests costs SQLite, with and without temp_store=MEMORY.

    .venv/bin/python -m bench.sqlite_batch [--batches 1500] [--requests 16] [--per-request 10]

Stores batches the way the notification writer does (notifications/writer.py):
one `INSERT … SELECT … UNION ALL … RETURNING` for the batch's requests, the
unread counts' UPSERT, one commit, with a PASSIVE checkpoint every 28 batches
(about what the server's checkpointer does at 1,000 requests/s). Runs it twice
on fresh files: with SQLite's default temp store and with the
`PRAGMA temp_store=MEMORY` our connections set (storage/database.py), and
prints the median milliseconds per batch, commit included. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event, insert

from switchboard.notifications.counters import add_unread
from switchboard.notifications.rows import branch_params, insert_statement
from switchboard.storage.checkpoints import checkpoint
from switchboard.storage.database import sqlite_on_connect
from switchboard.storage.models import Base, User, utcnow

USERS = 200


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.sqlite_batch", description=__doc__)
    p.add_argument("--batches", type=int, default=1500)
    p.add_argument("--requests", type=int, default=16, help="requests per batch")
    p.add_argument("--per-request", type=int, default=10, help="users per request")
    return p.parse_args(argv)


def store(conn: Connection, requests: list[list[int]]) -> None:
    now = utcnow()
    params: dict[str, Any] = {}
    for i, ids in enumerate(requests):
        content = ("bench", "bench", "x", {"n": i})
        params.update(
            branch_params(i, content, ids, created_at=now, deliver_at=now, delivered_at=now)
        )
    rows = conn.execute(insert_statement(len(requests)), params).all()
    add_unread(conn, {uid: 1 for uid, _id in rows})


def measure(temp_store: str, args: argparse.Namespace, directory: Path) -> float:
    engine = create_engine(f"sqlite:///{directory / (temp_store + '.db')}")
    event.listen(engine, "connect", sqlite_on_connect)

    def override(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA temp_store={temp_store}")

    event.listen(engine, "connect", override)  # after ours, so it wins
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(User),
            [
                {"id": i, "email": f"u{i}@bench", "name": f"u{i}", "password_hash": "-"}
                for i in range(1, USERS + 1)
            ],
        )
    cursor = 0
    took: list[float] = []
    with engine.connect() as conn:
        conn.commit()
        for n in range(args.batches):
            requests = []
            for _ in range(args.requests):
                requests.append([(cursor + j) % USERS + 1 for j in range(args.per_request)])
                cursor += args.per_request
            started = time.perf_counter()
            with conn.begin():
                store(conn, requests)
            took.append(time.perf_counter() - started)
            if n % 28 == 0:
                checkpoint(engine)
    engine.dispose()
    return statistics.median(took) * 1e3


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        for temp_store in ("DEFAULT", "MEMORY"):
            took = measure(temp_store, args, Path(scratch))
            print(
                f"temp_store={temp_store:8s} {args.requests} requests x {args.per_request} users: "
                f"{took:.3f} ms per batch (median of {args.batches}, commit included)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
