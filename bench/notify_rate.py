"""Notifications through the internal API, Switchboard alone, no peers needed.

    .venv/bin/python -m bench.notify_rate [--rounds 3] [--sockets 100] [--per-request 10]

The loadgen `notify` scenario without the Node generator: `--sockets` users
connect to `/notifications`, then POST /api/internal/notifications sends one
notification to `--per-request` of them at a time (a rotating window), over
`--connections` keep-alive HTTP connections (bench/http_pool.py), as fast as
the sockets receive them. Deliveries are `notification` events counted at the
sockets. The server is pinned to `--server-core`, this generator to
`--generator-core`; both CPUs are printed so a generator-bound figure shows.
`--profile DIR` records the server with py-spy during each max phase.
Figures are printed and saved as JSON; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.eio import SioConn
from bench.http_pool import HttpError, HttpPool
from bench.servers import API_KEY, DB_NAME, RunningServer, copy_template, kinds
from bench.users import BenchUser, clone_users, register_http
from bench.workloads import Sender, Tally, throughput

RESULTS = Path(__file__).resolve().parent / "results"
NOTIFY_EVENT = '42/notifications,["notification"'
PATH = "/api/internal/notifications"
RECORDED = ("rounds", "sockets", "per_request", "connections", "seconds", "label")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.notify_rate", description=__doc__)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--sockets", type=int, default=100, help="connected users (one socket each)")
    p.add_argument("--per-request", type=int, default=10, help="users per notification")
    p.add_argument("--connections", type=int, default=32, help="HTTP keep-alive connections")
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--server-core", type=int, default=0)
    p.add_argument("--generator-core", type=int, default=1)
    p.add_argument("--profile", type=Path, default=None, help="py-spy output directory")
    p.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy")
    p.add_argument("--label", default="", help="a word for the results file name")
    p.add_argument("--out", type=Path, default=None)
    return p.parse_args(argv)


def notify_sender(pool: HttpPool, users: list[BenchUser], per_request: int) -> Sender:
    """Each send notifies the next `per_request` users (wrapping round)."""
    ids = [u.id for u in users]
    headers = {"Authorization": f"Bearer {API_KEY}"}
    counter = 0

    async def send(body: str) -> None:
        nonlocal counter
        start = (counter * per_request) % len(ids)
        counter += 1
        window = [ids[(start + i) % len(ids)] for i in range(per_request)]
        payload = {"user_ids": window, "type": "bench", "title": "bench", "body": body}
        status, text = await pool.post(pool.prepare(PATH, payload, headers))
        if status != 202:
            raise HttpError(f"HTTP {status}: {text[:200]!r}")

    return send


async def one_round(
    template: Path, work: Path, users: list[BenchUser], args: Any
) -> dict[str, Any]:
    copy_template(template, work)
    kind = kinds(Path("/nonexistent"), Path("/nonexistent"))["switchboard"]
    server = RunningServer(kind, work, args.server_core).start()
    tally = Tally(NOTIFY_EVENT)
    conns: list[SioConn] = []
    pool = HttpPool(server.port, args.connections)
    spy: subprocess.Popen[bytes] | None = None
    try:
        for i in range(0, len(users), 50):
            conns += await asyncio.gather(
                *(
                    SioConn.open(server.port, u.token, ("/notifications",), tally.on_packet)
                    for u in users[i : i + 50]
                )
            )
        await pool.open()
        send = notify_sender(pool, users, args.per_request)
        await send("warm-up")
        await tally.wait_for(args.per_request, 15.0)
        if args.profile is not None:
            args.profile.mkdir(parents=True, exist_ok=True)
            out = args.profile / f"notify-{args.label or 'run'}-{server.port}.txt"
            argv = [args.py_spy, "record", "--format", "raw", "--nonblocking", "-r", "200"]
            argv += ["-d", str(int(args.seconds)), "-o", str(out), "-p", str(server.pid)]
            spy = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        behind = max(3, 4000 // args.per_request)
        result = await throughput(
            send,
            tally,
            args.per_request,
            args.seconds,
            behind,
            args.connections,
            server.cpu_seconds,
        )
        return result
    finally:
        if spy is not None:
            try:
                spy.wait(30)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait(5)
        pool.close()
        for i in range(0, len(conns), 200):
            await asyncio.gather(*(c.close() for c in conns[i : i + 200]))
        server.stop()


async def make_template(template: Path, n_users: int) -> list[BenchUser]:
    kind = kinds(Path("/nonexistent"), Path("/nonexistent"))["switchboard"]
    server = RunningServer(kind, template, 0).start()
    try:
        users = await register_http(server.url, range(1))
    finally:
        server.stop()
    return users + clone_users(template / DB_NAME, range(1, n_users))


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.sched_setaffinity(0, {args.generator_core})
    scratch = Path(tempfile.mkdtemp(prefix="switchboard-notify-bench-"))
    rounds: list[dict[str, Any]] = []
    try:
        users = await make_template(scratch / "template", args.sockets)
        for r in range(args.rounds):
            result = await one_round(scratch / "template", scratch / f"round{r}", users, args)
            print(f"round {r + 1}/{args.rounds}: {json.dumps(result)}", flush=True)
            rounds.append(result)
            shutil.rmtree(scratch / f"round{r}", ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    keys = ("deliveries_per_s", "server_cpu_us_per_delivery", "generator_cpu_share")
    median = {k: statistics.median(r[k] for r in rounds) for k in keys}
    print(
        f"median of {args.rounds}: {median['deliveries_per_s']:,.0f} deliveries/s "
        f"({args.per_request} users a request), {median['server_cpu_us_per_delivery']} µs "
        f"server CPU per delivery, generator CPU {median['generator_cpu_share']:.0%}"
    )
    now = dt.datetime.now(dt.UTC)
    label = f"-{args.label}" if args.label else ""
    out = args.out or RESULTS / f"{now:%Y-%m-%d}-notify{label}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "date": now.isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        # No paths: results are committed, and the repository names nothing outside it.
        "config": {k: v for k, v in vars(args).items() if k in RECORDED},
        "median": median,
        "rounds": rounds,
    }
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
