"""One way to open Redis: `redis_client(url)`, with timeouts and retries that suit a node.

Every part of Switchboard that talks to Redis (cluster presence, the cluster
log / recovery stream reader, health checks) should get its client here, so
that all of them behave the same during an outage:

- connect and command timeouts are short (`socket_connect_timeout` 2 s,
  `socket_timeout` 5 s): a dead Redis turns into a `redis.exceptions.ConnectionError`
  or `TimeoutError` quickly instead of hanging a request or a socket handler;
- a failed command is retried a few times with jittered exponential backoff
  (capped at 1 s), which hides a Redis restart of a second or two;
- the connection pool reconnects by itself on the next command once Redis is
  back, and `health_check_interval` pings connections that sat idle, so a
  long-lived client never keeps a silently broken socket.

Blocking reads (`XREAD BLOCK`, pub/sub `get_message(timeout=...)`) must use a
block time below `socket_timeout`, or pass `blocking=True` to get a client
without a command timeout (`redis_client(url, blocking=True)`); the caller's
loop then catches `redis.exceptions.RedisError`, waits `RECONNECT_DELAY`
seconds and reads again: that is how a reader survives a Redis restart.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

CONNECT_TIMEOUT = 2.0
COMMAND_TIMEOUT = 5.0
RECONNECT_DELAY = 0.5


def redis_client(url: str, *, blocking: bool = False, name: str = "switchboard") -> Redis:
    """A `redis.asyncio.Redis` for `url` with Switchboard's timeouts and retry policy.

    `blocking=True` drops the per-command timeout (for `XREAD BLOCK` loops that
    wait longer than `COMMAND_TIMEOUT`); connecting stays bounded either way.
    Responses are decoded as UTF-8 strings. `name` shows up in `CLIENT LIST`.
    The caller closes the client with `await client.aclose()`.
    """
    return Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=None if blocking else COMMAND_TIMEOUT,
        socket_keepalive=True,
        retry=Retry(ExponentialWithJitterBackoff(cap=1.0, base=0.05), retries=3),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=15,
        client_name=name,
    )


async def redis_ping(client: Redis) -> bool:
    """True when Redis answers PING; never raises (for /healthz and heartbeats)."""
    try:
        return bool(await client.ping())
    except Exception:
        return False
