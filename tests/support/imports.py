"""What a fresh interpreter has imported after running some code (import hygiene tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def loaded_packages(
    code: str, packages: set[str], *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> list[str]:
    """The modules of `packages` (top-level names) loaded after `code` ran in a new process."""
    probe = (
        f"{code}\nimport sys\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(packages)!r}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(SRC), **(env or {})},
        cwd=cwd,
    )
    loaded: list[str] = eval(out.stdout.strip().splitlines()[-1])  # noqa: S307 - our own print
    return loaded
