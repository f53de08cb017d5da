"""The wheel alone: built from this tree, installed in a fresh virtual
environment with nothing else, it serves the web page and migrates its
database from an empty directory.

The page must have been built into src/switchboard/static first (`make web`;
`make test` and `make dist` do it). Building takes seconds; installing the
dependencies into the new environment takes most of the time (pip's
configured index and wheel cache are used).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from switchboard.__about__ import __version__
from tests.support.server import REPO, free_port

# Building and installing into a fresh environment: minutes on a cold, loaded machine.
pytestmark = [pytest.mark.packaging, pytest.mark.timeout(600)]

PAGE = REPO / "src" / "switchboard" / "static" / "index.html"


def _run(*cmd: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def build_output(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`python -m build` as a release runs it: an sdist, then the wheel from the sdist."""
    if not PAGE.is_file():
        pytest.fail("the web page is not built: run `make web` (or `make test`) first")
    out = tmp_path_factory.mktemp("dist")
    log = _run(sys.executable, "-m", "build", "--outdir", out, REPO, cwd=REPO)
    (wheel,) = out.glob("switchboard-*.whl")
    return wheel, log


@pytest.fixture(scope="module")
def wheel(build_output: tuple[Path, str]) -> Path:
    return build_output[0]


def _isolated_env() -> dict[str, str]:
    """No SWITCHBOARD_* settings and no PYTHONPATH: only the installed wheel can answer."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SWITCHBOARD_") and k not in {"PYTHONPATH", "VIRTUAL_ENV"}
    }


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fresh") / "venv"
    _run(sys.executable, "-m", "venv", root, env=_isolated_env())
    _run(root / "bin" / "python", "-m", "pip", "install", "-q", wheel, env=_isolated_env())
    return root


def test_the_build_is_clean_and_the_wheel_holds_the_page_and_the_migrations(
    build_output: tuple[Path, str],
) -> None:
    wheel, log = build_output
    assert wheel.name == f"switchboard-{__version__}-py3-none-any.whl"
    # The table form of `license` made setuptools warn on every build.
    assert "Deprecat" not in log, log
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "switchboard/static/index.html" in names
    assert any(re.fullmatch(r"switchboard/static/assets/index-.+\.js", n) for n in names)
    migrations = REPO / "src" / "switchboard" / "storage" / "migrations" / "versions"
    for migration in migrations.glob("*.py"):
        assert f"switchboard/storage/migrations/versions/{migration.name}" in names
    assert "switchboard/storage/migrations/env.py" in names
    metadata = zipfile.ZipFile(wheel).read(f"switchboard-{__version__}.dist-info/METADATA")
    assert b"\nLicense-Expression: MIT\n" in metadata


@contextlib.contextmanager
def _serving(venv: Path, workdir: Path) -> Iterator[str]:
    port = free_port()
    log = (workdir.parent / "serve.log").open("wb")
    proc = subprocess.Popen(
        [venv / "bin" / "switchboard", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=workdir,
        env=_isolated_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            assert proc.poll() is None, (workdir.parent / "serve.log").read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise AssertionError("the installed server never became healthy")
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def test_the_installed_wheel_serves_the_page_and_the_api_from_an_empty_directory(
    venv: Path, tmp_path: Path
) -> None:
    where = _run(
        venv / "bin" / "python", "-c", "import switchboard; print(switchboard.__file__)",
        cwd=tmp_path, env=_isolated_env(),
    )  # fmt: skip
    assert Path(where.strip()).is_relative_to(venv), where
    version = _run(venv / "bin" / "switchboard", "--version", env=_isolated_env())
    assert version.strip() == f"switchboard {__version__}"

    empty = tmp_path / "empty"
    empty.mkdir()
    with _serving(venv, empty) as url:
        page = httpx.get(url + "/")
        assert page.status_code == 200
        script = re.search(r'<script type="module"[^>]* src="(/assets/index-[^"]+\.js)"', page.text)
        assert script, page.text
        asset = httpx.get(url + script.group(1))
        assert asset.status_code == 200
        assert "javascript" in asset.headers["content-type"]
        # Registering needs the users table: the migrations ran from the wheel.
        r = httpx.post(
            url + "/api/auth/register",
            json={"email": "first@example.com", "password": "correct-horse", "name": "First"},
        )
        assert r.status_code == 201, r.text
    assert (empty / "switchboard.db").is_file()
