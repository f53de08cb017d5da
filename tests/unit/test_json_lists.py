"""storage/json_lists.py: a list or a mapping bound as one JSON parameter, on a real SQLite file.

(PostgreSQL runs the same statements in the counter and connect tests of tests/notifications.)
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select
from sqlalchemy.dialects import postgresql

from switchboard.storage.json_lists import in_json_list, json_list, json_members, json_object

_meta = MetaData()
_items = Table("items", _meta, Column("id", Integer, primary_key=True), Column("name", String(50)))
NAMES = ['say "hi"', "back\\slash", "naïve", "😀 astral", "plain"]


def test_in_json_list_matches_exactly_the_listed_values(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'j.db'}")
    _meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(_items), [{"id": i, "name": n} for i, n in enumerate(NAMES, 1)])
        by_id = select(_items.c.id).where(in_json_list(_items.c.id, "ids")).order_by(_items.c.id)
        by_name = select(_items.c.id).where(in_json_list(_items.c.name, "names"))
        for ids in ([], [3], [1, 5, 99], list(range(1, 6))):
            found = conn.execute(by_id, {"ids": json_list(ids)}).scalars().all()
            assert found == [i for i in ids if i <= len(NAMES)]
        for name in NAMES:
            found = conn.execute(by_name, {"names": json_list([name])}).scalars().all()
            assert found == [NAMES.index(name) + 1], name
    engine.dispose()


def test_json_members_reads_a_mapping_as_key_value_rows(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'j.db'}")
    members = json_members("m")
    with engine.connect() as conn:
        rows = conn.execute(
            select(members.c.key, members.c.value), {"m": json_object({7: 2, 9: 1})}
        )
        assert sorted(rows) == [("7", 2), ("9", 1)]
    engine.dispose()


def test_postgresql_reads_the_same_parameter_with_its_json_functions() -> None:
    sql = str(
        select(_items.c.id)
        .where(in_json_list(_items.c.id, "ids"))
        .compile(dialect=postgresql.dialect())
    )
    assert "json_array_elements_text(CAST(%(ids)s" in sql
    members = json_members("m")
    assert "json_each_text(CAST(%(m)s" in str(
        select(members.c.key).compile(dialect=postgresql.dialect())
    )
