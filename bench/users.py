"""Benchmark users: registered over HTTP, plus (for our server only) cloned rows.

Our server hashes passwords with argon2id at argon2-cffi's recommended cost
(about 0.2 s of CPU each on the 2-core bench machine), where the peers use a
deliberately cheap scrypt. Registering thousands of users over HTTP would then
take longer than the whole benchmark, so for `switchboard` the harness
registers `http_users` over HTTP (the real path) and copies the first one's
row for the rest in the stopped template database; tokens for those are
minted as the contract's token rules define them, with the server's secret.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt

from bench.servers import JWT_SECRET

PASSWORD = "bench-password-1"


@dataclass(frozen=True)
class BenchUser:
    id: int
    email: str
    token: str


def email_for(i: int) -> str:
    return f"bench{i}@example.com"


async def register_http(base_url: str, indices: range, concurrency: int = 8) -> list[BenchUser]:
    """POST /api/auth/register for each index, a few at a time."""
    users: dict[int, BenchUser] = {}
    queue = list(indices)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as http:

        async def worker() -> None:
            while queue:
                i = queue.pop()
                r = await http.post(
                    "/api/auth/register",
                    json={"email": email_for(i), "password": PASSWORD, "name": f"Bench {i}"},
                )
                r.raise_for_status()
                body = r.json()
                users[i] = BenchUser(body["user"]["id"], email_for(i), body["token"])

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return [users[i] for i in indices]


def mint_token(user_id: int, email: str, ttl: int = 86400) -> str:
    now = int(time.time())
    claims = {"sub": str(user_id), "email": email, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


def clone_users(db_path: Path, indices: range) -> list[BenchUser]:
    """Copy the first user's row (same password hash) under new emails; our schema only."""
    con = sqlite3.connect(db_path)
    try:
        with con:
            password_hash, created_at = con.execute(
                "SELECT password_hash, created_at FROM users ORDER BY id LIMIT 1"
            ).fetchone()
            con.executemany(
                "INSERT INTO users (email, name, password_hash, created_at) VALUES (?, ?, ?, ?)",
                [(email_for(i), f"Bench {i}", password_hash, created_at) for i in indices],
            )
        out = []
        for i in indices:
            (uid,) = con.execute("SELECT id FROM users WHERE email = ?", (email_for(i),)).fetchone()
            out.append(BenchUser(uid, email_for(i), mint_token(uid, email_for(i))))
        return out
    finally:
        con.close()
