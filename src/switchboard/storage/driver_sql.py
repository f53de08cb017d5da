"""The hottest SQLite write, run on SQLite's own connection instead of through SQLAlchemy.

Executing a statement through SQLAlchemy costs far more CPU than SQLite's
work when the statement is small: a batch of 15 chat messages takes about
400 µs through a compiled Core INSERT against about 110 µs for the same rows
on the `sqlite3` connection (measured in-process, one statement per batch).
The chat writer inserts its batches this way on SQLite; PostgreSQL keeps
SQLAlchemy's statement, which asyncpg already runs as a prepared statement.
(The notification writer's two statements were tried this way too: no
difference beyond noise, as one statement there serves many requests.)

`DriverInsert` builds its SQL from the table, quoted by the dialect; every
bound value goes through its column type's own bind processor (the same
stored form as SQLAlchemy's); a driver error is raised as SQLAlchemy's
exception (`IntegrityError`, …). It runs inside the caller's transaction:
pysqlite opens it before the first write and SQLAlchemy commits it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

Processor = Callable[[Any], Any] | None


def execute_on_driver(conn: Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    """`sql` with positional `params` on the connection's driver connection; its rows."""
    dialect = conn.dialect
    if dialect.name != "sqlite":
        raise ValueError(f"driver statements run on SQLite only, not {dialect.name}")
    dbapi = dialect.loaded_dbapi
    # The DB-API connection: pysqlite's own, or SQLAlchemy's adapter of aiosqlite's.
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    except dbapi.Error as exc:
        raise DBAPIError.instance(sql, params, exc, dbapi.Error, dialect=dialect) from exc
    finally:
        cursor.close()


class DriverInsert:
    def __init__(self, table: Table, columns: Sequence[str], returning: str) -> None:
        """`INSERT INTO table (columns) VALUES (…), (…) … RETURNING returning`, any row count."""
        self._table = table
        self._columns = [table.c[name] for name in columns]
        self._returning = table.c[returning]
        self._head = ""
        self._tail = ""
        self._row = "(" + ", ".join("?" * len(columns)) + ")"
        self._processors: list[Processor] = []
        self._statements: dict[int, str] = {}  # rows -> SQL text (at most the batch bound)

    def run(self, conn: Connection, rows: Sequence[Sequence[Any]]) -> list[Any]:
        """Insert `rows` (values in column order); the `returning` values, in SQLite's order."""
        if not rows:
            return []
        if not self._head:
            self._prepare(conn.dialect)
        sql = self._statements.get(len(rows))
        if sql is None:
            sql = self._statements[len(rows)] = (
                self._head + ", ".join([self._row] * len(rows)) + self._tail
            )
        params: list[Any] = []
        # Rows of a batch share values (one timestamp for all): a column's value
        # that is the previous row's object is not processed again.
        last: list[tuple[Any, Any] | None] = [None] * len(self._processors)
        for row in rows:
            for j, (process, value) in enumerate(zip(self._processors, row, strict=True)):
                if process is not None:
                    seen = last[j]
                    if seen is None or seen[0] is not value:
                        seen = last[j] = (value, process(value))
                    value = seen[1]
                params.append(value)
        return [row[0] for row in execute_on_driver(conn, sql, params)]

    def _prepare(self, dialect: Dialect) -> None:
        # Identifiers of our own model, quoted by the dialect; values are all bound.
        quote = dialect.identifier_preparer.quote
        names = ", ".join(quote(column.name) for column in self._columns)
        self._head = f"INSERT INTO {quote(self._table.name)} ({names}) VALUES "  # noqa: S608
        self._tail = f" RETURNING {quote(self._returning.name)}"
        # The dialect's own type (`dialect_impl`), as SQLAlchemy's statements use:
        # a timestamp then leaves as SQLAlchemy's text, once per batch, where the
        # generic type's naive datetime went to sqlite3's adapter for every row,
        # which writes a whole second without its `.000000`.
        self._processors = [
            column.type.dialect_impl(dialect).bind_processor(dialect) for column in self._columns
        ]
