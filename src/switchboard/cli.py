"""The `switchboard` command: serve, migrate, and operator tools.

`build_parser` maps each subcommand to its handler; a module that adds one
(notify, chat, tail-notifications) exposes `add_parser(subparsers)` returning
its handler.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from switchboard.__about__ import __version__
from switchboard.config import Settings, load_settings
from switchboard.errors import ConfigError

Command = Callable[[argparse.Namespace], int]

log = logging.getLogger("switchboard")


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from switchboard.app import create_app
    from switchboard.banner import startup_lines
    from switchboard.logs import configure_logging
    from switchboard.transport import fast_http_protocol, fast_websocket_protocol

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json or settings.env == "production")
    app = create_app(settings)

    class _DrainingServer(uvicorn.Server):
        """On SIGTERM: stop accepting, tell clients to reconnect elsewhere, then stop."""

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            tune_garbage_collector()
            if self.started:  # not when the port was taken (uvicorn logged why)
                for line in startup_lines(settings, args.host, args.port):
                    log.info(line)

        async def shutdown(self, sockets: Any = None) -> None:
            log.info("stopping: clients are told to reconnect")
            for server in self.servers:
                server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(app.drain(), timeout=settings.shutdown_grace_seconds)
            await super().shutdown(sockets)
            # Uvicorn's own lines say this only at DEBUG (logs.configure_logging).
            if self.force_exit:
                log.warning("stopped at once (a second signal): clean-up skipped")
            else:
                log.info("Switchboard stopped")

    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
        timeout_graceful_shutdown=max(1, int(settings.shutdown_grace_seconds)),
        # /socket.io/ upgrades take the transport's fast path; any other WebSocket
        # of the app is handed to uvicorn's own protocol. A new connection that
        # opens with such an upgrade reaches it without uvicorn's HTTP parser.
        ws=fast_websocket_protocol(app.realtime_endpoint),
        ws_max_size=settings.max_http_buffer_size,
        loop="uvloop",
        http=fast_http_protocol(app.realtime_endpoint),
        lifespan="on",
    )
    server = _DrainingServer(config)
    server.run()
    return 0


# Objects allocated before the cyclic collector runs its youngest generation. A
# connect storm allocates a few hundred objects per socket that mostly live on,
# and at CPython's default (700) the collector took about a sixth of the CPU of
# one (perf, 12,000 sockets); rare larger collections cost less in all.
GC_YOUNG_THRESHOLD = 50_000


def tune_garbage_collector() -> None:
    """Freeze what start-up allocated and collect the young generation less often.

    `gc.freeze()` moves every object alive now (modules, the app, caches) out
    of the collector's sight, so no later collection walks them again.
    """
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


async def _migrate_async(settings: Settings) -> None:
    from switchboard.storage.database import Database
    from switchboard.storage.migrate import upgrade_database

    db = Database(settings)
    try:
        await upgrade_database(db)
    finally:
        await db.dispose()


def _migrate(_args: argparse.Namespace) -> int:
    asyncio.run(_migrate_async(load_settings()))
    print("database is at the latest schema")
    return 0


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Command]]:
    parser = argparse.ArgumentParser(
        prog="switchboard", description="Real-time layer: HTTP API + Socket.IO on one port."
    )
    parser.add_argument("--version", action="version", version=f"switchboard {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    handlers: dict[str, Command] = {}

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="proxies whose X-Forwarded-* headers are trusted (default: 127.0.0.1)",
    )
    handlers["serve"] = _serve

    sub.add_parser("migrate", help="apply database migrations")
    handlers["migrate"] = _migrate

    for register in _extra_commands():
        name, handler = register(sub)
        handlers[name] = handler
    return parser, handlers


def _extra_commands() -> list[Callable[[Any], tuple[str, Command]]]:
    """Subcommands contributed by domain modules (kept out of this file's imports)."""
    from switchboard.client.cli import add_chat_parser, add_tail_parser
    from switchboard.notifications.cli import add_parser as notify_parser

    return [notify_parser, add_chat_parser, add_tail_parser]


def main(argv: Sequence[str] | None = None) -> int:
    parser, handlers = build_parser()
    args = parser.parse_args(argv)
    try:
        return handlers[args.command](args)
    except ConfigError as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
