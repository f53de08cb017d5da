"""docs/events.md cannot drift from the code, the SPEC, or the Python client."""

from __future__ import annotations

import re
from pathlib import Path

from switchboard.chat.namespace import ChatNamespace
from switchboard.client.events import CLIENT_EVENTS, SERVER_EVENTS
from switchboard.notifications.namespace import NotificationsNamespace

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "events.md"
SPEC = REPO.parent / "shared" / "SPEC.md"

TO_SERVER = "client → server"
TO_CLIENT = "server → client"
SECTIONS = {
    "## `/chat`": ("/chat",),
    "## `/notifications`": ("/notifications",),
    "## Both namespaces": ("/chat", "/notifications"),
}
HANDLED = {"/chat": ChatNamespace._events, "/notifications": NotificationsNamespace._events}

Documented = set[tuple[str, str, str]]  # (namespace, event, direction)


def documented_events() -> Documented:
    """Rows `| \\`event\\` | direction | ...` of the doc's per-namespace tables."""
    found: Documented = set()
    namespaces: tuple[str, ...] = ()
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            namespaces = SECTIONS.get(line.strip(), ())
            continue
        row = re.match(r"\|\s*`([^`]+)`\s*\|\s*([^|]+?)\s*\|", line)
        if row and row.group(2) in {TO_SERVER, TO_CLIENT}:
            assert namespaces, f"event row outside a namespace section: {line}"
            for ns in namespaces:
                found.add((ns, row.group(1), row.group(2)))
    return found


def spec_events() -> set[str]:
    """Event names in the SPEC's Socket.IO section.

    A backticked name is an event when it has a colon (`message:new`), a
    payload (`typing {…}`), or follows a direction arrow (`server → client
    \\`notification\\``); rooms (`user:{id}`), fields and error codes are not.
    """
    text = SPEC.read_text()
    start = text.index("## Socket.IO")
    section = text[start : text.find("\n## ", start + 1)]
    names: set[str] = set()
    for m in re.finditer(r"`([^`]+)`", section):
        token = re.fullmatch(r"([a-z]+(?::[a-z_]+)?)(\s*\{.*\})?", m.group(1), re.S)
        if token is None:
            continue
        name, payload = token.group(1), token.group(2)
        after_arrow = re.search(r"(client|server) → (client|server)\s*$", section[: m.start()])
        if ":" in name or payload or after_arrow:
            names.add(name)
    return names


def test_the_spec_parser_finds_the_spec_events() -> None:
    # If the SPEC's wording changes so that this finds nothing, the checks below prove nothing.
    assert {"message:send", "message:new", "notification", "presence", "auth:refresh"} <= (
        spec_events()
    )
    assert not {"message", "data", "forbidden", "user"} & spec_events()


def test_every_handled_client_event_is_documented() -> None:
    documented = documented_events()
    missing = {(ns, name) for ns, events in HANDLED.items() for name in events} - {
        (ns, name) for ns, name, direction in documented if direction == TO_SERVER
    }
    assert not missing, f"handled by a namespace but not in docs/events.md: {sorted(missing)}"


def test_every_documented_client_event_is_handled() -> None:
    extra = {
        (ns, name)
        for ns, name, direction in documented_events()
        if direction == TO_SERVER and name not in HANDLED[ns]
    }
    assert not extra, f"in docs/events.md but no namespace handles it: {sorted(extra)}"


def test_every_spec_event_is_documented() -> None:
    names = {name for _ns, name, _d in documented_events()}
    missing = spec_events() - names
    assert not missing, f"in the SPEC but not in docs/events.md: {sorted(missing)}"


def test_every_documented_server_event_is_in_the_spec() -> None:
    extra = {name for _ns, name, d in documented_events() if d == TO_CLIENT} - spec_events()
    assert not extra, f"in docs/events.md but not in the SPEC: {sorted(extra)}"


def test_the_python_client_knows_every_documented_event() -> None:
    documented = documented_events()
    assert {(ns, n) for ns, n, d in documented if d == TO_CLIENT} == {
        (ns, name) for name, (namespaces, _model) in SERVER_EVENTS.items() for ns in namespaces
    }
    assert {(ns, n) for ns, n, d in documented if d == TO_SERVER} == {
        (ns, name) for name, namespaces in CLIENT_EVENTS.items() for ns in namespaces
    }
