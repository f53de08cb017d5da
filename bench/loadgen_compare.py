"""Switchboard, node-ref and py-ref under the Node load generator, side by side.

    .venv/bin/python -m bench.loadgen_compare [--rounds 3] [--loadgen DIR] [--servers ...]

The load generator (`loadgen.js`, a Node program that speaks WebSocket on raw
TCP and counts more than 2 M deliveries/s on one core) and the peers are
measuring instruments kept outside this repository (docs/benchmarks.md says
where to put them). Every scenario starts a fresh server on a fresh SQLite
file pinned to one core (`--server-core`), the generator pinned to the other,
and stops the server by its PID. Rounds interleave the servers in a rotating
order; the table shows medians and min–max, with the generator's CPU next to
the server's so a generator-bound figure is visible. Figures are printed and
saved as JSON; nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.servers import API_KEY, RunningServer, ServerKind, kinds

RESULTS = Path(__file__).resolve().parent / "results"
PEERS = Path("/tmp/peers")  # noqa: S108 - where docs/benchmarks.md sets the peers up
LOADGEN = Path("/tmp/loadgen")  # noqa: S108 - likewise for the load generator

DEADLINE_S = 400  # per scenario run, registration included

# name -> loadgen arguments
SCENARIOS: dict[str, list[str]] = {
    "connect": ["--scenario", "connect", "--users", "200", "--per-user", "10"],
    # Fixed phase at 5,000 deliveries/s (latency), then the max phase.
    "fanout100": [
        "--scenario",
        "fanout",
        "--sockets",
        "100",
        "--per-user",
        "10",
        "--senders",
        "10",
        "--rate",
        "50",
        "--duration",
        "10",
    ],
    "fanout1000": [
        "--scenario",
        "fanout",
        "--sockets",
        "1000",
        "--per-user",
        "10",
        "--senders",
        "10",
        "--rate",
        "5",
        "--duration",
        "10",
    ],
    "notify": ["--scenario", "notify", "--duration", "10"],
    # 200 one-to-one chats, every user sending 1 (then 10) msg/s: 400 and 4,000 msg/s,
    # each message stored, acked after its commit and delivered to both members.
    "pairs400": ["--scenario", "pairs", "--pairs", "200", "--rate", "1", "--duration", "10"],
    "pairs4000": ["--scenario", "pairs", "--pairs", "200", "--rate", "10", "--duration", "10"],
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.loadgen_compare", description=__doc__)
    p.add_argument("--servers", default="switchboard,node-ref,py-ref")
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--loadgen", type=Path, default=LOADGEN)
    p.add_argument("--node-ref", type=Path, default=PEERS / "node-ref")
    p.add_argument("--py-ref", type=Path, default=PEERS / "py-ref")
    p.add_argument("--server-core", type=int, default=0)
    p.add_argument("--generator-core", type=int, default=1)
    p.add_argument("--out", type=Path, default=None)
    return p.parse_args(argv)


def run_one(
    kind: ServerKind, scenario: str, args: argparse.Namespace, scratch: Path
) -> dict[str, Any]:
    server = RunningServer(kind, scratch / f"{kind.name}-{scenario}", args.server_core).start()
    try:
        cmd = [
            *("taskset", "-c", str(args.generator_core)),
            *("node", str(args.loadgen / "loadgen.js"), "--url", server.url),
            *("--api-key", API_KEY, "--server-pid", str(server.pid)),
            # The generator's own 110 s default includes registering the users (argon2
            # on the server): 400 users took 102 s on a loaded machine and aborted.
            *("--deadline", str(DEADLINE_S)),
            *SCENARIOS[scenario],
        ]
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=DEADLINE_S + 60, check=False
        )
        if done.returncode != 0 or not done.stdout.strip():
            return {"error": done.stderr[-2000:]}
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result
    finally:
        server.stop()


def figures(scenario: str, r: dict[str, Any]) -> dict[str, float | None]:
    """The few numbers the table shows, from one loadgen result."""
    if "error" in r:
        return {}
    if scenario == "connect":
        phase = r.get("phase", {})
        return {
            "connects_per_s": r.get("connects_per_s"),
            "kib_per_conn": r.get("kib_per_conn"),
            "server_cpu_pct": phase.get("server_cpu_pct"),
            "loadgen_cpu_pct": phase.get("loadgen_cpu_pct"),
        }
    if scenario.startswith("pairs"):
        peer, ack = r.get("peer_latency_ms") or {}, r.get("ack_ms") or {}
        return {
            "msgs_per_s": r.get("msgs_per_s"),
            "peer_p50_ms": peer.get("p50"),
            "peer_p99_ms": peer.get("p99"),
            "ack_p99_ms": ack.get("p99"),
            "server_cpu_pct": (r.get("phase") or {}).get("server_cpu_pct"),
            "failed": r.get("failed"),
            "lost": r.get("lost"),
        }
    phases = r.get("phases", {})
    fixed, top = phases.get("fixed", {}), phases.get("max", {})
    return {
        "fixed_p99_ms": (fixed.get("latency_ms") or {}).get("p99"),
        "max_deliveries_per_s": top.get("deliveries_per_s"),
        "max_server_cpu_pct": top.get("server_cpu_pct"),
        "max_loadgen_cpu_pct": top.get("loadgen_cpu_pct"),
        "max_server_rss_kib": top.get("server_rss_kib"),
        "lost": (fixed.get("lost") or 0) + (top.get("lost") or 0),
    }


def summarise(values: list[float | None]) -> dict[str, float] | None:
    got = [v for v in values if v is not None]
    if not got:
        return None
    return {"median": statistics.median(got), "min": min(got), "max": max(got)}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("taskset") is None or not (args.loadgen / "loadgen.js").exists():
        print("needs taskset and the load generator (see docs/benchmarks.md)")
        return 2
    available = kinds(args.node_ref, args.py_ref)
    servers = [available[name] for name in args.servers.split(",")]
    scenarios = args.scenarios.split(",")
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {
        s.name: {sc: [] for sc in scenarios} for s in servers
    }
    uptime_before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="sb-bench-") as tmp:
        for rnd in range(args.rounds):
            order = servers[rnd % len(servers) :] + servers[: rnd % len(servers)]
            for scenario in scenarios:
                for kind in order:
                    scratch = Path(tmp) / f"round{rnd}"
                    result = run_one(kind, scenario, args, scratch)
                    raw[kind.name][scenario].append(result)
                    print(kind.name, scenario, f"round {rnd + 1}:", figures(scenario, result))
    uptime_after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    table: dict[str, dict[str, dict[str, Any]]] = {}
    for name, per in raw.items():
        for scenario, results in per.items():
            rows = [figures(scenario, r) for r in results]
            keys = sorted({k for row in rows for k in row})
            table.setdefault(name, {})[scenario] = {
                k: summarise([row.get(k) for row in rows]) for k in keys
            }
    print(json.dumps(table, indent=1))
    out = args.out or RESULTS / f"{dt.date.today()}-{platform.node()}-loadgen.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "uptime_before": uptime_before,
                "uptime_after": uptime_after,
                "rounds": args.rounds,
                "scenarios": {k: SCENARIOS[k] for k in scenarios},
                "table": table,
                "raw": raw,
            },
            indent=1,
        )
    )
    print("saved", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
