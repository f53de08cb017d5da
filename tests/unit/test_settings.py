"""Settings: the production secret rule, the generated development secret, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from switchboard.config import load_settings
from switchboard.errors import ConfigError
from tests.support.server import SRC


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env["PYTHONPATH"] = str(SRC)
    env.update(extra)
    return env


def test_production_without_secret_refuses_to_start_with_one_clear_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "switchboard", "serve", "--port", "1"],
        cwd=tmp_path,
        env=_clean_env(SWITCHBOARD_ENV="production"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "SWITCHBOARD_JWT_SECRET" in lines[0]
    assert "production" in lines[0]
    assert "Traceback" not in proc.stderr


def test_invalid_value_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "switchboard", "migrate"],
        cwd=tmp_path,
        env=_clean_env(SWITCHBOARD_RATE_LIMIT="fast"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "SWITCHBOARD_RATE_LIMIT" in proc.stderr


def test_development_secret_is_generated_once_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(os.environ):
        if key.startswith("SWITCHBOARD_"):
            monkeypatch.delenv(key)
    first = load_settings(data_dir=tmp_path / "data").resolved_jwt_secret()
    second = load_settings(data_dir=tmp_path / "data").resolved_jwt_secret()
    assert first == second
    assert len(first) >= 32
    secret_file = tmp_path / "data" / "jwt_secret"
    assert secret_file.stat().st_mode & 0o077 == 0
    other = load_settings(data_dir=tmp_path / "other").resolved_jwt_secret()
    assert other != first


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_CORS_ORIGINS", "https://a.example/, https://b.example")
    monkeypatch.setenv("SWITCHBOARD_RECOVERY_SECONDS", "0")
    monkeypatch.setenv("SWITCHBOARD_API_KEY", "")
    settings = load_settings()
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.recovery_seconds == 0
    assert settings.api_key is None
    with pytest.raises(ConfigError, match="SWITCHBOARD_MAX_QUEUE"):
        load_settings(max_queue=0)
