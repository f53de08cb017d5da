"""The few lines `switchboard serve` prints once it listens: where, on what, how.

Uvicorn's own start-up lines (and Alembic's per-migration lines) are quieted
by `logs.configure_logging`; these replace them with what an operator needs
to know first: the URL, the database and whether this node is alone.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.engine import make_url

from switchboard.__about__ import __version__
from switchboard.config import Settings
from switchboard.storage.locate import sqlite_file

_ALL_INTERFACES = {"0.0.0.0", "::"}


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}"
    return f"{url} (all interfaces)" if host in _ALL_INTERFACES else url


def _database(settings: Settings) -> str:
    path = sqlite_file(settings)
    if path is not None:
        return f"SQLite {path}"
    if settings.is_sqlite:
        return "SQLite in memory (nothing is kept after a stop)"
    # Never print a password into a log.
    return make_url(settings.database_url).render_as_string(hide_password=True)


def _mode(settings: Settings) -> str:
    if settings.redis_url is None:
        return "embedded: one node (set SWITCHBOARD_REDIS_URL to run several)"
    return (
        f"cluster: nodes share events and presence through {_without_password(settings.redis_url)}"
    )


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


def startup_lines(settings: Settings, host: str, port: int) -> list[str]:
    return [
        f"Switchboard {__version__} listening on {_url(host, port)}",
        f"database: {_database(settings)}",
        f"mode: {_mode(settings)}",
    ]
