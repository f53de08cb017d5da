"""A list bound as one parameter: `column IN (SELECT value FROM json_each(:name))`.

An expanding IN (`bindparam(name, expanding=True)`) rewrites the statement's
SQL at every execution and binds one parameter per element. For the hot
statements of a batch (a notification request's users, a connect burst's
memberships and unread counts), SQLAlchemy's Python work on that costs more
than the database's own. A JSON array is one string parameter and
one SQL text for every length: SQLite reads it with `json_each`, PostgreSQL
with `json_array_elements_text`. A mapping (user → delta) goes the same way as
a JSON object, read as rows of `key` and `value`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, String, bindparam, cast, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import TableValuedAlias

from switchboard.transport.socketio import dumps


class _JsonRows(FunctionElement[Any]):
    """The rows of a JSON parameter as a table (SQLite's `json_each` reads both kinds)."""

    inherit_cache = True
    postgresql_function = ""


class _JsonElements(_JsonRows):
    """A JSON array's elements: one column, `value`."""

    name = "json_elements"
    inherit_cache = True
    postgresql_function = "json_array_elements_text"


class _JsonMembers(_JsonRows):
    """A JSON object's members: columns `key` and `value` (both text on PostgreSQL)."""

    name = "json_members"
    inherit_cache = True
    postgresql_function = "json_each_text"


@compiles(_JsonRows, "sqlite")
def _sqlite(element: _JsonRows, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_each({compiler.process(element.clauses, **kw)})"


@compiles(_JsonRows)
def _standard(element: _JsonRows, compiler: SQLCompiler, **kw: Any) -> str:
    argument = compiler.process(element.clauses, **kw)
    return f"{element.postgresql_function}(CAST({argument} AS JSON))"


def in_json_list(
    column: ColumnElement[Any] | QueryableAttribute[Any], name: str
) -> ColumnElement[bool]:
    """`column IN (the elements of the JSON array bound as name)`; bind it with `json_list`."""
    target = column if isinstance(column, ColumnElement) else column.expression
    elements = _JsonElements(bindparam(name, type_=String())).table_valued("value")
    return target.in_(select(cast(elements.c.value, target.type)).scalar_subquery())


def json_list(values: Iterable[Any]) -> str:
    """The value to bind for an `in_json_list` parameter."""
    return dumps(list(values))


def json_members(name: str) -> TableValuedAlias:
    """The members of the JSON object bound as `name`: a table of `key`, `value`."""
    return _JsonMembers(bindparam(name, type_=String())).table_valued("key", "value")


def json_object(mapping: Mapping[Any, Any]) -> str:
    """The value to bind for a `json_members` parameter (keys become strings)."""
    return dumps({str(k): v for k, v in mapping.items()})
