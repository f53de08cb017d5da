"""The measurements: connect rate and memory, fan-out throughput, fan-out latency.

Every loop here is bounded by a count or a deadline; nothing asserts a timing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.eio import SioConn
from bench.servers import API_KEY, RunningServer
from bench.users import BenchUser

CHAT_EVENT = '42/chat,["message:new"'
NOTIFY_EVENT = '42/notifications,["notification"'
STAMP = "bench-t="


@dataclass
class Tally:
    """Deliveries seen by every receiver; wakes a waiter when a count is reached."""

    prefix: str
    delivered: int = 0
    latencies_ns: list[int] | None = None
    _waiter: asyncio.Future[None] | None = None
    _wake_at: int = 0

    def on_packet(self, _conn: SioConn, frame: str) -> None:
        if not frame.startswith(self.prefix):
            return
        self.delivered += 1
        if self.latencies_ns is not None:
            at = frame.find(STAMP)
            if at >= 0:
                end = frame.find(";", at)
                self.latencies_ns.append(time.perf_counter_ns() - int(frame[at + len(STAMP) : end]))
        if self._waiter is not None and self.delivered >= self._wake_at:
            if not self._waiter.done():
                self._waiter.set_result(None)
            self._waiter = None

    async def wait_for(self, count: int, timeout: float) -> bool:
        """Until `count` deliveries in total, or the timeout; True if reached."""
        if self.delivered >= count:
            return True
        self._wake_at = count
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(self._waiter, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self._waiter = None


@dataclass
class Fleet:
    """The bench's open sockets (one per user, on /chat and /notifications)."""

    conns: dict[int, SioConn] = field(default_factory=dict)
    chat: Tally = field(default_factory=lambda: Tally(CHAT_EVENT))
    notify: Tally = field(default_factory=lambda: Tally(NOTIFY_EVENT))

    def route(self, conn: SioConn, frame: str) -> None:
        self.chat.on_packet(conn, frame)
        self.notify.on_packet(conn, frame)

    async def close(self) -> None:
        conns = list(self.conns.values())
        for i in range(0, len(conns), 200):
            await asyncio.gather(*(c.close() for c in conns[i : i + 200]))
        self.conns.clear()


async def connect_all(
    server: RunningServer, users: list[BenchUser], concurrency: int
) -> tuple[Fleet, dict[str, Any]]:
    """Open one socket per user on /chat + /notifications; connects/s and RSS per connection."""
    fleet = Fleet()
    await asyncio.sleep(0.5)
    rss_before = server.rss_kib()
    pending = list(reversed(users))
    failures: list[str] = []

    async def worker() -> None:
        while pending:
            user = pending.pop()
            try:
                conn = await SioConn.open(
                    server.port, user.token, ("/chat", "/notifications"), fleet.route
                )
                fleet.conns[user.id] = conn
            except Exception as exc:
                failures.append(f"{type(exc).__name__}: {exc}"[:200])

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await asyncio.sleep(1.0)
    rss_after = server.rss_kib()
    connected = len(fleet.conns)
    return fleet, {
        "sockets": connected,
        "failed": len(failures),
        "first_failure": failures[0] if failures else None,
        "seconds": round(elapsed, 3),
        "connects_per_s": round(connected / elapsed, 1),
        "rss_before_kib": rss_before,
        "rss_after_kib": rss_after,
        "rss_per_conn_kib": round((rss_after - rss_before) / max(connected, 1), 2),
    }


async def create_conversation(
    server: RunningServer, owner: BenchUser, members: list[BenchUser]
) -> int | str:
    """The conversation's id, or the server's refusal as text (e.g. a member limit)."""
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        r = await http.post(
            "/api/conversations",
            json={"member_ids": [m.id for m in members if m.id != owner.id], "title": "bench"},
            headers={"Cookie": f"auth_token={owner.token}"},
        )
        if r.status_code != 201:
            return f"HTTP {r.status_code}: {r.text[:200]}"
        cid: int = r.json()["conversation"]["id"]
        return cid


Sender = Callable[[str], Awaitable[None]]


def chat_sender(conn: SioConn, cid: int) -> Sender:
    async def send(body: str) -> None:
        await conn.emit("/chat", "message:send", {"conversation_id": cid, "body": body})

    return send


def notify_sender(http: httpx.AsyncClient, user_ids: list[int]) -> Sender:
    headers = {"Authorization": f"Bearer {API_KEY}"}

    async def send(body: str) -> None:
        payload = {"user_ids": user_ids, "type": "bench", "title": "bench", "body": body}
        r = await http.post("/api/internal/notifications", json=payload, headers=headers)
        r.raise_for_status()

    return send


async def throughput(
    send: Sender,
    tally: Tally,
    members: int,
    seconds: float,
    max_behind: int,
    in_flight: int,
    server_cpu: Callable[[], float],
) -> dict[str, Any]:
    """Send as fast as the receivers keep up; deliveries/s counted at the receivers.

    At most `in_flight` sends are awaited at once and at most `max_behind`
    messages may be sent but not yet fully delivered, so the server's queues
    stay bounded whatever its speed.
    """
    base = tally.delivered
    sent = 0
    errors = 0

    async def guarded(body: str) -> None:
        nonlocal errors
        try:
            await send(body)
        except Exception:
            errors += 1

    cpu0, own0 = server_cpu(), time.process_time()
    started = time.perf_counter()
    deadline = started + seconds
    tasks: set[asyncio.Task[None]] = set()

    while time.perf_counter() < deadline:
        if len(tasks) >= in_flight:
            _, tasks = await asyncio.wait(tasks, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
            continue
        owed = (sent - max_behind + 1) * members
        if owed > tally.delivered - base:
            await tally.wait_for(base + owed, min(1.0, max(0.01, deadline - time.perf_counter())))
            continue
        sent += 1
        task = asyncio.create_task(guarded(f"bench message {sent}"))
        tasks.add(task)
    in_window = tally.delivered - base
    elapsed = time.perf_counter() - started
    # CPU time depends far less on other load on the machine than wall-clock rates do.
    cpu_used, own_used = server_cpu() - cpu0, time.process_time() - own0
    if tasks:
        await asyncio.wait(tasks, timeout=30)
    complete = await tally.wait_for(base + sent * members, 15.0)
    return {
        "members": members,
        "messages": sent,
        "deliveries_per_s": round(in_window / elapsed),
        "server_cpu_us_per_delivery": round(cpu_used * 1e6 / max(in_window, 1), 1),
        "server_cpu_share": round(cpu_used / elapsed, 2),
        "generator_cpu_share": round(own_used / elapsed, 2),
        "all_delivered": complete,
        "missing": max(0, base + sent * members - tally.delivered),
        "send_errors": errors,
    }


async def latency(
    send: Sender, tally: Tally, members: int, deliveries_per_s: float, seconds: float
) -> dict[str, Any]:
    """Open-loop sends at a fixed rate; latency from send to each receiver's read."""
    interval = members / deliveries_per_s
    count = max(1, int(seconds / interval))
    base = tally.delivered
    tally.latencies_ns = []
    tasks = []
    errors = 0

    async def guarded(body: str) -> None:
        nonlocal errors
        try:
            await send(body)
        except Exception:
            errors += 1

    started = time.perf_counter()
    for i in range(count):
        delay = started + i * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        body = f"{STAMP}{time.perf_counter_ns()};"
        tasks.append(asyncio.create_task(guarded(body)))
    await asyncio.wait(tasks, timeout=30)
    complete = await tally.wait_for(base + count * members, 15.0)
    samples = sorted(tally.latencies_ns)
    tally.latencies_ns = None

    def pct(p: float) -> float | None:
        if not samples:
            return None
        return round(samples[min(len(samples) - 1, int(p * len(samples)))] / 1e6, 2)

    return {
        "members": members,
        "target_deliveries_per_s": deliveries_per_s,
        "messages": count,
        "samples": len(samples),
        "send_errors": errors,
        "all_delivered": complete,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": pct(1.0),
    }
