"""Run a Node.js script that uses the real npm socket.io-client (tests/js/node_modules).

The script calls `done(result)`: the result is printed as JSON and node exits.
`PRELUDE` gives scripts `io`, `connect(url, ns, opts)`, `once(socket, event)`,
`ack(socket, event, payload)` and `sleep(ms)`.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path
from typing import Any

JS_DIR = Path(__file__).resolve().parents[1] / "js"

PRELUDE = r"""
import { io } from "socket.io-client";
// Print the result and exit: open polling requests or keep-alive sockets must not keep node alive.
function done(result) { console.log(JSON.stringify(result)); process.exit(0); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function once(socket, event, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("timeout waiting for " + event)), timeoutMs);
    socket.once(event, (...args) => { clearTimeout(t); resolve(args); });
  });
}
function ack(socket, event, payload, timeoutMs = 5000) {
  return socket.timeout(timeoutMs).emitWithAck(event, payload);
}
function connect(url, ns, opts = {}) {
  const socket = io(url + ns, { transports: ["websocket"], reconnection: false, forceNew: true, ...opts });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => { socket.close(); reject(Object.assign(err, { socket })); });
  });
}
function describe(d) {
  if (d == null) return "";
  if (typeof d === "string" || typeof d === "number") return String(d);
  return String(d.message ?? d.error?.message ?? d.type ?? JSON.stringify(d));
}
function connectResult(url, ns, opts = {}) {
  return connect(url, ns, opts).then(
    (s) => ({ ok: true, socket: s, id: s.id }),
    (e) => ({ ok: false, message: e.message, data: e.data ?? null, description: describe(e.description) }),
  );
}
"""


async def run_node(script: str, *, timeout: float = 30.0, env: dict[str, str] | None = None) -> Any:
    if not (JS_DIR / "node_modules" / "socket.io-client").exists():
        raise RuntimeError(
            "tests/js/node_modules is missing: run `make test` (it runs npm ci there)"
        )
    fd, path = tempfile.mkstemp(suffix=".mjs", dir=JS_DIR, prefix=".t-")
    with os.fdopen(fd, "w") as f:
        f.write(PRELUDE + "\n" + script)
    # Output goes to files, not pipes: what node printed survives a timeout.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = await asyncio.create_subprocess_exec(
                "node", path, stdout=out, stderr=err, env={**os.environ, **(env or {})}
            )
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        finally:
            os.unlink(path)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    lines = [ln for ln in stdout.splitlines() if ln.strip()]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"node failed ({proc.returncode}):\n{stdout}\n{stderr}")
    return json.loads(lines[-1])
