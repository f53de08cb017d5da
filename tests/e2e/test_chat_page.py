"""The demo page as a person keeps it open all day, in real headless Chromium.

Unread counts from the server on every device, refused messages in their
place, the conversation in the URL, a quiet login screen, dates and grouping,
the connection banner and the offline outbox. Screenshots land in
test-artifacts/e2e/ (git-ignored), at desktop and phone width.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

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
    send,
    shot_both,
)
from tests.support.clients import Account, register
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser


async def _server_unread(base_url: str, user: Account, cid: int) -> int:
    async with httpx.AsyncClient(base_url=base_url, headers=user.bearer) as http:
        r = await http.get("/api/conversations")
    (conv,) = [c for c in r.json()["conversations"] if c["id"] == cid]
    return int(conv["unread_count"])


async def _bodies(person: Person) -> list[str]:
    """Message bodies of the open conversation, top to bottom."""
    result = await person.page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="message-body"]')]
                 .map((el) => el.textContent)"""
    )
    return [str(b) for b in result]


async def test_unread_counts_come_from_the_server_and_follow_every_device(
    server: ServerProcess,
) -> None:
    alice, bob = await register(server.url, "Alice"), await register(server.url, "Bob")
    cid = (await create_conversation(server.url, alice, [bob]))["id"]
    for i in range(1, 4):
        assert (await http_send(server.url, alice, cid, f"Message {i}")).status_code == 201
    async with chromium() as browser:
        laptop = await open_person(browser, server.url, "Bob laptop")
        phone = await open_person(browser, server.url, "Bob phone", viewport=PHONE)
        for device in (laptop, phone):
            await login_through_page(device, bob.email, bob.password)
            item = conversation_item(device, cid)
            await expect(item).to_have_attribute("data-unread", "3", timeout=TIMEOUT_MS)
            await expect(item.get_by_test_id("unread-count")).to_have_text("3")
            await expect(item.get_by_test_id("conversation-preview")).to_have_text("Message 3")
            await expect(device.page).to_have_title("(3) Switchboard")
        await laptop.shot("unread-01-three-unread")
        await phone.shot("phone-unread-01-three-unread")

        # Reading on the laptop clears the badge on the phone too, and on the server.
        await conversation_item(laptop, cid).click()
        await expect(message_with(laptop, "Message 3")).to_be_visible()
        for device in (laptop, phone):
            await expect(conversation_item(device, cid)).to_have_attribute(
                "data-unread", "0", timeout=TIMEOUT_MS
            )
            await expect(device.page).to_have_title("Switchboard")
        assert await _server_unread(server.url, bob, cid) == 0

        # Away from the conversation, a new message counts on both devices.
        await laptop.page.go_back()
        await expect(laptop.by("chat-pane")).to_have_count(0)
        await http_send(server.url, alice, cid, "Are you there?")
        for device in (laptop, phone):
            item = conversation_item(device, cid)
            await expect(item).to_have_attribute("data-unread", "1", timeout=TIMEOUT_MS)
            await expect(item.get_by_test_id("unread-count")).to_have_text("1")
        assert await _server_unread(server.url, bob, cid) == 1

        # A browser that has never seen this account shows the server's count as it is.
        fresh = await open_person(browser, server.url, "Bob new device")
        await login_through_page(fresh, bob.email, bob.password)
        await expect(conversation_item(fresh, cid)).to_have_attribute("data-unread", "1")
        badges = await fresh.by("unread-count").all_inner_texts()
        assert all(re.fullmatch(r"\d+", b) for b in badges), badges
        await fresh.shot("unread-02-new-device")

        # "Seen by" survives a reload: Alice's page asks the server for read marks.
        alice_page = await open_person(browser, server.url, "Alice")
        await login_through_page(alice_page, alice.email, alice.password)
        await conversation_item(alice_page, cid).click()
        await expect(message_with(alice_page, "Are you there?")).to_be_visible()
        await conversation_item(fresh, cid).click()
        receipt = alice_page.by("read-receipt")
        await expect(receipt).to_have_text("Seen by Bob", timeout=TIMEOUT_MS)
        await alice_page.page.reload()
        await expect(alice_page.by("read-receipt")).to_have_text("Seen by Bob", timeout=TIMEOUT_MS)
        await alice_page.shot("unread-03-seen-by-after-reload")
        for person in (laptop, phone, fresh, alice_page):
            assert person.page_errors == []
            assert person.console_errors == []


async def test_refused_message_keeps_its_place_and_the_counter_stops_long_ones(
    server: ServerProcess,
) -> None:
    alice, bob = await register(server.url, "Alice"), await register(server.url, "Bob")
    cid = (await create_conversation(server.url, alice, [bob]))["id"]
    await http_send(server.url, alice, cid, "Send me the report?")
    async with chromium() as browser:
        page = await open_person(browser, server.url, "Bob")
        # This page believes in a higher limit than the server's (as when the setting was
        # lowered after the page loaded): the server refuses, the page must cope.
        await page.page.route(
            "**/api/config",
            lambda route: route.fulfill(
                json={
                    "chat": {"max_message_chars": 10000, "max_title_chars": 200, "max_members": 10}
                }
            ),
        )
        await login_through_page(page, bob.email, bob.password)
        await conversation_item(page, cid).click()
        await expect(message_with(page, "Send me the report?")).to_be_visible()
        long_body = "x" * 4500
        await page.by("message-input").fill(long_body)
        await page.by("message-input").press("Enter")
        failed = page.page.locator('[data-testid="message"][data-status="failed"]')
        await expect(failed).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(failed.get_by_test_id("send-error")).to_contain_text(
            "Not sent: longer than 4000 characters"
        )
        # Retrying cannot help: no Retry, but Edit and Discard.
        await expect(failed.get_by_test_id("retry-send")).to_have_count(0)
        await expect(failed.get_by_test_id("edit-failed")).to_be_visible()

        # Newer messages, received and sent, come after the refused one.
        await http_send(server.url, alice, cid, "Newer from Alice")
        await expect(message_with(page, "Newer from Alice")).to_be_visible(timeout=TIMEOUT_MS)
        await send(page, "Newer from me")
        bodies = await _bodies(page)
        assert (
            bodies.index(long_body)
            < bodies.index("Newer from Alice")
            < bodies.index("Newer from me")
        ), [b[:20] for b in bodies]
        await failed.scroll_into_view_if_needed()
        await shot_both(page, "refused-01-in-place")
        assert await axe_serious(page.page) == []

        # Edit puts the text back in the box, where the real limit now applies.
        await page.page.unroute("**/api/config")
        await page.page.reload()
        await conversation_item(page, cid).click()
        await page.by("message-input").fill("y" * 4001)
        counter = page.by("char-counter")
        await expect(counter).to_have_text("1 character too long (limit 4,000)")
        await expect(page.by("send-button")).to_be_disabled()
        await page.by("message-input").press("Enter")
        await expect(page.by("message-input")).to_have_value("y" * 4001)
        await shot_both(page, "refused-02-counter-over")
        await page.by("message-input").fill("y" * 3990)
        await expect(counter).to_have_text("3,990 / 4,000")
        await expect(page.by("send-button")).to_be_enabled()
        async with httpx.AsyncClient(base_url=server.url, headers=alice.bearer) as http:
            history = (await http.get(f"/api/conversations/{cid}/messages")).json()["messages"]
        assert [m["body"] for m in history] == [
            "Send me the report?",
            "Newer from Alice",
            "Newer from me",
        ]
        assert page.page_errors == []


async def test_the_open_conversation_lives_in_the_url(server: ServerProcess) -> None:
    alice, bob, carol = [await register(server.url, n) for n in ("Alice", "Bob", "Carol")]
    with_bob = (await create_conversation(server.url, alice, [bob]))["id"]
    with_carol = (await create_conversation(server.url, alice, [carol]))["id"]
    async with chromium() as browser:
        page = await open_person(browser, server.url, "Alice")
        await login_through_page(page, alice.email, alice.password)
        await conversation_item(page, with_bob).click()
        await expect(page.by("chat-title")).to_have_text("Bob")
        assert page.page.url.endswith(f"#/c/{with_bob}")

        # A reload keeps the conversation open (and the session).
        await page.page.reload()
        await expect(page.by("chat-title")).to_have_text("Bob", timeout=TIMEOUT_MS)
        await shot_both(page, "url-01-after-reload")

        # Back and forward move between conversations.
        await conversation_item(page, with_carol).click()
        await expect(page.by("chat-title")).to_have_text("Carol")
        await page.page.go_back()
        await expect(page.by("chat-title")).to_have_text("Bob")
        await page.page.go_forward()
        await expect(page.by("chat-title")).to_have_text("Carol")

        # A shared link opens the conversation; a link to someone else's falls back to the list.
        other = await page.context.new_page()
        await other.goto(f"/#/c/{with_bob}")
        await expect(other.get_by_test_id("chat-title")).to_have_text("Bob", timeout=TIMEOUT_MS)
        stranger = (await create_conversation(server.url, bob, [carol]))["id"]
        await other.goto(f"/#/c/{stranger}")
        await expect(other.get_by_text("Pick a conversation, or start a new one.")).to_be_visible(
            timeout=TIMEOUT_MS
        )
        await expect(other.get_by_test_id("chat-pane")).to_have_count(0)
        assert page.page_errors == []


async def test_login_screen_is_quiet(server: ServerProcess) -> None:
    account = await register(server.url, "Dana")
    async with chromium() as browser:
        for viewport, prefix in (((1100, 760), ""), (PHONE, "phone-")):
            page = await open_person(browser, server.url, "Dana", viewport=viewport)
            await expect(page.by("auth-form")).to_be_visible()
            # Nothing was asked of the server, so nothing failed: no banner, no 401 in the console.
            await expect(page.by("connection-state")).to_have_count(0)
            assert not [r for r in page.requests if "/api/auth/me" in r], page.requests
            assert page.console_errors == []
            await page.shot(f"{prefix}quiet-01-login")
            await page.by("auth-mode-register").click()
            await page.shot(f"{prefix}quiet-02-register")

        # Once logged in, a reload resumes the session without the form.
        await login_through_page(page, account.email, account.password)
        await page.page.reload()
        await expect(page.by("current-user")).to_have_text("Dana", timeout=TIMEOUT_MS)
        await expect(page.by("auth-form")).to_have_count(0)
        # After logging out, the form again, still without a banner.
        await page.by("logout-button").click()
        await expect(page.by("auth-form")).to_be_visible(timeout=TIMEOUT_MS)
        await expect(page.by("connection-state")).to_have_count(0)
        assert page.console_errors == []
        assert page.page_errors == []


def _backdate(server: ServerProcess, message_id: str, when: datetime) -> None:
    """Move a stored message back in time (the API stamps messages with the present)."""
    db = sqlite3.connect(server.workdir / "switchboard.db", timeout=30)
    try:
        (sample,) = db.execute(
            "SELECT created_at FROM messages WHERE id = ?", (int(message_id),)
        ).fetchone()
        # Same text format as the stored value (SQLAlchemy's naive UTC on SQLite).
        stamp = when.astimezone(UTC).replace(tzinfo=None)
        text = stamp.isoformat(sep=" ") if " " in str(sample) else stamp.isoformat()
        db.execute("UPDATE messages SET created_at = ? WHERE id = ?", (text, int(message_id)))
        db.commit()
    finally:
        db.close()


async def test_dates_grouping_previews_and_title(server: ServerProcess) -> None:
    now = datetime.now(UTC)
    async with chromium() as browser:
        for viewport, prefix in (((1100, 760), ""), (PHONE, "phone-")):
            alice, bob = await register(server.url, "Alice"), await register(server.url, "Bob")
            cid = (await create_conversation(server.url, alice, [bob]))["id"]
            posted = []
            for who, body in [
                (alice, "From long ago"),
                (bob, "From yesterday"),
                (alice, "First today"),
                (alice, "Second today, same minute"),
            ]:
                posted.append((await http_send(server.url, who, cid, body)).json()["message"])
            _backdate(server, posted[0]["id"], now - timedelta(days=40))
            _backdate(server, posted[1]["id"], now - timedelta(days=1))

            page = await open_person(browser, server.url, "Bob", viewport=viewport)
            await login_through_page(page, bob.email, bob.password)
            item = conversation_item(page, cid)
            await expect(item.get_by_test_id("conversation-preview")).to_have_text(
                "Second today, same minute"
            )
            # Bob never opened it: all three of Alice's messages are unread.
            await expect(page.page).to_have_title("(3) Switchboard")
            await item.click()
            separators = page.by("day-separator")
            await expect(separators).to_have_count(3)
            labels = await separators.all_inner_texts()
            assert labels[1:] == ["Yesterday", "Today"], labels
            assert re.search(r"\d", labels[0]), labels  # a full date
            second = message_with(page, "Second today, same minute")
            await expect(second).to_have_attribute("data-continued", "true")
            await expect(message_with(page, "First today")).to_have_attribute(
                "data-continued", "false"
            )
            # A one-to-one header names the other person once (no "Alice ● Alice").
            header = await page.page.locator(".pane__header").inner_text()
            assert header.count("Alice") == 1, header
            await page.shot(f"{prefix}dates-01-separators-and-groups")
            mine = f"Mine from {prefix or 'desktop-'}page"
            await send(page, mine)
            if prefix:
                await page.by("back-button").click()
            else:
                await page.page.go_back()
            await expect(item.get_by_test_id("conversation-preview")).to_have_text(f"You: {mine}")
            await expect(page.page).to_have_title("Switchboard")
            await page.shot(f"{prefix}dates-02-list-you-preview")
            assert page.page_errors == []


async def test_connection_banner_and_offline_outbox(
    server_factory: Callable[..., ServerProcess],
) -> None:
    srv = server_factory(env={"SWITCHBOARD_RATE_LIMIT": "0", "SWITCHBOARD_RECOVERY_SECONDS": "120"})
    alice, bob = await register(srv.url, "Alice"), await register(srv.url, "Bob")
    cid = (await create_conversation(srv.url, alice, [bob]))["id"]
    async with chromium() as browser:
        a = await open_person(browser, srv.url, "Alice")
        b = await open_person(browser, srv.url, "Bob")
        for person, account in ((a, alice), (b, bob)):
            await login_through_page(person, account.email, account.password)
            await conversation_item(person, cid).click()
            await expect(person.by("chat-pane")).to_be_visible()

        # The network goes away under Bob's page: it says so, with the next attempt's time.
        await b.context.set_offline(True)
        await b.page.evaluate("() => window.__switchboard.chatSocket.io.engine.close()")
        label = b.by("connection-label")
        await expect(label).to_have_text(
            re.compile(r"^(reconnecting…|offline, retrying (in \d+s|now…))$"), timeout=TIMEOUT_MS
        )
        await expect(label).to_have_text(
            re.compile(r"^offline, retrying in \d+s$"), timeout=TIMEOUT_MS
        )
        await shot_both(b, "offline-01-retrying")
        assert await axe_serious(b.page) == []

        # What Bob writes meanwhile waits, in order; Alice writes too.
        typed = ["Offline one", "Offline two", "Offline three"]
        for body in typed:
            await b.by("message-input").fill(body)
            await b.by("message-input").press("Enter")
        pending = b.page.locator('[data-testid="message"][data-pending="true"]')
        await expect(pending).to_have_count(3)
        await expect(pending.get_by_test_id("send-status")).to_have_text(
            ["Waiting for connection…"] * 3
        )
        await expect(b.by("outbox-count")).to_contain_text("3 messages waiting to send")
        await send(a, "While you were offline")
        await shot_both(b, "offline-02-queued")
        assert await axe_serious(b.page) == []

        # The network returns: the session recovers, the missed message arrives, the
        # queue goes out once, in order.
        await b.context.set_offline(False)
        # The count in the label is the page's estimate (which messages arrived while
        # it was away is judged by timing); what is guaranteed is the recovery and
        # the missed message, shown once.
        await expect(label).to_have_text(
            re.compile(r"^recovered \((\d+ missed messages? delivered|nothing missed)\)$"),
            timeout=TIMEOUT_MS,
        )
        await expect(message_with(b, "While you were offline")).to_have_count(1)
        try:
            await expect(pending).to_have_count(0, timeout=TIMEOUT_MS)
        except AssertionError as exc:
            left = await pending.evaluate_all(
                "els => els.map(e => e.dataset.status + ': ' + e.innerText)"
            )
            raise AssertionError(f"still pending: {left}") from exc
        for body in typed:
            await expect(message_with(a, body)).to_have_count(1, timeout=TIMEOUT_MS)
        await shot_both(b, "offline-03-recovered")
        assert await axe_serious(b.page) == []
        async with httpx.AsyncClient(base_url=srv.url, headers=alice.bearer) as http:
            history = (await http.get(f"/api/conversations/{cid}/messages")).json()["messages"]
        mine = [m["body"] for m in history if m["sender_id"] == bob.id]
        assert mine == typed
        alice_bodies = await _bodies(a)
        assert [x for x in alice_bodies if x in typed] == typed
        assert a.page_errors == []
        assert b.page_errors == []


async def _scroll_top(person: Person) -> None:
    await person.by("message-list").evaluate("el => { el.scrollTop = 0; }")


async def test_history_scrolls_up_with_a_new_messages_line_jump_and_search(
    server_factory: Callable[..., ServerProcess],
) -> None:
    srv = server_factory(env={"SWITCHBOARD_RATE_LIMIT": "0"})
    alice, bob = await register(srv.url, "Alice"), await register(srv.url, "Bob")
    cid = (await create_conversation(srv.url, alice, [bob]))["id"]
    for i in range(1, 71):
        body = "A needle in the haystack" if i == 4 else f"Message {i}"
        assert (await http_send(srv.url, alice, cid, body)).status_code == 201
    async with chromium() as browser:
        for viewport, prefix in (((1100, 760), ""), (PHONE, "phone-")):
            b = await open_person(browser, srv.url, "Bob", viewport=viewport)
            await login_through_page(b, bob.email, bob.password)
            # Read everything once, then leave the conversation; three more arrive.
            await conversation_item(b, cid).click()
            await expect(b.by("chat-pane")).to_be_visible()
            if not prefix:
                # Never opened: all 70 are unread, more than a page; the line still
                # lands on the first one (older pages are fetched for it).
                first_unread = b.by("new-messages-divider")
                await expect(first_unread).to_be_visible(timeout=TIMEOUT_MS)
                assert (
                    await first_unread.evaluate(
                        """el => el.nextElementSibling
                            .querySelector('[data-testid="message-body"]').textContent"""
                    )
                    == "Message 1"
                )
            await expect(conversation_item(b, cid)).to_have_attribute("data-unread", "0")
            await b.page.go_back()
            await expect(b.by("chat-pane")).to_have_count(0)
            for i in range(1, 4):
                await http_send(srv.url, alice, cid, f"Fresh {prefix}{i}")
            await expect(conversation_item(b, cid)).to_have_attribute("data-unread", "3")

            # Opening shows a "New messages" line just above the first unread message.
            await conversation_item(b, cid).click()
            divider = b.by("new-messages-divider")
            await expect(divider).to_be_visible(timeout=TIMEOUT_MS)
            after = await divider.evaluate(
                """el => el.nextElementSibling
                        .querySelector('[data-testid="message-body"]').textContent"""
            )
            assert after == f"Fresh {prefix}1"
            await b.shot(f"{prefix}history-01-new-messages-line")
            assert await axe_serious(b.page) == []

            # Scrolling up loads older pages by itself, down to the beginning.
            start = b.by("conversation-start")
            for _ in range(10):
                if await start.count():
                    break
                before = await b.by("message").count()
                await _scroll_top(b)
                await expect(b.by("message")).not_to_have_count(before, timeout=TIMEOUT_MS)
            await expect(start).to_be_visible()
            await expect(message_with(b, "Message 1")).to_have_count(1)
            await _scroll_top(b)
            await b.shot(f"{prefix}history-02-beginning")

            # Far from the end, a button jumps back; it counts what arrived meanwhile.
            jump = b.by("jump-to-latest")
            await expect(jump).to_be_visible()
            await http_send(srv.url, alice, cid, f"Live while scrolled up {prefix}")
            await expect(jump).to_have_text("1 new message ↓", timeout=TIMEOUT_MS)
            await b.shot(f"{prefix}history-03-jump-button")
            assert await axe_serious(b.page) == []
            await jump.click()
            await expect(jump).to_have_count(0)
            await expect(message_with(b, f"Live while scrolled up {prefix}")).to_be_in_viewport()

            # Search asks the server; picking a result brings that message into view,
            # loading older pages if needed (a reload forgets them first).
            await b.page.reload()
            await expect(b.by("chat-pane")).to_be_visible(timeout=TIMEOUT_MS)
            await expect(message_with(b, "Message 4")).to_have_count(0)
            await b.by("search-toggle").click()
            await b.by("search-input").fill("NEEDLE")
            await b.by("search-input").press("Enter")
            results = b.by("search-result")
            await expect(results).to_have_count(1, timeout=TIMEOUT_MS)
            await expect(results).to_contain_text("A needle in the haystack")
            await expect(b.by("search-summary")).to_have_text("1 message contains “NEEDLE”.")
            await b.shot(f"{prefix}history-04-search-results")
            await results.click()
            found = message_with(b, "A needle in the haystack")
            await expect(found).to_be_in_viewport(timeout=TIMEOUT_MS)
            await expect(found).to_be_focused()
            await b.shot(f"{prefix}history-05-search-jump")
            await b.by("search-input").fill("no such words")
            await b.by("search-input").press("Enter")
            await expect(b.by("search-summary")).to_have_text(
                "No messages contain “no such words”.", timeout=TIMEOUT_MS
            )
            assert b.page_errors == []
            # This device stops reading, so the next one finds unread messages.
            await b.context.close()


_NOTIFICATION_SPY = """
(() => {
  // A spy around the real Notifications API: calls go through; the test reads them.
  const Real = window.Notification;
  const seen = { requested: 0, shown: [] };
  window.__desktop = seen;
  if (!Real) return;
  const realRequest = Real.requestPermission.bind(Real);
  Real.requestPermission = (...args) => { seen.requested += 1; return realRequest(...args); };
  window.Notification = new Proxy(Real, {
    construct(target, args) {
      seen.shown.push({ title: args[0], body: (args[1] || {}).body });
      return new target(...args);
    },
  });
})();
"""

# Headless Chromium has no background tabs: the page is told it is hidden, as a
# browser does when the person switches to another tab.
_HIDE_PAGE = """() => {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
  document.dispatchEvent(new Event('visibilitychange'));
}"""


async def test_group_rename_leave_and_desktop_alerts(server: ServerProcess) -> None:
    alice, bob, carol = [await register(server.url, n) for n in ("Alice", "Bob", "Carol")]
    cid = (await create_conversation(server.url, alice, [bob, carol]))["id"]
    await http_send(server.url, carol, cid, "Hello group")
    async with chromium() as browser:
        a = await open_person(browser, server.url, "Alice")
        b = await open_person(browser, server.url, "Bob", viewport=PHONE)
        await a.page.add_init_script(_NOTIFICATION_SPY)
        await a.page.reload()
        for person, account in ((a, alice), (b, bob)):
            await login_through_page(person, account.email, account.password)
            await conversation_item(person, cid).click()
            await expect(message_with(person, "Hello group")).to_be_visible()

        # Desktop alerts: never asked on load; asked when Alice clicks the switch.
        assert await a.page.evaluate("() => window.__desktop.requested") == 0
        await a.context.grant_permissions(["notifications"], origin=server.url)
        await a.by("notif-bell").click()
        await a.shot("group-01-desktop-alerts-switch")
        assert await axe_serious(a.page) == []
        await a.by("enable-desktop-notifications").click()
        await expect(a.by("desktop-alerts-status")).to_have_text(
            "On while this tab is in the background."
        )
        assert await a.page.evaluate("() => window.__desktop.requested") == 1
        await a.by("notif-bell").click()
        # Visible tab: no desktop alert. Hidden tab: one per message.
        await send(b, "Seen on the page")
        await expect(message_with(a, "Seen on the page")).to_be_visible(timeout=TIMEOUT_MS)
        await a.page.evaluate(_HIDE_PAGE)
        await send(b, "While Alice is elsewhere")
        await expect(message_with(a, "While Alice is elsewhere")).to_have_count(1)
        # A notification while hidden alerts too.
        async with httpx.AsyncClient(base_url=server.url) as http:
            r = await http.post(
                "/api/internal/notifications",
                headers={"Authorization": "Bearer test-api-key"},
                json={"user_ids": [alice.id], "type": "deploy", "title": "Deploy finished"},
            )
            assert r.status_code == 202, r.text
        await expect(a.by("notif-bell-count")).to_have_text("1", timeout=TIMEOUT_MS)
        shown = await a.page.evaluate("() => window.__desktop.shown")
        assert [(n["title"], n["body"]) for n in shown] == [
            ("Bob, Carol", "Bob: While Alice is elsewhere"),
            ("Deploy finished", ""),
        ], shown

        # Bob renames the group: everyone sees the new name at once.
        await b.by("settings-toggle").click()
        await b.by("rename-input").fill("Weekend plans")
        await b.shot("phone-group-02-rename")
        await b.by("rename-submit").click()
        await expect(b.by("rename-done")).to_be_visible()
        for person in (a, b):
            await expect(person.by("chat-title")).to_have_text("Weekend plans", timeout=TIMEOUT_MS)
        await expect(conversation_item(a, cid).get_by_test_id("conversation-name")).to_have_text(
            "Weekend plans"
        )
        await a.shot("group-03-renamed")

        # Bob leaves: it disappears from his list; Alice sees him gone from the members.
        await b.by("leave-conversation").click()
        await b.shot("phone-group-04-leave-confirm")
        assert await axe_serious(b.page) == []
        await b.by("leave-confirm").click()
        await expect(b.by("chat-pane")).to_have_count(0, timeout=TIMEOUT_MS)
        await expect(conversation_item(b, cid)).to_have_count(0)
        members = a.by("members")
        await expect(members.locator('[data-testid="online-dot"]')).to_have_count(
            1, timeout=TIMEOUT_MS
        )
        await expect(members).not_to_contain_text("Bob")
        await send(a, "Bye Bob")
        await expect(b.by("conversation-empty")).to_be_visible()
        await b.shot("phone-group-05-after-leaving")
        async with httpx.AsyncClient(base_url=server.url, headers=bob.bearer) as http:
            r = await http.get(f"/api/conversations/{cid}/messages")
        assert r.status_code == 403
        assert a.page_errors == []
        assert b.page_errors == []


async def test_unsent_messages_survive_a_reload(server: ServerProcess) -> None:
    alice, bob = await register(server.url, "Alice"), await register(server.url, "Bob")
    cid = (await create_conversation(server.url, alice, [bob]))["id"]
    async with chromium() as browser:
        b = await open_person(browser, server.url, "Bob")
        await login_through_page(b, bob.email, bob.password)
        await conversation_item(b, cid).click()
        # The connection drops and stays down (no reconnection) while Bob writes.
        await b.page.evaluate(
            """() => {
                const manager = window.__switchboard.chatSocket.io;
                manager.reconnection(false);
                manager.engine.close();
            }"""
        )
        await expect(b.by("connection-label")).to_have_text("reconnecting…", timeout=TIMEOUT_MS)
        for body in ("Before the reload 1", "Before the reload 2"):
            await b.by("message-input").fill(body)
            await b.by("message-input").press("Enter")
        await expect(b.by("outbox-count")).to_contain_text("2 messages waiting to send")
        # A reload (a new connection) sends them, once each, in order.
        await b.page.reload()
        for body in ("Before the reload 1", "Before the reload 2"):
            await expect(message_with(b, body)).to_have_attribute(
                "data-message-id", re.compile(r"^\d+$"), timeout=TIMEOUT_MS
            )
        await expect(b.by("outbox-count")).to_have_count(0)
        async with httpx.AsyncClient(base_url=server.url, headers=alice.bearer) as http:
            history = (await http.get(f"/api/conversations/{cid}/messages")).json()["messages"]
        assert [m["body"] for m in history] == ["Before the reload 1", "Before the reload 2"]
        assert b.page_errors == []
