"""A migrated database in the test's own process, for tests of the storage-level code."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.sql import ClauseElement

from switchboard.config import Settings
from switchboard.storage.database import Database
from switchboard.storage.migrate import upgrade_database

DB = TypeVar("DB", bound=Database)


async def migrated(tmp_path: Path, *, url: str | None = None, kind: type[DB] = Database) -> DB:  # type: ignore[assignment]
    """`kind` on `url` (default: a SQLite file in `tmp_path`), at the newest migration."""
    db = kind(
        Settings(
            database_url=url or f"sqlite+aiosqlite:///{tmp_path / 'test.db'}",
            data_dir=tmp_path,
            jwt_secret="t" * 40,
        )
    )
    await upgrade_database(db)
    return db


def query_plan(conn: Connection, statement: ClauseElement, params: dict[str, object]) -> list[str]:
    """SQLite's EXPLAIN QUERY PLAN for `statement` bound to `params`: one line per step."""
    sql = statement.params(params).compile(
        dialect=conn.dialect, compile_kwargs={"literal_binds": True}
    )
    return [str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
