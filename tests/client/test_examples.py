"""The documented Python example runs as shown, and the docs show it as it is."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from tests.support.server import SRC, ServerProcess

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "examples" / "python_client.py"
MARKER = "<!-- example: docs/examples/python_client.py -->\n```python\n"


def test_python_client_doc_shows_the_example_unchanged() -> None:
    doc = (REPO / "docs" / "python-client.md").read_text()
    start = doc.index(MARKER) + len(MARKER)
    shown = doc[start : doc.index("```\n", start)]
    assert shown == EXAMPLE.read_text()


async def test_python_client_example_runs_against_a_real_server(server: ServerProcess) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLE),
        server.url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert "bob got: Hi Bob!" in lines
    assert any(re.fullmatch(r"bob sees user \d+ typing: True", line) for line in lines)
    assert any(re.fullmatch(r"ada sent message \S+", line) for line in lines)
    assert "bob online: True" in lines
    assert "bob has 0 unread notifications" in lines
