"""docs/contract.md agrees with the code: routes, settings, errors, objects, events.

Each check runs both ways (what the code has is documented, what is documented
exists), so neither a new route nor a stale row can slip through. Lines the
code does not implement yet carry the PENDING label; for settings the label is
itself checked, so it cannot outlive the change that implements one.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar, get_args

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from switchboard import errors
from switchboard.api.deps import INTERNAL_API_DISABLED, get_claims
from switchboard.app import SwitchboardApp, create_app
from switchboard.auth.schemas import UserOut
from switchboard.chat.namespace import ChatNamespace
from switchboard.chat.schemas import ConversationOut, MessageOut
from switchboard.cli import build_parser
from switchboard.client.events import CLIENT_EVENTS, SERVER_EVENTS
from switchboard.config import Settings
from switchboard.notifications.namespace import NotificationsNamespace
from switchboard.notifications.schemas import NotificationOut
from tests.support.reference import (
    CONTRACT,
    PENDING,
    REPO,
    TO_CLIENT,
    TO_SERVER,
    code_spans,
    event_keys,
    event_rows,
    field_names,
    keyed_rows,
    object_fields,
    rows,
    section,
)

TEXT = CONTRACT.read_text()
E = TypeVar("E", bound=Exception)
HANDLED = {"/chat": ChatNamespace._events, "/notifications": NotificationsNamespace._events}

# -- HTTP routes ---------------------------------------------------------------------

Route = tuple[str, str]  # (method, path with every {parameter} written as {})
_ROUTE_KEY = r"(GET|POST|PUT|PATCH|DELETE) /\S*"


def _route(method: str, path: str) -> Route:
    # The code names path parameters `{conversation_id}`, the page `{id}`: the
    # shape of the path is what a client needs.
    return method, re.sub(r"\{[^}]+\}", "{}", path)


def _app(tmp_path: Path, **settings: Any) -> SwitchboardApp:
    return create_app(
        Settings(
            jwt_secret="contract-test-secret-contract-test-secret",
            data_dir=tmp_path,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'contract.db'}",
            **settings,
        )
    )


def _registered(app: SwitchboardApp) -> Iterator[tuple[Route, Any]]:
    """Every (method, path) the HTTP app answers, with the original route object."""
    for ctx in iter_route_contexts(app.http.routes):
        for method in ctx.methods or ():
            if method != "HEAD":  # Starlette adds HEAD to every GET
                yield _route(method, ctx.path or ""), ctx.original_route


@pytest.fixture
def app(tmp_path: Path) -> SwitchboardApp:
    return _app(tmp_path, api_key="contract-test-key")


def documented_routes() -> dict[Route, list[str]]:
    return {_route(*key.split(" ", 1)): row for key, row in keyed_rows(TEXT, _ROUTE_KEY).items()}


def test_every_registered_route_is_documented_and_nothing_else(app: SwitchboardApp) -> None:
    registered = {route for route, _ in _registered(app)}
    documented = set(documented_routes())
    assert not registered - documented, f"served but not in the contract: {registered - documented}"
    assert not documented - registered, f"in the contract but not served: {documented - registered}"


def test_each_route_documents_the_status_it_answers_on_success(app: SwitchboardApp) -> None:
    documented = documented_routes()
    checked = 0
    for route, original in _registered(app):
        row = documented.get(route)  # an undocumented route fails the test above
        if row is None or not isinstance(original, APIRoute) or len(row) < 4:
            continue  # FastAPI's own pages are listed without a status column
        status = re.search(r"\b([1-5]\d\d)\b", row[3])
        assert status, f"{route}: no status in {row[3]!r}"
        assert int(status.group(1)) == (original.status_code or 200), route
        checked += 1
    assert checked >= 15, "the routes table was not found"


def _needs_token(route: APIRoute) -> bool:
    def walk(dep: Any) -> Iterator[Any]:
        yield dep.call
        for sub in dep.dependencies:
            yield from walk(sub)

    return get_claims in set(walk(route.dependant))


def test_the_auth_column_says_which_routes_need_the_callers_token(app: SwitchboardApp) -> None:
    documented = documented_routes()
    checked = 0
    for route, original in _registered(app):
        row = documented.get(route)
        if row is not None and isinstance(original, APIRoute) and len(row) >= 4:
            assert (row[1] == "token") == _needs_token(original), f"{route}: auth column is wrong"
            checked += 1
    assert checked >= 15, "the routes table was not found"


def test_the_internal_api_without_a_key_is_documented_with_its_reason(tmp_path: Path) -> None:
    internal = _route("POST", "/api/internal/notifications")
    # api_key=None explicitly: the environment of the test run may hold a key.
    assert internal in {route for route, _ in _registered(_app(tmp_path, api_key=None))}
    refusals = documented_routes()[internal][4]
    assert "404 when no key is configured" in refusals
    assert INTERNAL_API_DISABLED in refusals


# -- settings ------------------------------------------------------------------------

_SETTINGS = section(TEXT, "Settings")
_SERVER_TABLES = (
    section(_SETTINGS, "Settings of the contract")
    + "\n"
    + section(_SETTINGS, "Settings beyond the contract")
)
_VARIABLE = r"SWITCHBOARD_[A-Z_]+"


def _env_name(field: str) -> str:
    return f"SWITCHBOARD_{field.upper()}"


def _documents_default(default: Any, cell: str) -> bool:
    if default is None or default == []:
        return cell.lower().startswith("unset")
    spans = code_spans(cell)
    if not spans:
        return False
    if isinstance(default, Path):
        return Path(spans[0]) == default
    if isinstance(default, bool):
        return spans[0] == str(default).lower()
    if isinstance(default, float) and default.is_integer():
        default = int(default)
    return spans[0] == str(default)


def test_every_setting_is_documented_with_its_default() -> None:
    documented = keyed_rows(_SERVER_TABLES, _VARIABLE)
    for name, field in Settings.model_fields.items():
        row = documented.get(_env_name(name))
        assert row is not None, f"{_env_name(name)} is a setting but not in the contract"
        default = field.get_default(call_default_factory=True)
        assert _documents_default(default, row[1]), f"{_env_name(name)}: default {default!r}"


def test_every_documented_setting_exists_unless_marked_pending() -> None:
    fields = {_env_name(n) for n in Settings.model_fields}
    for variable, row in keyed_rows(_SERVER_TABLES, _VARIABLE).items():
        pending = PENDING in " ".join(row).lower()
        if variable in fields:
            assert not pending, f"{variable} is implemented now: drop the label"
        else:
            assert pending, f"{variable} is documented but Settings has no such field"


def test_client_variables_are_read_by_the_client_and_not_by_the_server() -> None:
    client_source = "\n".join(
        p.read_text() for p in (REPO / "src" / "switchboard" / "client").rglob("*.py")
    )
    table = section(_SETTINGS, "Variables of the command-line client")
    variables = keyed_rows(table, _VARIABLE)
    assert variables, "the client variables table was not found"
    for variable in variables:
        assert f'"{variable}"' in client_source, variable
        assert variable not in {_env_name(n) for n in Settings.model_fields}, variable


def test_every_variable_named_in_the_docs_is_in_the_contract() -> None:
    pages = [REPO / "README.md", REPO / "web" / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    documented = set(keyed_rows(_SETTINGS, _VARIABLE))
    for page in pages:
        for variable in set(re.findall(_VARIABLE, page.read_text())):
            assert variable in documented, f"{page.name} names {variable}, unknown to the contract"


def test_settings_tables_in_the_guides_give_the_same_defaults() -> None:
    # Guides repeat the settings they are about; a default changed in the code
    # must not live on in them.
    pages = [REPO / "README.md", REPO / "web" / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    fields = {_env_name(n): f for n, f in Settings.model_fields.items()}
    checked = 0
    for page in pages:
        if page == CONTRACT:
            continue
        for variable, row in keyed_rows(page.read_text(), _VARIABLE).items():
            if variable in fields:
                default = fields[variable].get_default(call_default_factory=True)
                assert _documents_default(default, row[1]), f"{page.name}: {variable} default"
                checked += 1
    assert checked, "no settings table found in the guides"


def test_the_serve_options_are_documented_with_their_defaults() -> None:
    parser, _ = build_parser()
    subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    serve = subcommands.choices["serve"]
    documented = keyed_rows(section(TEXT, "Running"), r"--[a-z-]+")
    options = [a for a in serve._actions if a.option_strings and a.dest != "help"]
    assert {a.option_strings[0] for a in options} == set(documented)
    for action in options:
        assert code_spans(documented[action.option_strings[0]][1]) == [str(action.default)]


# -- errors --------------------------------------------------------------------------


def _subclasses(cls: type[E]) -> Iterator[type[E]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _error_statuses() -> dict[str, int]:
    statuses = {e.code: e.status for e in _subclasses(errors.AppError)}
    statuses.update({e.code: 401 for e in _subclasses(errors.AuthError)})
    return statuses


def _error_table() -> dict[str, list[str]]:
    return keyed_rows(section(TEXT, "Errors"), r"[a-z_]+")


def test_every_error_code_is_documented_with_its_status() -> None:
    table = _error_table()
    statuses = _error_statuses()
    assert set(table) == set(statuses)
    for code, status in statuses.items():
        assert table[code][1] == str(status), code


def test_the_ack_section_lists_exactly_the_codes_the_table_gives_to_acks() -> None:
    ack_codes = {code for code, row in _error_table().items() if "socket acks" in row[2]}
    acks = section(TEXT, "Acks")
    listed = set(code_spans(acks)) & set(_error_statuses())
    assert listed == ack_codes
    # The handler's catch-all answers with a code of its own: it must be one of them.
    assert errors.InternalError.code in ack_codes


# -- objects -------------------------------------------------------------------------

OBJECTS: dict[str, type[BaseModel]] = {
    "user": UserOut,
    "conversation": ConversationOut,
    "message": MessageOut,
    "notification": NotificationOut,
}


def test_every_object_lists_exactly_its_fields_and_which_may_be_null() -> None:
    table = {row[0]: row[1] for row in rows(section(TEXT, "Objects"))}
    assert set(table) == set(OBJECTS)
    for name, model in OBJECTS.items():
        documented = object_fields(table[name])
        assert set(documented) == set(model.model_fields), name
        for field, info in model.model_fields.items():
            nullable = type(None) in get_args(info.annotation)
            assert ("null" in documented[field]) == nullable, f"{name}.{field}"


# -- Socket.IO events ----------------------------------------------------------------


def test_the_client_events_are_exactly_those_the_namespaces_handle() -> None:
    documented = {(ns, n) for ns, n, d in event_keys(TEXT) if d == TO_SERVER}
    handled = {(ns, name) for ns, events in HANDLED.items() for name in events}
    assert documented == handled


def test_each_client_event_documents_the_fields_its_handler_accepts() -> None:
    checked = 0
    for row in event_rows(TEXT):
        if row.direction != TO_SERVER:
            continue
        model = HANDLED[row.namespace][row.name].payload
        assert model is not None, f"{row.name} takes no payload, but one is documented"
        expected = {n: not f.is_required() for n, f in model.model_fields.items()}
        assert field_names(row.payload) == expected, f"{row.namespace} {row.name}"
        checked += 1
    assert checked >= 7


def test_the_events_agree_with_the_python_client() -> None:
    keys = event_keys(TEXT)
    assert {(ns, n) for ns, n, d in keys if d == TO_CLIENT} == {
        (ns, name) for name, (namespaces, _model) in SERVER_EVENTS.items() for ns in namespaces
    }
    assert {(ns, n) for ns, n, d in keys if d == TO_SERVER} == {
        (ns, name) for name, namespaces in CLIENT_EVENTS.items() for ns in namespaces
    }


def test_each_server_event_documents_the_fields_the_client_parses() -> None:
    for row in event_rows(TEXT):
        if row.direction == TO_CLIENT:
            model = SERVER_EVENTS[row.name][1]
            assert set(field_names(row.payload)) == set(model.model_fields), row.name


def _server_strings() -> set[str]:
    """Every string literal of the server's code (the client package excluded)."""
    found: set[str] = set()
    package = REPO / "src" / "switchboard"
    for path in package.rglob("*.py"):
        if (package / "client") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    return found


def test_every_server_event_is_named_in_the_server_code() -> None:
    strings = _server_strings()
    for _ns, name, direction in event_keys(TEXT):
        if direction == TO_CLIENT:
            assert name in strings, f"{name}: documented, but the server never names it"


# -- the repository stands on its own ------------------------------------------------


# Built from pieces so that this file does not match itself.
# The work folder counts only as a path of its own, not inside a URL.
_OUTSIDE = re.compile("|".join([r"\.\./" + "shared", "shared/" + "SPEC", r"(?<![\w.])/work" + "/"]))


def _repository_files() -> list[Path]:
    """The files of the repository: what git tracks or would add (ignored files left out)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [REPO / name for name in listed.split("\0") if name and (REPO / name).is_file()]


def test_no_file_refers_to_anything_outside_the_repository() -> None:
    offenders = []
    for path in _repository_files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue  # images and other binary files
        offenders += [
            f"{path.relative_to(REPO)}:{n}"
            for n, line in enumerate(text.splitlines(), 1)
            if _OUTSIDE.search(line)
        ]
    assert not offenders, f"paths outside the repository: {offenders}"


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _markdown_pages() -> list[Path]:
    return [p for p in _repository_files() if p.suffix == ".md"]


def test_every_relative_link_in_the_docs_resolves_inside_the_repository() -> None:
    pages = _markdown_pages()
    assert CONTRACT in pages
    assert REPO / "README.md" in pages
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue  # http:, https:, mailto:
            path_part, _, anchor = target.partition("#")
            resolved = (page.parent / path_part).resolve() if path_part else page
            where = f"{page.relative_to(REPO)} → {target}"
            assert resolved.is_relative_to(REPO), f"outside the repository: {where}"
            assert resolved.exists(), f"broken link: {where}"
            if anchor and resolved.suffix == ".md":
                titles = re.findall(r"^#+\s+(.*)$", resolved.read_text(), re.M)
                assert anchor in {_slug(t) for t in titles}, f"no such heading: {where}"


def test_the_readme_points_at_the_contract_and_the_changelog() -> None:
    readme = (REPO / "README.md").read_text()
    assert "](docs/contract.md)" in readme
    assert "](CHANGELOG.md)" in readme
