"""Accessibility of the demo page in real Chromium: axe-core on every screen at
desktop and phone width (no serious or critical violation), and a keyboard-only
session from registration to logout with a visible focus ring at every stop.
"""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import expect

from tests.chat.helpers import create_conversation, http_send
from tests.support.browser import (
    PHONE,
    TIMEOUT_MS,
    Person,
    axe_serious,
    chromium,
    conversation_item,
    login_through_page,
    message_with,
    open_person,
)
from tests.support.clients import register
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser


async def _check(person: Person, screen: str, found: dict[str, list[str]]) -> None:
    await person.shot(f"a11y-{screen}")
    violations = await axe_serious(person.page)
    if violations:
        found[f"{screen} ({person.name})"] = violations


async def test_axe_finds_nothing_serious_on_any_screen(server: ServerProcess) -> None:
    alice, bob = await register(server.url, "Alice"), await register(server.url, "Bob")
    cid = (await create_conversation(server.url, alice, [bob]))["id"]
    for body in ["Morning!", "Lunch at noon?", "Sure"]:
        await http_send(server.url, alice, cid, body)
    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.post(
            "/api/internal/notifications",
            headers={"Authorization": "Bearer test-api-key"},
            json={"user_ids": [bob.id], "type": "deploy", "title": "Deploy finished"},
        )
        assert r.status_code == 202, r.text
    found: dict[str, list[str]] = {}
    async with chromium() as browser:
        for viewport, label in (((1100, 760), "desktop"), (PHONE, "phone")):
            p = await open_person(browser, server.url, label, viewport=viewport)
            await expect(p.by("auth-form")).to_be_visible()
            await _check(p, "login", found)
            await p.by("auth-mode-register").click()
            await _check(p, "register", found)
            await login_through_page(p, bob.email, bob.password)
            await expect(conversation_item(p, cid)).to_be_visible(timeout=TIMEOUT_MS)
            await _check(p, "list", found)
            await p.by("new-conversation").click()
            await p.by("user-search").fill(alice.email)
            await expect(p.by("user-result")).to_have_count(1, timeout=TIMEOUT_MS)
            await _check(p, "new-conversation", found)
            await p.page.get_by_role("button", name="Cancel").click()
            await p.by("notif-bell").click()
            await expect(p.by("notification")).to_have_count(1)
            await _check(p, "notifications", found)
            await p.by("notif-bell").click()
            await conversation_item(p, cid).click()
            await expect(message_with(p, "Sure")).to_be_visible()
            await p.by("message-input").fill("x" * 3500)
            await _check(p, "chat", found)
            await p.by("message-input").fill("")
            await p.by("search-toggle").click()
            await p.by("search-input").fill("lunch")
            await p.by("search-input").press("Enter")
            await expect(p.by("search-result")).to_have_count(1, timeout=TIMEOUT_MS)
            await _check(p, "search", found)
            await p.by("settings-toggle").click()
            await p.by("leave-conversation").click()
            await _check(p, "details", found)
            await p.context.close()
    assert found == {}


async def _tab_to(person: Person, testid: str, limit: int = 40) -> None:
    """Press Tab until the element with `testid` has focus; its focus ring must show."""
    for _ in range(limit):
        await person.page.keyboard.press("Tab")
        focused = await person.page.evaluate(
            "() => document.activeElement && document.activeElement.dataset.testid"
        )
        if focused == testid:
            ring = await person.page.evaluate(
                """() => {
                    const s = getComputedStyle(document.activeElement);
                    return {style: s.outlineStyle, width: parseFloat(s.outlineWidth)};
                }"""
            )
            assert ring["style"] != "none", (testid, ring)
            assert ring["width"] >= 2, (testid, ring)
            return
    raise AssertionError(f"Tab never reached {testid}")


async def test_keyboard_only_session(server: ServerProcess) -> None:
    friend = await register(server.url, "Erin")
    async with chromium() as browser:
        me = await open_person(browser, server.url, "Frank")
        page = me.page
        await expect(me.by("auth-form")).to_be_visible()
        # Register without a mouse.
        await _tab_to(me, "auth-mode-register")
        await page.keyboard.press("Enter")
        await _tab_to(me, "name-input")
        await page.keyboard.type("Frank")
        await page.keyboard.press("Tab")
        await page.keyboard.type(f"frank-{friend.id}@example.com")
        await page.keyboard.press("Tab")
        await page.keyboard.type("correct horse battery")
        await page.keyboard.press("Enter")
        await expect(me.by("current-user")).to_have_text("Frank", timeout=TIMEOUT_MS)
        await expect(me.by("connection-label")).to_have_text("connected", timeout=TIMEOUT_MS)

        # Start a conversation: search, pick, start.
        await _tab_to(me, "new-conversation")
        await page.keyboard.press("Enter")
        await expect(me.by("user-search")).to_be_focused()
        await page.keyboard.type(friend.email)
        await expect(me.by("user-result")).to_have_count(1, timeout=TIMEOUT_MS)
        await _tab_to(me, "user-result")
        await page.keyboard.press("Space")
        await expect(me.by("user-result")).to_have_attribute("aria-pressed", "true")
        await _tab_to(me, "start-conversation")
        await page.keyboard.press("Enter")
        await expect(me.by("chat-title")).to_have_text("Erin", timeout=TIMEOUT_MS)
        await me.shot("keyboard-01-conversation-open")

        # The message box has the focus: write and send.
        await expect(me.by("message-input")).to_be_focused()
        await page.keyboard.type("Typed without a mouse")
        await page.keyboard.press("Enter")
        sent = message_with(me, "Typed without a mouse")
        await expect(sent).to_have_attribute("data-mine", "true", timeout=TIMEOUT_MS)
        await expect(sent).to_have_attribute("data-message-id", re.compile(r"^\d+$"))

        # Search, then close it with Escape.
        await _tab_to(me, "search-toggle")
        await page.keyboard.press("Enter")
        await expect(me.by("search-input")).to_be_focused()
        await page.keyboard.type("mouse")
        await page.keyboard.press("Enter")
        await expect(me.by("search-result")).to_have_count(1, timeout=TIMEOUT_MS)
        await me.shot("keyboard-02-search")
        await page.keyboard.press("Escape")
        await expect(me.by("search-panel")).to_have_count(0)
        await expect(me.by("search-toggle")).to_be_focused()

        # Rename through the details panel.
        await _tab_to(me, "settings-toggle")
        await page.keyboard.press("Enter")
        await expect(me.by("rename-input")).to_be_focused()
        await page.keyboard.type("Keyboard club")
        await page.keyboard.press("Enter")
        await expect(me.by("chat-title")).to_have_text("Keyboard club", timeout=TIMEOUT_MS)
        await page.keyboard.press("Escape")

        # The bell opens and closes from the keyboard; then log out.
        await _tab_to(me, "notif-bell")
        await page.keyboard.press("Enter")
        await expect(me.by("notif-panel")).to_be_visible()
        await page.keyboard.press("Enter")
        await expect(me.by("notif-panel")).to_have_count(0)
        await _tab_to(me, "logout-button")
        await page.keyboard.press("Enter")
        await expect(me.by("auth-form")).to_be_visible(timeout=TIMEOUT_MS)
        assert me.page_errors == []
