"""The one credential extractor: which token comes first, and the cookie parser's tolerance."""

from __future__ import annotations

from switchboard.auth.credentials import Credentials, extract, header_token

DEFAULTS = {"cookie_name": "auth_token", "header_name": "authorization"}


def test_the_explicit_token_comes_first_then_the_cookie() -> None:
    creds = extract(
        {"authorization": "Bearer header-token", "cookie": "auth_token=cookie-token"}, **DEFAULTS
    )
    assert creds.tokens == ["header-token", "cookie-token"]


def test_a_socket_auth_token_is_explicit_like_the_header() -> None:
    creds = extract({"cookie": "auth_token=cookie-token"}, auth_payload={"token": "t"}, **DEFAULTS)
    assert creds.tokens == ["t", "cookie-token"]
    # The header wins over the payload when a non-browser client sends both.
    both = extract({"authorization": "Bearer h"}, auth_payload={"token": "t"}, **DEFAULTS)
    assert both.explicit == "h"


def test_the_same_token_twice_is_tried_once() -> None:
    creds = extract({"authorization": "Bearer same", "cookie": "auth_token=same"}, **DEFAULTS)
    assert creds.tokens == ["same"]


def test_nothing_usable_is_no_token() -> None:
    assert extract({}, **DEFAULTS).tokens == []
    assert extract({"authorization": "Basic dXNlcjpwdw=="}, **DEFAULTS).tokens == []
    assert extract({"authorization": "Bearer   "}, **DEFAULTS).tokens == []
    assert extract({}, auth_payload={"token": 42}, **DEFAULTS).tokens == []
    assert extract({}, auth_payload="not-a-dict", **DEFAULTS).tokens == []


def test_a_malformed_cookie_of_another_app_does_not_hide_ours() -> None:
    creds = extract({"cookie": 'broken="unterminated; auth_token=ours; x=1'}, **DEFAULTS)
    assert creds.cookie == "ours"
    assert creds.cookies["x"] == "1"


def test_cookie_and_header_names_are_configurable() -> None:
    creds = extract(
        {"x-session-token": "raw-token", "cookie": "auth_token=no; host_jwt=yes"},
        cookie_name="host_jwt",
        header_name="x-session-token",
    )
    assert creds.tokens == ["raw-token", "yes"]
    assert header_token("Bearer abc", "x-session-token") == "abc"
    assert header_token("Token abc", "authorization") is None


def test_credentials_keep_headers_and_cookies_for_the_authenticate_hook() -> None:
    creds = extract({"cookie": "sessionid=s1; csrftoken=c", "user-agent": "ua"}, **DEFAULTS)
    assert creds == Credentials(
        explicit=None,
        cookie=None,
        headers={"cookie": "sessionid=s1; csrftoken=c", "user-agent": "ua"},
        cookies={"sessionid": "s1", "csrftoken": "c"},
    )
