"""End to end in real headless Chromium: two people use the demo page served at `/`.

Screenshots of every step land in test-artifacts/e2e/ (git-ignored).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from playwright.async_api import Locator, expect

from tests.support.browser import (
    PASSWORD,
    TIMEOUT_MS,
    Person,
    axe_serious,
    chromium,
    message_with,
    open_person,
    register_through_page,
    send,
    start_conversation,
)
from tests.support.clients import register
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser

XSS = "<script>window.__pwned=1</script><b>x</b>"


def _dot(person: Person, user_id: int) -> Locator:
    return person.page.locator(
        f'[data-testid="chat-pane"] [data-testid="online-dot"][data-user-id="{user_id}"]'
    )


async def _typing_shows(typer: Person, watcher: Person) -> None:
    """Keep typing (as a person does) until the watcher sees the indicator."""
    indicator = watcher.by("typing-indicator")
    box = typer.by("message-input")
    await box.fill("")
    for ch in "still typing a long thought, one key at a time" * 2:
        await box.press_sequentially(ch)
        try:
            await expect(indicator).to_have_text(f"{typer.name} is typing…", timeout=1_500)
            return
        except AssertionError:
            continue
    await expect(indicator).to_have_text(f"{typer.name} is typing…", timeout=TIMEOUT_MS)


async def _drop_and_hold(person: Person) -> None:
    """Close the page's Engine.IO transport and hold off reconnecting until `_reconnect`.

    Both namespaces share one Manager, so this drops /chat and /notifications at once,
    as a network blip does; the server sees a transport close, not a client disconnect.
    """
    await person.page.evaluate(
        """() => {
            const manager = window.__switchboard.chatSocket.io;
            manager.reconnection(false);
            manager.engine.close();
        }"""
    )


async def _reconnect(person: Person) -> None:
    await person.page.evaluate(
        """() => {
            const manager = window.__switchboard.chatSocket.io;
            manager.reconnection(true);
            manager.connect();
        }"""
    )


async def test_two_people_chat_in_chromium(server_factory: Callable[..., ServerProcess]) -> None:
    srv = server_factory(env={"SWITCHBOARD_RATE_LIMIT": "0", "SWITCHBOARD_RECOVERY_SECONDS": "30"})
    async with chromium() as browser:
        alice = await open_person(browser, srv.url, "Alice")
        bob = await open_person(browser, srv.url, "Bob")

        # Both register through the page.
        await expect(alice.by("auth-form")).to_be_visible()
        await alice.shot("01-login-form")
        await register_through_page(alice)
        await register_through_page(bob)
        await alice.shot("02-registered")

        # Alice finds Bob by e-mail and starts a conversation.
        cid = await start_conversation(alice, bob)
        await send(alice, "Hi Bob, it's Alice!")
        await alice.shot("03-alice-started-conversation")

        # Bob's list shows the new conversation with one unread message; he opens it.
        item = bob.page.locator(f'[data-testid="conversation-item"][data-conversation-id="{cid}"]')
        await expect(item).to_have_attribute("data-unread", "1", timeout=TIMEOUT_MS)
        await expect(item.get_by_test_id("unread-count")).to_have_text("1")
        await expect(item.get_by_test_id("conversation-name")).to_have_text("Alice")
        await bob.shot("04-bob-unread")
        await item.click()
        await expect(bob.by("chat-title")).to_have_text("Alice")
        await expect(message_with(bob, "Hi Bob, it's Alice!")).to_have_attribute(
            "data-mine", "false"
        )
        await expect(item).to_have_attribute("data-unread", "0", timeout=TIMEOUT_MS)

        # Alice sees that Bob read it, and each sees the other online.
        receipt = alice.by("read-receipt")
        await expect(receipt).to_have_attribute(
            "data-readers", str(bob.user_id), timeout=TIMEOUT_MS
        )
        await expect(receipt).to_have_text("Seen by Bob")
        await expect(_dot(alice, bob.user_id)).to_have_attribute("data-online", "true")
        await expect(_dot(alice, bob.user_id)).to_have_attribute("aria-label", "Bob is online")
        await expect(_dot(bob, alice.user_id)).to_have_attribute("data-online", "true")
        await alice.shot("05-seen-by-bob")
        assert await axe_serious(alice.page) == []

        # Bob types: Alice sees it; he sends: the indicator goes and the message arrives.
        await _typing_shows(bob, alice)
        await alice.shot("06-bob-typing")
        assert await axe_serious(alice.page) == []
        await bob.by("message-input").fill("Hello Alice! Nice page.")
        await bob.by("message-input").press("Enter")
        await expect(message_with(alice, "Hello Alice! Nice page.")).to_have_attribute(
            "data-sender-id", str(bob.user_id), timeout=TIMEOUT_MS
        )
        await expect(alice.by("typing-indicator")).to_have_count(0, timeout=TIMEOUT_MS)

        # The other way round: Alice types, Bob sees it; Bob sees that Alice read his message.
        await _typing_shows(alice, bob)
        await bob.shot("07-alice-typing")
        await alice.by("message-input").fill("")
        bob_receipt = bob.by("read-receipt")
        await expect(bob_receipt).to_have_attribute("data-readers", str(alice.user_id))
        await expect(bob_receipt).to_have_text("Seen by Alice")
        await expect(message_with(bob, "Hello Alice! Nice page.")).to_contain_text("Seen by Alice")
        await bob.shot("08-seen-by-alice")

        # A notification through the internal API rings Bob's bell.
        await expect(bob.by("notif-bell-count")).to_have_text("0")
        async with httpx.AsyncClient(base_url=srv.url) as http:
            r = await http.post(
                "/api/internal/notifications",
                headers={"Authorization": "Bearer test-api-key"},
                json={
                    "user_ids": [bob.user_id],
                    "type": "deploy",
                    "title": "Deploy finished",
                    "body": "Version 1.2.3 is live.",
                },
            )
        assert r.status_code == 202, r.text
        (notification_id,) = r.json()["ids"]
        await expect(bob.by("notif-bell-count")).to_have_text("1", timeout=TIMEOUT_MS)
        await expect(bob.by("notif-bell")).to_have_attribute(
            "aria-label", "Notifications, 1 unread"
        )
        await expect(alice.by("notif-bell-count")).to_have_text("0")
        await bob.by("notif-bell").click()
        note = bob.page.locator(
            f'[data-testid="notification"][data-notification-id="{notification_id}"]'
        )
        await expect(note).to_have_attribute("data-read", "false")
        await expect(note).to_contain_text("Deploy finished")
        await expect(note).to_contain_text("Version 1.2.3 is live.")
        await bob.shot("09-bob-notification")
        assert await axe_serious(bob.page) == []
        await note.get_by_test_id("notif-mark-read").click()
        await expect(note).to_have_attribute("data-read", "true", timeout=TIMEOUT_MS)
        await expect(bob.by("notif-bell-count")).to_have_text("0")
        await bob.by("notif-bell").click()
        await expect(bob.by("notif-panel")).to_have_count(0)

        # Bob's transport drops; Alice writes meanwhile; Bob comes back recovered, with it.
        await _drop_and_hold(bob)
        await expect(bob.by("connection-state")).to_have_text("reconnecting…", timeout=TIMEOUT_MS)
        await bob.shot("10-bob-reconnecting")
        assert await axe_serious(bob.page) == []
        missed = "Sent while you were away"
        await send(alice, missed)
        await expect(message_with(bob, missed)).to_have_count(0)
        await _reconnect(bob)
        # The count is the page's estimate (judged by timing); the missed message
        # itself, shown once, is the guarantee checked below.
        await expect(bob.by("connection-label")).to_have_text(
            re.compile(r"^recovered \((\d+ missed messages? delivered|nothing missed)\)$"),
            timeout=TIMEOUT_MS,
        )
        await expect(bob.by("connection-state")).to_have_attribute("data-state", "recovered")
        await expect(message_with(bob, missed)).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(message_with(bob, missed)).to_have_attribute(
            "data-sender-id", str(alice.user_id)
        )
        await bob.shot("11-bob-recovered")
        assert await axe_serious(bob.page) == []

        # Markup in a message is text on both pages: nothing runs, no element is made.
        await send(alice, XSS)
        for person in (alice, bob):
            shown = message_with(person, XSS)
            await expect(shown).to_have_count(1, timeout=TIMEOUT_MS)
            body = shown.get_by_test_id("message-body")
            assert await body.evaluate("el => el.textContent") == XSS
            assert await body.evaluate("el => el.children.length") == 0
            assert await shown.locator("b, script").count() == 0
            assert await person.page.evaluate("() => window.__pwned") is None
        await alice.shot("12-markup-as-text")
        await bob.shot("12-markup-as-text")

        assert alice.page_errors == []
        assert bob.page_errors == []


async def test_phone_width_login_and_chat(server: ServerProcess) -> None:
    friend = await register(server.url, name="Dana")
    async with chromium() as browser:
        carol = await open_person(browser, server.url, "Carol", viewport=(375, 740))

        # The form fits the screen and works.
        form = carol.by("auth-form")
        await expect(form).to_be_visible()
        box = await form.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 375
        assert await carol.page.evaluate(
            "() => document.documentElement.scrollWidth <= window.innerWidth"
        )
        await carol.shot("phone-01-login-form")
        await register_through_page(carol)
        await carol.shot("phone-02-list")

        # Start a chat with a person who exists only through the API.
        await carol.by("new-conversation").click()
        await carol.by("user-search").fill(friend.email)
        pick = carol.page.locator(f'[data-testid="user-result"][data-user-id="{friend.id}"]')
        await pick.click()
        await carol.by("start-conversation").click()
        await expect(carol.by("chat-title")).to_have_text("Dana", timeout=TIMEOUT_MS)
        # At phone width the chat replaces the list, with a way back.
        await expect(carol.by("back-button")).to_be_visible()
        await expect(carol.by("new-conversation")).not_to_be_visible()
        cid = int(await carol.by("chat-pane").get_attribute("data-conversation-id") or "0")

        await send(carol, "Hello from a small screen")
        for testid in ("message-input", "send-button"):
            control = await carol.by(testid).bounding_box()
            assert control is not None
            assert control["x"] + control["width"] <= 375
            assert control["y"] + control["height"] <= 740
        async with httpx.AsyncClient(base_url=server.url, headers=friend.bearer) as http:
            r = await http.post(
                f"/api/conversations/{cid}/messages", json={"body": "Got it, Carol!"}
            )
            assert r.status_code in (200, 201), r.text
        await expect(message_with(carol, "Got it, Carol!")).to_have_count(1, timeout=TIMEOUT_MS)
        await carol.shot("phone-03-chat")
        assert await axe_serious(carol.page) == []

        await carol.by("back-button").click()
        item = carol.page.locator(
            f'[data-testid="conversation-item"][data-conversation-id="{cid}"]'
        )
        await expect(item).to_be_visible()
        await expect(carol.by("chat-pane")).not_to_be_visible()
        await carol.shot("phone-04-back-to-list")
        assert await axe_serious(carol.page) == []

        # Log out, then back in through the login form (a wrong password first).
        await carol.by("logout-button").click()
        form = carol.by("auth-form")
        await expect(form).to_have_attribute("data-mode", "login", timeout=TIMEOUT_MS)
        await carol.by("email-input").fill(carol.email)
        await carol.by("password-input").fill("not the password")
        await carol.by("auth-submit").click()
        await expect(carol.by("auth-error")).to_have_text("Wrong e-mail or password.")
        await carol.by("password-input").fill(PASSWORD)
        await carol.by("auth-submit").click()
        await expect(carol.by("current-user")).to_have_text("Carol", timeout=TIMEOUT_MS)
        await expect(carol.by("connection-state")).to_have_text("connected", timeout=TIMEOUT_MS)
        await expect(item).to_be_visible(timeout=TIMEOUT_MS)
        await carol.shot("phone-05-logged-back-in")
        assert carol.page_errors == []
