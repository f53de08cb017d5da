"""The reference pages (docs/contract.md, docs/events.md) read as data.

The tests that hold those pages to the code parse them with these helpers, so
the pages keep one simple shape: Markdown tables whose first cell is a code
span (`` `GET /api/...` ``, `` `SWITCHBOARD_...` ``, `` `message:send` ``), and
event tables under a heading that names the namespace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONTRACT = REPO / "docs" / "contract.md"
EVENTS = REPO / "docs" / "events.md"

# The label docs/contract.md puts on a line the code does not implement yet.
PENDING = "specified; see the changelog"

TO_SERVER = "client → server"
TO_CLIENT = "server → client"
_NAMESPACE_HEADINGS = {
    "`/chat`": ("/chat",),
    "`/notifications`": ("/notifications",),
    "Both namespaces": ("/chat", "/notifications"),
}
_HEADING = re.compile(r"^(#+)\s+(.*?)\s*$")


def headings_and_lines(text: str) -> list[tuple[str, int, str]]:
    """Each line with the title and level of the heading it falls under."""
    out: list[tuple[str, int, str]] = []
    title, level = "", 0
    for line in text.splitlines():
        m = _HEADING.match(line)
        if m:
            title, level = m.group(2), len(m.group(1))
            continue
        out.append((title, level, line))
    return out


def section(text: str, title: str) -> str:
    """The body of the section headed `title`, its subsections included."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _HEADING.match(line)
        if m and m.group(2) == title:
            level = len(m.group(1))
            body: list[str] = []
            for rest in lines[i + 1 :]:
                n = _HEADING.match(rest)
                if n and len(n.group(1)) <= level:
                    break
                body.append(rest)
            return "\n".join(body)
    raise AssertionError(f"no section titled {title!r}")


def cells(line: str) -> list[str] | None:
    """The cells of a table body row; None for other lines, header separators included."""
    stripped = line.strip()
    if not stripped.startswith("|") or _is_separator(stripped):
        return None
    return [c.strip() for c in stripped.strip("|").split("|")]


def _is_separator(line: str) -> bool:
    return bool(re.fullmatch(r"\|[\s|:-]+\|", line.strip()))


def rows(text: str) -> list[list[str]]:
    """The body rows of every table in `text` (header rows left out)."""
    lines = text.splitlines()
    found: list[list[str]] = []
    for i, line in enumerate(lines):
        row = cells(line)
        is_header = i + 1 < len(lines) and _is_separator(lines[i + 1])
        if row is not None and not is_header:
            found.append(row)
    return found


def code_spans(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def keyed_rows(text: str, key: str) -> dict[str, list[str]]:
    """Rows whose first cell is exactly one code span matching `key`, by that span."""
    found: dict[str, list[str]] = {}
    for row in rows(text):
        m = re.fullmatch(r"`([^`]+)`", row[0])
        if m and re.fullmatch(key, m.group(1)):
            assert m.group(1) not in found, f"listed twice: {m.group(1)}"
            found[m.group(1)] = row
    return found


def object_fields(cell: str) -> dict[str, str]:
    """`{a, b?: int, c: str or null}` → {"a": "", "b?": "int", "c": "str or null"}.

    Only the first code span that is an object counts; nested braces and
    brackets stay inside their field.
    """
    spans = [s for s in code_spans(cell) if s.startswith("{") and s.endswith("}")]
    assert spans, f"no {{...}} object in {cell!r}"
    inner = spans[0][1:-1]
    parts: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(inner):
        if ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    fields: dict[str, str] = {}
    for part in (p.strip() for p in parts):
        if not part:
            continue
        m = re.fullmatch(r"([a-z_]+\??)\s*(?::\s*(.*))?", part, re.S)
        assert m, f"not a field: {part!r} in {cell!r}"
        fields[m.group(1)] = (m.group(2) or "").strip()
    return fields


def field_names(cell: str) -> dict[str, bool]:
    """Field name → whether it is marked optional (`name?`)."""
    return {name.rstrip("?"): name.endswith("?") for name in object_fields(cell)}


@dataclass(frozen=True)
class EventRow:
    namespace: str
    name: str
    direction: str
    payload: str


def event_rows(text: str) -> list[EventRow]:
    """Rows `| \\`event\\` | direction | payload | ...` under a namespace heading."""
    found: list[EventRow] = []
    for title, _level, line in headings_and_lines(text):
        row = cells(line)
        if row is None or len(row) < 3 or row[1] not in (TO_SERVER, TO_CLIENT):
            continue
        name = re.fullmatch(r"`([^`]+)`", row[0])
        assert name, f"event row without a `name`: {line}"
        namespaces = _NAMESPACE_HEADINGS.get(title)
        assert namespaces, f"event row outside a namespace section ({title!r}): {line}"
        for ns in namespaces:
            found.append(EventRow(ns, name.group(1), row[1], row[2]))
    return found


def event_keys(text: str) -> set[tuple[str, str, str]]:
    """(namespace, event, direction) of every event row; a repeated row is an error."""
    found = [(r.namespace, r.name, r.direction) for r in event_rows(text)]
    assert len(found) == len(set(found)), f"an event is listed twice: {sorted(found)}"
    return set(found)
