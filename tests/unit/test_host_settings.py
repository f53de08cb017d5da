"""Host-token settings: what start refuses (algorithm confusion, `none`, keys that do not fit)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from switchboard.auth.host_tokens import HostTokenVerifier, display_name, external_id_of
from switchboard.config import load_settings
from switchboard.errors import ConfigError
from tests.unit.test_settings import _clean_env


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


RSA_PEM = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
EC_PEM = _pem(ec.generate_private_key(ec.SECP256R1()))

REFUSED = {
    "none": ({"jwt_algorithms": "none", "jwt_secret": "s" * 32}, "never none"),
    "None in a list": ({"jwt_algorithms": "RS256,None", "jwks_url": "https://h/j"}, "never none"),
    "hmac mixed with rsa": (
        {"jwt_algorithms": "HS256,RS256", "jwt_public_key": RSA_PEM},
        "cannot be mixed",
    ),
    "hmac with a public key": (
        {"jwt_algorithms": "HS256", "jwt_secret": "s" * 32, "jwt_public_key": RSA_PEM},
        "SWITCHBOARD_JWT_PUBLIC_KEY",
    ),
    "hmac without a secret": ({"jwt_algorithms": "HS512"}, "SWITCHBOARD_JWT_SECRET"),
    "rsa without a key": ({"jwt_algorithms": "RS256"}, "exactly one"),
    "rsa with two key sources": (
        {"jwt_algorithms": "RS256", "jwt_public_key": RSA_PEM, "jwks_url": "https://h/j"},
        "exactly one",
    ),
    "a key without algorithms": ({"jwks_url": "https://h/j"}, "SWITCHBOARD_JWT_ALGORITHMS"),
    "jwks not over http": ({"jwt_algorithms": "ES256", "jwks_url": "file:///etc/passwd"}, "http"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_inconsistent_host_token_settings_are_refused_with_one_line(case: str) -> None:
    overrides, words = REFUSED[case]
    with pytest.raises(ConfigError, match=words) as refused:
        load_settings(env="test", **overrides)
    assert "\n" not in str(refused.value)


def test_a_key_that_does_not_fit_the_algorithm_is_refused_when_the_app_is_built() -> None:
    settings = load_settings(env="test", jwt_algorithms="ES256", jwt_public_key=RSA_PEM)
    with pytest.raises(ConfigError, match="does not fit"):
        HostTokenVerifier(settings)
    with pytest.raises(ConfigError, match="not a PEM public key"):
        HostTokenVerifier(
            load_settings(env="test", jwt_algorithms="RS256", jwt_public_key="-----BEGIN junk")
        )
    with pytest.raises(ConfigError, match="cannot read"):
        HostTokenVerifier(
            load_settings(env="test", jwt_algorithms="RS256", jwt_public_key="/no/such/key.pem")
        )
    # The fitting ones are accepted, from the PEM text or from a file.
    HostTokenVerifier(load_settings(env="test", jwt_algorithms="ES256", jwt_public_key=EC_PEM))
    HostTokenVerifier(
        load_settings(env="test", jwt_algorithms="RS256,PS256", jwt_public_key=RSA_PEM)
    )


def test_host_mode_in_production_needs_no_switchboard_secret() -> None:
    settings = load_settings(env="production", jwt_algorithms="ES256", jwks_url="https://h/j")
    assert settings.host_tokens
    assert settings.jwt_name_claims == ["name", "preferred_username", "email"]


def test_the_server_refuses_to_start_on_algorithm_confusion(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "switchboard", "serve", "--port", "1"],
        cwd=tmp_path,
        env=_clean_env(
            SWITCHBOARD_ENV="test",
            SWITCHBOARD_JWT_ALGORITHMS="HS256,ES256",
            SWITCHBOARD_JWKS_URL="https://host.example/jwks",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "SWITCHBOARD_JWT_ALGORITHMS" in lines[0]


def test_host_ids_are_bounded_strings() -> None:
    assert external_id_of("auth0|5f7c8ec7c33c6c004bbafe82") == "auth0|5f7c8ec7c33c6c004bbafe82"
    assert external_id_of(42) == "42"
    assert external_id_of("x" * 255) == "x" * 255
    for bad in ("", "x" * 256, "line\nbreak", "nul\x00", True, 1.5, None, ["a"]):
        assert external_id_of(bad) is None, bad


def test_display_name_takes_the_first_usable_claim() -> None:
    claims = {"name": "  ", "preferred_username": "ada\u200b", "email": "ada@example.com"}
    assert display_name(claims, ["name", "preferred_username", "email"]) == "ada"
    assert display_name({"name": 7}, ["name"]) is None
    assert display_name({"name": "N" * 300}, ["name"]) == "N" * 100
