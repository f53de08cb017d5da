"""The example apps, started with the command their README gives, under a real uvicorn."""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.server import REPO, ServerProcess, free_port

EXAMPLES = REPO / "examples"
_FENCE = re.compile(r"```sh\n(.*?)```", re.S)

StartExample = Callable[..., ServerProcess]


def readme_command(example: str) -> list[str]:
    """The `uvicorn ...` line of the example's README, as argv."""
    readme = (EXAMPLES / example / "README.md").read_text()
    for block in _FENCE.findall(readme):
        for line in block.splitlines():
            if line.startswith("uvicorn "):
                return shlex.split(line)
    raise AssertionError(f"examples/{example}/README.md gives no `uvicorn ...` command")


def with_port(argv: list[str], port: int, *, fast_path: bool = True) -> list[str]:
    """The README's command on `port`, run by this interpreter; `fast_path=False` drops `--ws`."""
    out = [sys.executable, "-m", "uvicorn"]
    args = iter(argv[1:])
    for arg in args:
        if arg == "--port" or (arg == "--ws" and not fast_path):
            next(args)
        else:
            out.append(arg)
    return [*out, "--host", "127.0.0.1", "--port", str(port)]


@pytest.fixture
def start_example(tmp_path: Path) -> Iterator[StartExample]:
    """`start_example(name, fast_path=True, **env)`: the example running, stopped by PID after."""
    started: list[ServerProcess] = []

    def start(example: str, *, fast_path: bool = True, **env: str) -> ServerProcess:
        port = free_port()
        proc = ServerProcess(
            tmp_path / f"{example}-{port}",
            env=env,
            port=port,
            command=with_port(readme_command(example), port, fast_path=fast_path),
            cwd=EXAMPLES / example,
        )
        started.append(proc)
        return proc.start()

    yield start
    for proc in started:
        proc.stop()
