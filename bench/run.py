"""Switchboard against Socket.IO for Node (node-ref) and plain python-socketio (py-ref).

    .venv/bin/python -m bench.run [--rounds 3] [--sockets 1000] [--servers switchboard,py-ref]

Each server runs pinned to core 0 (`taskset -c 0`), this load generator to
core 1; rounds are interleaved and the table shows the median. Figures are
printed and saved to bench/results/<date>-<host>.json; nothing is asserted.
See docs/benchmarks.md for the set-up of the peers and how to read the table.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bench.servers import DB_NAME, RunningServer, ServerKind, copy_template, kinds
from bench.users import BenchUser, clone_users, register_http
from bench.workloads import (
    Fleet,
    chat_sender,
    connect_all,
    create_conversation,
    latency,
    notify_sender,
    throughput,
)

RESULTS = Path(__file__).resolve().parent / "results"
# Where docs/benchmarks.md sets the peers up; outside the repo on purpose.
PEERS = Path("/tmp/peers")  # noqa: S108


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--servers", default="switchboard,node-ref,py-ref")
    p.add_argument("--node-ref", type=Path, default=PEERS / "node-ref")
    p.add_argument("--py-ref", type=Path, default=PEERS / "py-ref")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--sockets", type=int, default=1000, help="sockets opened (one user each)")
    p.add_argument("--connect-concurrency", type=int, default=50)
    p.add_argument("--fanout", default="100,1000", help="conversation sizes for chat fan-out")
    p.add_argument(
        "--notify-fanout", type=int, default=1000, help="users per internal notification"
    )
    p.add_argument("--seconds", type=float, default=5.0, help="length of each throughput run")
    p.add_argument("--latency-members", default="1000,100")
    p.add_argument("--latency-rate", type=float, default=5000.0, help="deliveries/s offered")
    p.add_argument("--latency-seconds", type=float, default=5.0)
    p.add_argument(
        "--http-users", type=int, default=20, help="users our server registers over HTTP"
    )
    p.add_argument("--server-core", type=int, default=0)
    p.add_argument("--generator-core", type=int, default=1)
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="directory for py-spy profiles of the Python servers during each throughput run",
    )
    p.add_argument(
        "--py-spy", default=shutil.which("py-spy") or str(PEERS / "py-ref/.venv/bin/py-spy")
    )
    p.add_argument("--out", type=Path, default=None, help="results file (default bench/results/)")
    return p.parse_args(argv)


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


async def make_template(
    kind: ServerKind, template: Path, n_users: int, args: argparse.Namespace
) -> list[BenchUser]:
    """Start the server once on an empty database, register the users, stop it."""
    server = RunningServer(kind, template, args.server_core).start()
    try:
        over_http = n_users if kind.name != "switchboard" else min(n_users, args.http_users)
        users = await register_http(server.url, range(over_http))
    finally:
        server.stop()
    if over_http < n_users:
        users += clone_users(template / DB_NAME, range(over_http, n_users))
    return users


async def chat_room(
    server: RunningServer, fleet: Fleet, users: list[BenchUser], members: int
) -> tuple[int, str | None]:
    """A conversation of `members` connected users; checks one message reaches all of them."""
    cid = await create_conversation(server, users[0], users[:members])
    if isinstance(cid, str):
        return 0, cid
    base = fleet.chat.delivered
    await chat_sender(fleet.conns[users[0].id], cid)("warm-up")
    if not await fleet.chat.wait_for(base + members, 15.0):
        return cid, f"warm-up reached {fleet.chat.delivered - base} of {members} members"
    return cid, None


def start_profile(
    server: RunningServer, phase: str, args: argparse.Namespace
) -> subprocess.Popen[bytes] | None:
    """py-spy sampling the server (Python ones only) for one phase; collapsed stacks out."""
    if args.profile is None or server.kind.name == "node-ref":
        return None
    args.profile.mkdir(parents=True, exist_ok=True)
    out = args.profile / f"{server.kind.name}-{phase}-{server.port}.txt"
    argv = [args.py_spy, "record", "--format", "raw", "--nonblocking", "-r", "200"]
    argv += ["-d", str(int(args.seconds)), "-o", str(out), "-p", str(server.pid)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_profile(spy: subprocess.Popen[bytes] | None) -> None:
    if spy is None:
        return
    try:
        spy.wait(30)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait(5)


async def one_round(
    kind: ServerKind, template: Path, work: Path, users: list[BenchUser], args: argparse.Namespace
) -> dict[str, Any]:
    copy_template(template, work)
    server = RunningServer(kind, work, args.server_core).start()
    out: dict[str, Any] = {}
    fleet = Fleet()
    try:
        cpu0 = server.cpu_seconds()
        spy = start_profile(server, "connect", args)
        fleet, out["connect"] = await connect_all(server, users, args.connect_concurrency)
        stop_profile(spy)
        sender = fleet.conns.get(users[0].id)
        for members in ints(args.fanout):
            key = f"fanout_chat_{members}"
            if sender is None or members > len(users):
                out[key] = {"skipped": "not enough connected users"}
                continue
            cid, problem = await chat_room(server, fleet, users, members)
            if not cid:
                out[key] = {"skipped": problem}
                continue
            behind = max(3, 4000 // members)
            spy = start_profile(server, key, args)
            result = await throughput(
                chat_sender(sender, cid),
                fleet.chat,
                members,
                args.seconds,
                behind,
                behind,
                server.cpu_seconds,
            )
            stop_profile(spy)
            result["warm_up_problem"] = problem
            out[key] = result
            if str(members) in args.latency_members.split(","):
                out[f"latency_chat_{members}"] = await latency(
                    chat_sender(sender, cid),
                    fleet.chat,
                    members,
                    args.latency_rate,
                    args.latency_seconds,
                )
        n = min(args.notify_fanout, len(users))
        ids = [u.id for u in users[:n]]
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            send = notify_sender(http, ids)
            behind = max(3, 4000 // n)
            spy = start_profile(server, f"fanout_notify_{n}", args)
            out[f"fanout_notify_{n}"] = await throughput(
                send, fleet.notify, n, args.seconds, behind, behind, server.cpu_seconds
            )
            stop_profile(spy)
        out["server_cpu_seconds"] = round(server.cpu_seconds() - cpu0, 2)
        out["acks"] = {
            "ok": sum(c.acks_ok for c in fleet.conns.values()),
            "error": sum(c.acks_err for c in fleet.conns.values()),
        }
    finally:
        await fleet.close()
        server.stop()
    return out


def numeric_leaves(d: dict[str, Any], prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(numeric_leaves(v, f"{prefix}{k}."))
        elif isinstance(v, int | float) and not isinstance(v, bool):
            out[f"{prefix}{k}"] = v
    return out


def medians(rounds: list[dict[str, Any]]) -> dict[str, float]:
    values: dict[str, list[float]] = {}
    for r in rounds:
        for k, v in numeric_leaves(r).items():
            values.setdefault(k, []).append(v)
    return {k: statistics.median(v) for k, v in values.items()}


def table(summary: dict[str, dict[str, float]], args: argparse.Namespace) -> str:
    rows: list[tuple[str, str]] = [
        (
            f"connects/s ({args.sockets} sockets, /chat + /notifications, cookie)",
            "connect.connects_per_s",
        ),
        ("RSS per connection (KiB)", "connect.rss_per_conn_kib"),
    ]
    for m in ints(args.fanout):
        rows.append((f"chat fan-out to {m}, max deliveries/s", f"fanout_chat_{m}.deliveries_per_s"))
        rows.append(("  server CPU µs per delivery", f"fanout_chat_{m}.server_cpu_us_per_delivery"))
    for m in ints(args.latency_members):
        rate = int(args.latency_rate)
        rows.append((f"chat fan-out to {m} at {rate}/s: p50 ms", f"latency_chat_{m}.p50_ms"))
        rows.append((f"chat fan-out to {m} at {rate}/s: p99 ms", f"latency_chat_{m}.p99_ms"))
    n = args.notify_fanout
    rows.append(
        (
            f"notification to {n} via internal API, deliveries/s",
            f"fanout_notify_{n}.deliveries_per_s",
        )
    )
    rows.append(("  server CPU µs per delivery", f"fanout_notify_{n}.server_cpu_us_per_delivery"))
    names = list(summary)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for label, key in rows:
        cells = []
        for name in names:
            v = summary[name].get(key)
            cells.append("n/a" if v is None else f"{v:,.2f}".rstrip("0").rstrip("."))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.sched_setaffinity(0, {args.generator_core})
    available = kinds(args.node_ref.resolve(), args.py_ref.resolve())
    chosen = [available[name] for name in args.servers.split(",")]
    n_users = max([args.sockets, *ints(args.fanout), args.notify_fanout])
    load_before = uptime()
    print(f"before: {load_before}", flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="switchboard-bench-"))
    rounds: dict[str, list[dict[str, Any]]] = {k.name: [] for k in chosen}
    try:
        templates: dict[str, list[BenchUser]] = {}
        for kind in chosen:
            print(f"setting up {kind.name}: {n_users} users", flush=True)
            templates[kind.name] = await make_template(
                kind, scratch / kind.name / "template", n_users, args
            )
        users_for_sockets = {k: u[: args.sockets] for k, u in templates.items()}
        for r in range(args.rounds):
            order = chosen[r % len(chosen) :] + chosen[: r % len(chosen)]
            for kind in order:
                print(f"round {r + 1}/{args.rounds}: {kind.name}", flush=True)
                work = scratch / kind.name / f"round{r + 1}"
                result = await one_round(
                    kind, scratch / kind.name / "template", work, users_for_sockets[kind.name], args
                )
                print("  " + json.dumps(result), flush=True)
                rounds[kind.name].append(result)
                shutil.rmtree(work, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    load_after = uptime()
    summary = {name: medians(rs) for name, rs in rounds.items()}
    text = table(summary, args)
    print(f"after: {load_after}\n\nmedian of {args.rounds} interleaved rounds:\n{text}")
    now = dt.datetime.now(dt.UTC)
    host = platform.node() or "host"
    out = args.out or RESULTS / f"{now:%Y-%m-%d}-{host}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "date": now.isoformat(timespec="seconds"),
        "host": host,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "uptime_before": load_before,
        "uptime_after": load_after,
        "note": "indicative: the machine was shared with other workloads (see uptime)",
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "table_markdown": text,
        "median": summary,
        "rounds": rounds,
    }
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
