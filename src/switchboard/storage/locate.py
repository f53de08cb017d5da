"""Commands that only use the server's database must find it, never create one.

`switchboard serve` and `switchboard migrate` create the SQLite file on first
use. A client command such as `switchboard notify`, run from another directory,
would otherwise resolve the default `./switchboard.db` there, create an empty
database and report every user as unknown. It refuses with one line instead.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from switchboard.config import Settings
from switchboard.errors import ConfigError


def sqlite_file(settings: Settings) -> Path | None:
    """The absolute path of the SQLite file the settings name; None for other databases."""
    url = make_url(settings.database_url)
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if database.startswith("file:"):  # URI form: the path ends at the query
        database = database.removeprefix("file:").split("?", 1)[0]
    return Path(database).resolve()


def require_existing_database(settings: Settings) -> None:
    """Raise ConfigError (one line) when the configured SQLite file does not exist."""
    path = sqlite_file(settings)
    if path is not None and not path.is_file():
        raise ConfigError(
            f"no database at {path} (SWITCHBOARD_DATABASE_URL={settings.database_url}); "
            "run this where the server runs (same directory and .env), or set "
            "SWITCHBOARD_DATABASE_URL to the server's database"
        )
