"""docs/events.md cannot drift from docs/contract.md, the namespaces, or the Python client.

docs/contract.md is held to the code by tests/docs/test_contract.py; this
file holds the longer event guide to both, so the two pages cannot disagree.
"""

from __future__ import annotations

import pytest

from switchboard.chat.namespace import ChatNamespace
from switchboard.client.events import CLIENT_EVENTS, SERVER_EVENTS
from switchboard.errors import AppError
from switchboard.notifications.namespace import NotificationsNamespace
from tests.support.reference import (
    CONTRACT,
    EVENTS,
    TO_CLIENT,
    TO_SERVER,
    EventRow,
    code_spans,
    event_keys,
    event_rows,
    field_names,
    keyed_rows,
    section,
)

DOC = EVENTS.read_text()
CONTRACT_TEXT = CONTRACT.read_text()
HANDLED = {"/chat": ChatNamespace._events, "/notifications": NotificationsNamespace._events}


def _by_key(rows: list[EventRow]) -> dict[tuple[str, str, str], EventRow]:
    return {(r.namespace, r.name, r.direction): r for r in rows}


def test_the_parser_reads_both_pages() -> None:
    # If a page's layout changes so that the parser finds nothing, the checks below prove nothing.
    for text in (DOC, CONTRACT_TEXT):
        keys = event_keys(text)
        assert ("/chat", "message:send", TO_SERVER) in keys
        assert ("/notifications", "notification", TO_CLIENT) in keys
        assert ("/chat", "auth:refresh", TO_SERVER) in keys
        assert ("/notifications", "auth:refresh", TO_SERVER) in keys


def test_the_guide_lists_the_same_events_as_the_contract() -> None:
    guide, contract = event_keys(DOC), event_keys(CONTRACT_TEXT)
    assert not contract - guide, f"in the contract but not in docs/events.md: {contract - guide}"
    assert not guide - contract, f"in docs/events.md but not in the contract: {guide - contract}"


def test_the_guide_and_the_contract_give_each_event_the_same_fields() -> None:
    guide, contract = _by_key(event_rows(DOC)), _by_key(event_rows(CONTRACT_TEXT))
    checked = 0
    for key, row in guide.items():
        if key not in contract or "{" not in row.payload:
            continue  # a missing event fails the test above
        assert field_names(row.payload) == field_names(contract[key].payload), key
        checked += 1
    assert checked >= 10


def test_every_handled_client_event_is_in_the_guide() -> None:
    documented = {(ns, name) for ns, name, d in event_keys(DOC) if d == TO_SERVER}
    handled = {(ns, name) for ns, events in HANDLED.items() for name in events}
    assert not handled - documented, f"handled but not in docs/events.md: {handled - documented}"
    assert not documented - handled, f"in docs/events.md but not handled: {documented - handled}"


def test_the_python_client_knows_every_event_of_the_guide() -> None:
    documented = event_keys(DOC)
    assert {(ns, n) for ns, n, d in documented if d == TO_CLIENT} == {
        (ns, name) for name, (namespaces, _model) in SERVER_EVENTS.items() for ns in namespaces
    }
    assert {(ns, n) for ns, n, d in documented if d == TO_SERVER} == {
        (ns, name) for name, namespaces in CLIENT_EVENTS.items() for ns in namespaces
    }


def _ack_codes(text: str) -> set[str]:
    known = {cls.code for cls in _app_errors(AppError)}
    return set(code_spans(text)) & known


def _app_errors(cls: type[AppError]) -> list[type[AppError]]:
    subs = cls.__subclasses__()
    return subs + [s for sub in subs for s in _app_errors(sub)]


def test_the_guide_lists_the_contracts_ack_error_codes() -> None:
    guide = set(keyed_rows(section(DOC, "Acks and errors"), r"[a-z_]+"))
    contract = _ack_codes(section(CONTRACT_TEXT, "Acks"))
    assert guide == contract


@pytest.mark.parametrize("page", ["docs/events.md", "docs/chat.md"])
def test_the_guides_name_the_contract_as_their_reference(page: str) -> None:
    text = (CONTRACT.parents[1] / page).read_text()
    assert "](contract.md)" in text
