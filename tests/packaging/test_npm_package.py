"""The browser client as an npm package, used by an app that knows nothing else.

`npm pack` of web/ (its prepack builds the library) must hold the plain
module, the React binding and their types, and not the demo page. A fresh
Vite + React app, written here, installs the tarball, type-checks against its
.d.ts and builds; served from its own origin beside a real Switchboard server,
it renders `SocketProvider` in Chromium, resumes the session from the cookie
and shows a notification the server pushes and a chat message another user sends.

npm installs with `--prefer-offline`: the app pins the versions of React,
Vite and TypeScript that web/package-lock.json locks, so a machine that ran
`make web-deps` has them in its npm cache.
"""

from __future__ import annotations

import contextlib
import functools
import json
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from switchboard.__about__ import __version__
from tests.conftest import ServerFactory
from tests.support.browser import TIMEOUT_MS, chromium
from tests.support.clients import register
from tests.support.server import REPO

# npm install and two builds: minutes on a cold, loaded machine.
pytestmark = [pytest.mark.packaging, pytest.mark.browser, pytest.mark.timeout(600)]

WEB = REPO / "web"
NAME = "@switchboard/web"

APP_TSX = """\
import { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { isSwitchboardError } from '@switchboard/web';
import type { Message, Notification } from '@switchboard/web';
import {
  SocketProvider,
  useChatEvent,
  useNotificationEvent,
  useSocket,
} from '@switchboard/web/react';

function Inbox() {
  const { isConnected, user, ready } = useSocket();
  const [titles, setTitles] = useState<string[]>([]);
  const [messages, setMessages] = useState<string[]>([]);
  useNotificationEvent('notification', (n: Notification) => setTitles((all) => [...all, n.title]));
  useChatEvent('message:new', (m: Message) => setMessages((all) => [...all, m.body]));
  const state = !ready ? 'restoring' : isConnected && user ? `connected as ${user.name}` : 'offline';
  return (
    <main>
      <p data-testid="state">{state}</p>
      <p data-testid="plain-module">{typeof isSwitchboardError}</p>
      <ul data-testid="inbox">{titles.map((t) => <li key={t}>{t}</li>)}</ul>
      <ul data-testid="messages">{messages.map((b) => <li key={b}>{b}</li>)}</ul>
    </main>
  );
}

// The Switchboard server is another origin (?server=http://host:port).
const server = new URLSearchParams(location.search).get('server') ?? '';
createRoot(document.getElementById('root')!).render(
  <SocketProvider baseUrl={server}>
    <Inbox />
  </SocketProvider>,
);
"""

INDEX_HTML = """\
<!doctype html>
<html lang="en">
  <head><meta charset="utf-8" /><title>A fresh app</title></head>
  <body><div id="root"></div><script type="module" src="/src/main.tsx"></script></body>
</html>
"""

VITE_CONFIG = """\
import { defineConfig } from 'vite';

export default defineConfig({ oxc: { jsx: { runtime: 'automatic' } } });
"""

TSCONFIG = {
    "compilerOptions": {
        "target": "ES2022",
        "lib": ["ES2022", "DOM", "DOM.Iterable"],
        "module": "ESNext",
        "moduleResolution": "bundler",
        "jsx": "react-jsx",
        "strict": True,
        "noEmit": True,
        "types": [],
    },
    "include": ["src"],
}


def _run(*cmd: str | Path, cwd: Path) -> str:
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _locked(*names: str) -> dict[str, str]:
    """The exact versions web/package-lock.json holds (already in the npm cache)."""
    packages = json.loads((WEB / "package-lock.json").read_text())["packages"]
    return {name: packages[f"node_modules/{name}"]["version"] for name in names}


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (WEB / "node_modules").is_dir():
        pytest.fail("web/node_modules is missing: run `make web-deps` (or `make test`) first")
    out = tmp_path_factory.mktemp("npm-pack")
    _run("npm", "pack", "--pack-destination", out, cwd=WEB)
    (packed,) = out.glob("*.tgz")
    return packed


@pytest.fixture(scope="module")
def app_dist(tarball: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    app = tmp_path_factory.mktemp("fresh-app")
    (app / "src").mkdir()
    (app / "src" / "main.tsx").write_text(APP_TSX)
    (app / "index.html").write_text(INDEX_HTML)
    (app / "vite.config.js").write_text(VITE_CONFIG)
    (app / "tsconfig.json").write_text(json.dumps(TSCONFIG, indent=2))
    package = {
        "name": "fresh-app",
        "private": True,
        "type": "module",
        "dependencies": {NAME: f"file:{tarball}", **_locked("react", "react-dom")},
        "devDependencies": _locked("vite", "typescript", "@types/react", "@types/react-dom"),
    }
    (app / "package.json").write_text(json.dumps(package, indent=2))
    _run("npm", "install", "--prefer-offline", "--no-audit", "--no-fund", cwd=app)
    # Types: the app compiles against the package's .d.ts alone.
    _run(app / "node_modules" / ".bin" / "tsc", "-p", "tsconfig.json", cwd=app)
    _run(app / "node_modules" / ".bin" / "vite", "build", cwd=app)
    return app / "dist"


def test_the_tarball_holds_the_module_the_binding_and_types_not_the_page(tarball: Path) -> None:
    assert tarball.name == f"switchboard-web-{__version__}.tgz"
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
        packed_manifest = tar.extractfile("package/package.json")
        assert packed_manifest is not None
        manifest = json.load(packed_manifest)
    for needed in ("index.js", "index.d.ts", "react.js", "react.d.ts", "types.d.ts"):
        assert f"package/dist/lib/{needed}" in names, sorted(names)
    assert not {n for n in names if n.endswith((".html", ".css", ".tsx"))}, sorted(names)
    assert not {n for n in names if "/src/" in n or "/app/" in n or "static" in n}
    assert manifest["version"] == __version__
    assert set(manifest["exports"]) == {".", "./react"}


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # the test's output is not the place for an access log


@contextlib.contextmanager
def _static_site(root: Path) -> Iterator[str]:
    """The built app on its own origin (127.0.0.1, a free port), stopped on exit."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    site = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{site.server_address[1]}"
    finally:
        site.shutdown()
        site.server_close()
        thread.join()


async def test_a_fresh_react_app_renders_the_provider_and_receives_events(
    app_dist: Path, server_factory: ServerFactory
) -> None:
    with _static_site(app_dist) as origin:
        server = server_factory({"SWITCHBOARD_CORS_ORIGINS": origin})
        async with chromium() as browser:
            context = await browser.new_context()
            context.set_default_timeout(TIMEOUT_MS)
            # Registering through the context's request API leaves the auth
            # cookie in the browser; the provider resumes the session from it.
            r = await context.request.post(
                f"{server.url}/api/auth/register",
                data={"email": "ada@example.com", "password": "correct-horse", "name": "Ada"},
            )
            assert r.status == 201, await r.text()
            ada = (await r.json())["user"]["id"]
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            await page.goto(f"{origin}/?server={server.url}")

            await expect(page.get_by_test_id("state")).to_have_text("connected as Ada")
            await expect(page.get_by_test_id("plain-module")).to_have_text("function")
            bob = await register(server.url, "Bob")
            async with httpx.AsyncClient(base_url=server.url, headers=bob.bearer) as http:
                pushed = await http.post(
                    "/api/internal/notifications",
                    json={"user_ids": [ada], "type": "hello", "title": "Hello from the server"},
                    headers={"Authorization": "Bearer test-api-key"},
                )
                assert pushed.status_code == 202, pushed.text
                inbox = page.get_by_test_id("inbox").get_by_role("listitem")
                await expect(inbox).to_have_text(["Hello from the server"])
                # A conversation created with Ada joins her live socket to its room.
                created = await http.post("/api/conversations", json={"member_ids": [ada]})
                cid = created.json()["conversation"]["id"]
                sent = await http.post(
                    f"/api/conversations/{cid}/messages", json={"body": "Hi Ada, it is Bob"}
                )
                assert sent.status_code == 201, sent.text
            messages = page.get_by_test_id("messages").get_by_role("listitem")
            await expect(messages).to_have_text(["Hi Ada, it is Bob"])
            assert errors == []
            await context.close()
