"""Headless Debian Chromium driven by Playwright, for end-to-end tests of the demo page.

Never `playwright install`: the browser is the system's /usr/bin/chromium.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, Locator, Page, async_playwright, expect

from tests.support.server import REPO

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = REPO / "test-artifacts" / "e2e"
# axe-core from the web package's devDependencies (`make web-deps`), injected into pages.
AXE_JS = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = (375, 740)
# The machine is shared and slow: every wait is generous, and only waits (never sleeps).
TIMEOUT_MS = 30_000
PASSWORD = "correct horse battery"

_counter = itertools.count(1)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Launch headless Debian Chromium; closed (with its processes) on exit."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Person:
    """One person: their own browser context (cookie jar, localStorage) and page."""

    name: str
    context: BrowserContext
    page: Page
    email: str = ""
    user_id: int = 0
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def by(self, testid: str) -> Locator:
        return self.page.get_by_test_id(testid)

    async def shot(self, step: str) -> Path:
        """Save a screenshot of this person's page as a test artifact."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", f"{step}-{self.name}".lower()).strip("-")
        path = ARTIFACTS / f"{slug}.png"
        await self.page.screenshot(path=path)
        return path


async def shot_both(person: Person, step: str) -> None:
    """Screenshots of the page as it is, at its own width and at phone width."""
    await person.shot(step)
    size = person.page.viewport_size
    await person.page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    await person.shot(f"phone-{step}")
    if size is not None:
        await person.page.set_viewport_size(size)


async def open_person(
    browser: Browser, base_url: str, name: str, viewport: tuple[int, int] = (1100, 760)
) -> Person:
    """A fresh context on the demo page, with uncaught page errors recorded."""
    context = await browser.new_context(
        base_url=base_url, viewport={"width": viewport[0], "height": viewport[1]}
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    person = Person(name=name, context=context, page=page)
    page.on("pageerror", lambda err: person.page_errors.append(str(err)))
    page.on(
        "console",
        lambda msg: person.console_errors.append(msg.text) if msg.type == "error" else None,
    )
    page.on("request", lambda req: person.requests.append(f"{req.method} {req.url}"))
    await page.goto("/")
    return person


async def login_through_page(person: Person, email: str, password: str) -> int:
    """Fill the page's "Log in" form; returns the user's id once connected."""
    person.email = email
    await person.by("auth-mode-login").click()
    await person.by("email-input").fill(email)
    await person.by("password-input").fill(password)
    await person.by("auth-submit").click()
    me = person.by("current-user")
    await expect(me).to_be_visible(timeout=TIMEOUT_MS)
    await expect(person.by("connection-label")).to_have_text("connected", timeout=TIMEOUT_MS)
    person.user_id = int(await me.get_attribute("data-user-id") or "0")
    return person.user_id


def conversation_item(person: Person, cid: int) -> Locator:
    return person.page.locator(f'[data-testid="conversation-item"][data-conversation-id="{cid}"]')


async def axe_serious(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE_JS))
    result = await page.evaluate(
        """async () => {
            const r = await window.axe.run(document, {resultTypes: ['violations']});
            return r.violations
              .filter((v) => v.impact === 'serious' || v.impact === 'critical')
              .map((v) => `${v.impact} ${v.id}: ${v.help} — ` +
                   v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | '));
        }"""
    )
    return [str(line) for line in result]


async def register_through_page(person: Person) -> int:
    """Fill the page's "Create account" form; returns the new user's id once connected."""
    person.email = f"{person.name.lower()}-{next(_counter)}-{os.getpid()}-{id(person)}@example.com"
    await person.by("auth-mode-register").click()
    await expect(person.by("auth-form")).to_have_attribute("data-mode", "register")
    await person.by("name-input").fill(person.name)
    await person.by("email-input").fill(person.email)
    await person.by("password-input").fill(PASSWORD)
    await person.by("auth-submit").click()
    me = person.by("current-user")
    await expect(me).to_have_text(person.name, timeout=TIMEOUT_MS)
    await expect(person.by("connection-state")).to_have_text("connected", timeout=TIMEOUT_MS)
    person.user_id = int(await me.get_attribute("data-user-id") or "0")
    assert person.user_id > 0
    return person.user_id


async def start_conversation(person: Person, other: Person) -> int:
    """Search `other` by e-mail in "New conversation", pick them, start; returns its id."""
    await person.by("new-conversation").click()
    await person.by("user-search").fill(other.email)
    result = person.page.locator(f'[data-testid="user-result"][data-user-id="{other.user_id}"]')
    await expect(result).to_contain_text(other.name, timeout=TIMEOUT_MS)
    await result.click()
    await expect(result).to_have_attribute("aria-pressed", "true")
    await person.by("start-conversation").click()
    pane = person.by("chat-pane")
    await expect(pane).to_be_visible(timeout=TIMEOUT_MS)
    await expect(person.by("chat-title")).to_have_text(other.name)
    return int(await pane.get_attribute("data-conversation-id") or "0")


async def send(person: Person, body: str) -> Locator:
    """Type and send with Enter; returns the message once the server acked it."""
    await person.by("message-input").fill(body)
    await person.by("message-input").press("Enter")
    acked = message_with(person, body).and_(
        person.page.locator('[data-testid="message"][data-message-id]')
    )
    await expect(acked).to_have_count(1, timeout=TIMEOUT_MS)
    await expect(acked).to_have_attribute("data-mine", "true")
    return acked


def message_with(person: Person, body: str) -> Locator:
    """Messages in the open conversation whose whole text is exactly `body`."""
    exact = re.compile("^" + re.escape(body) + "$")
    return person.by("message").filter(has=person.by("message-body").filter(has_text=exact))
