"""docs/quickstart.md, steps 2, 4 and 5, run as written against a real server.

A first user followed the page literally and `switchboard chat --conversation 1`
answered 403. The shell blocks run here in one bash, with only the server's
address and the location of the `switchboard` command swapped in;
`tail-notifications` (which runs until stopped) is left out.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ServerFactory
from tests.support.server import REPO

PAGE = (REPO / "docs" / "quickstart.md").read_text()


def _shell_blocks(step: str) -> list[str]:
    """The ```sh blocks under the heading `## {step}…`."""
    section = PAGE.split(f"\n## {step}", 1)[1].split("\n## ", 1)[0]
    blocks: list[str] = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    assert blocks, f"no shell block under step {step}"
    return blocks


def _shell_block(step: str) -> str:
    return _shell_blocks(step)[0]


def test_steps_2_4_and_5_run_as_written(server_factory: ServerFactory) -> None:
    server = server_factory()
    http = _shell_block("2. ")
    assert "URL=http://127.0.0.1:8000\n" in http
    http = http.replace("URL=http://127.0.0.1:8000\n", f"URL={server.url}\n")
    terminal = [
        # stdin at EOF (/dev/null, which epoll refuses): chat prints the history and ends.
        line + " < /dev/null" if " chat " in line else line
        for line in _shell_block("4. ").splitlines()
        if "tail-notifications" not in line
    ]
    push = "\n".join(_shell_blocks("5. "))
    script = "\n".join(["set -euo pipefail", http, *terminal, push])
    script = script.replace(".venv/bin/", f"{Path(sys.executable).parent}/")

    env = server.environment()
    env["SWITCHBOARD_API_KEY"] = "test-api-key"  # the server's: step 5 pushes with it
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=server.workdir,  # step 5's `notify` runs where the server runs
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert re.search(r"^\[\d\d:\d\d\] you: Hello Bob$", done.stdout, re.MULTILINE), done.stdout
    assert "chatting in Ada and Bob as Ada" in done.stderr
    assert '"title":"Ada and Bob"' in done.stdout
    # The internal API's answer and notify's, one JSON object each.
    assert done.stdout.count('"ids":[') == 2, done.stdout
