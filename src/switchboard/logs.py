"""Logging set-up: readable lines in development, JSON lines (structlog) in production."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Routine lines of libraries, shown only at DEBUG: uvicorn's start/stop and
# per-connection lines, Alembic's one line per migration applied. `switchboard
# serve` prints its own start-up summary instead (switchboard.banner).
_ROUTINE_AT_INFO = ("uvicorn.error", "alembic.runtime.migration")


def _drop_color_message(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    # Uvicorn passes an ANSI-coloured copy of each message as `extra`; the
    # plain message is already there.
    event.pop("color_message", None)
    return event


def configure_logging(level: str = "INFO", json_lines: bool = False) -> None:
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
        _drop_color_message,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    routine_level = logging.NOTSET if root.level <= logging.DEBUG else logging.WARNING
    for name in _ROUTINE_AT_INFO:
        logging.getLogger(name).setLevel(routine_level)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
