"""The example apps, started by running the shell block of their README under bash."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.server import REPO, ServerProcess, free_port

EXAMPLES = REPO / "examples"
_FENCE = re.compile(r"```sh\n(.*?)```", re.S)
_FAST_PATH = "--http switchboard.transport.front:HttpProtocol --ws switchboard.transport.fastws:WebSocketProtocol"

StartExample = Callable[..., ServerProcess]


def readme_script(example: str, port: int, *, fast_path: bool = True) -> str:
    """The README block that runs uvicorn, on `port` (and without `--http`/`--ws` on request).

    `exec` makes uvicorn the process the test stops by PID.
    """
    readme = (EXAMPLES / example / "README.md").read_text()
    for block in _FENCE.findall(readme):
        lines = block.splitlines()
        if any(line.startswith("uvicorn ") for line in lines):
            break
    else:
        raise AssertionError(f"examples/{example}/README.md gives no `uvicorn ...` command")
    out = []
    for line in lines:
        if line.startswith("uvicorn "):
            assert "--port 8000" in line, line
            line = line.replace("--port 8000", f"--host 127.0.0.1 --port {port}")
            if not fast_path:
                assert _FAST_PATH in line, line
                line = line.replace(" " + _FAST_PATH, "")
            line = "exec " + line
        out.append(line)
    return "\n".join(out)


@pytest.fixture
def start_example(tmp_path: Path) -> Iterator[StartExample]:
    """`start_example(name, fast_path=True)`: the example running, stopped by PID after."""
    started: list[ServerProcess] = []

    def start(example: str, *, fast_path: bool = True) -> ServerProcess:
        port = free_port()
        proc = ServerProcess(
            tmp_path / f"{example}-{port}",
            # The README's `uvicorn` is this interpreter's.
            env={"PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"},
            port=port,
            command=["bash", "-euc", readme_script(example, port, fast_path=fast_path)],
            cwd=EXAMPLES / example,
        )
        started.append(proc)
        return proc.start()

    yield start
    for proc in started:
        proc.stop()
