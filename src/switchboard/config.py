"""Settings: one validated object, read from the environment (or `.env`) at start.

Every variable of the SPEC's table lives here with its default. A wrong value
fails at start with one clear line (see `load_settings`), never later.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from switchboard.errors import ConfigError
from switchboard.realtime.backends import check_url

_SECRET_FILE = "jwt_secret"  # noqa: S105 - a file name, not a secret


class Settings(BaseSettings):
    """Runtime configuration. Field `x` is read from `SWITCHBOARD_X`."""

    model_config = SettingsConfigDict(
        env_prefix="SWITCHBOARD_", env_file=".env", extra="ignore", frozen=True
    )

    env: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite+aiosqlite:///./switchboard.db"
    redis_url: str | None = None
    jwt_secret: str | None = None
    token_ttl_seconds: int = Field(default=604800, gt=0)
    api_key: str | None = None
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    recovery_seconds: int = Field(default=120, ge=0)
    rate_limit: float = Field(default=20, ge=0)
    max_message_chars: int = Field(default=4000, gt=0)
    max_queue: int = Field(default=1000, gt=0)
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    # Absolute session lifetime: refreshes never carry a session past this.
    session_max_seconds: int = Field(default=30 * 86400, gt=0)
    # How often each node re-reads revocations and users from the database
    # (a safety net: with Redis, changes reach every node at once).
    auth_sync_seconds: float = Field(default=30.0, gt=0)
    # A token replaced by a refresh keeps working this long (requests in flight).
    token_rotation_grace_seconds: float = Field(default=30.0, ge=0)
    # Abuse limits (see switchboard.limits); 0 turns one off.
    login_account_limit: int = Field(default=10, ge=0)
    login_account_window_seconds: float = Field(default=300.0, gt=0)
    auth_address_limit: int = Field(default=30, ge=0)
    auth_address_window_seconds: float = Field(default=60.0, gt=0)
    user_message_rate: float = Field(default=10.0, ge=0)
    # Sockets one user may hold in one namespace on one node (tabs, devices).
    max_sockets_per_user: int = Field(default=50, ge=0)

    # Beyond the SPEC's table: operational knobs with production-sane defaults.
    data_dir: Path = Path("./data")
    # SQLite writes on the event loop (no thread hand-off); False: on the writer thread.
    sqlite_inline_writes: bool = True
    cookie_secure: bool = False
    connect_timeout_seconds: float = Field(default=10.0, gt=0)
    max_http_buffer_size: int = Field(default=1_000_000, gt=0)
    # permessage-deflate on the WebSocket fast path (each broadcast compressed once).
    ws_compression: bool = False
    db_pool_size: int = Field(default=10, gt=0)
    db_max_overflow: int = Field(default=20, ge=0)
    log_level: str = "INFO"
    log_json: bool = False
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    notification_retention_days: int = Field(default=30, ge=0)
    scheduler_interval_seconds: float = Field(default=1.0, gt=0)
    node_id: str | None = None
    # Cluster presence: a node that stops beating for this long is declared dead
    # and its sockets go offline (within ttl + ttl/3; keep it under 30 s).
    node_ttl_seconds: float = Field(default=15.0, gt=0, le=60)

    # Host-token trust (docs/host-auth.md): set the algorithms to accept the host
    # app's JWTs instead of issuing our own. Empty: Switchboard's own HS256 tokens.
    jwt_algorithms: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # A PEM public key, or the path of a file holding one (RS*/PS*/ES* algorithms).
    jwt_public_key: str | None = None
    jwks_url: str | None = None
    jwks_cache_seconds: float = Field(default=300.0, gt=0)
    # An unknown `kid` refetches the key set at most this often (rotation vs. floods).
    jwks_refresh_min_seconds: float = Field(default=30.0, ge=0)
    jwks_timeout_seconds: float = Field(default=5.0, gt=0)
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_user_claim: str = Field(default="sub", min_length=1, max_length=100)
    # Written as the environment would (comma list), so that the default reads the same.
    jwt_name_claims: Annotated[list[str], NoDecode] = Field(
        default="name,preferred_username,email", validate_default=True
    )
    # Where tokens are read from, HTTP and sockets alike (switchboard.auth.credentials).
    auth_cookie: str = Field(default="auth_token", pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
    auth_header: str = Field(default="authorization", pattern=r"^[A-Za-z0-9-]{1,100}$")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip().rstrip("/") for o in value.split(",") if o.strip()]
        return value

    @field_validator("jwt_algorithms", "jwt_name_claims", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("auth_header", mode="after")
    @classmethod
    def _lower_header(cls, value: str) -> str:
        return value.lower()

    @field_validator(
        "api_key",
        "jwt_secret",
        "redis_url",
        "jwt_public_key",
        "jwks_url",
        "jwt_issuer",
        "jwt_audience",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("redis_url")
    @classmethod
    def _backend_url(cls, value: str | None) -> str | None:
        return None if value is None else check_url(value)

    @property
    def host_tokens(self) -> bool:
        """Whether the host app's JWTs are trusted (and our own are not issued)."""
        return bool(self.jwt_algorithms)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def resolved_jwt_secret(self) -> str:
        """The HS256 key: configured, or generated once per data dir outside production."""
        if self.jwt_secret:
            return self.jwt_secret
        if self.env == "production":
            raise ConfigError(
                "SWITCHBOARD_JWT_SECRET is required when SWITCHBOARD_ENV=production; "
                "set it to a long random string (e.g. `openssl rand -hex 32`)."
            )
        path = self.data_dir / _SECRET_FILE
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        # Written with owner-only permissions: it signs every session.
        path.touch(mode=0o600)
        path.write_text(secret)
        return secret


def load_settings(**overrides: object) -> Settings:
    """Build Settings from the environment, turning validation errors into one line."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(f"invalid setting SWITCHBOARD_{field.upper()}: {first['msg']}") from None
    problem = host_token_problem(settings)
    if problem is not None:
        raise ConfigError(problem)
    if settings.env == "production" and not settings.jwt_secret and not settings.host_tokens:
        settings.resolved_jwt_secret()  # raises the clear ConfigError
    return settings


HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)


def host_token_problem(settings: Settings) -> str | None:
    """Why the host-token settings cannot work together, or None.

    Refused: `none`; an algorithm set mixing HMAC with public-key algorithms
    (a public key must never be usable as an HMAC secret: algorithm
    confusion); a key source that does not fit the algorithms.
    """
    algorithms = settings.jwt_algorithms
    key_sources = [
        name
        for name, value in (
            ("SWITCHBOARD_JWT_PUBLIC_KEY", settings.jwt_public_key),
            ("SWITCHBOARD_JWKS_URL", settings.jwks_url),
        )
        if value
    ]
    if not algorithms:
        if key_sources or settings.jwt_issuer or settings.jwt_audience:
            return (
                "invalid setting SWITCHBOARD_JWT_ALGORITHMS: required with "
                + (", ".join(key_sources) or "SWITCHBOARD_JWT_ISSUER/SWITCHBOARD_JWT_AUDIENCE")
                + " (e.g. RS256)"
            )
        return None
    unknown = [a for a in algorithms if a not in HMAC_ALGORITHMS | ASYMMETRIC_ALGORITHMS]
    if unknown:
        return (
            f"invalid setting SWITCHBOARD_JWT_ALGORITHMS: {', '.join(unknown)} not accepted "
            f"(one of {', '.join(sorted(HMAC_ALGORITHMS | ASYMMETRIC_ALGORITHMS))}; never none)"
        )
    hmac = set(algorithms) & HMAC_ALGORITHMS
    if hmac and len(hmac) != len(set(algorithms)):
        return (
            "invalid setting SWITCHBOARD_JWT_ALGORITHMS: HMAC (HS*) and public-key algorithms "
            "cannot be mixed (a public key would be accepted as an HMAC secret)"
        )
    if hmac:
        if key_sources:
            return (
                f"invalid setting {key_sources[0]}: "
                "HS* algorithms verify with SWITCHBOARD_JWT_SECRET"
            )
        if not settings.jwt_secret:
            return (
                "invalid setting SWITCHBOARD_JWT_SECRET: "
                "required for HS* host tokens (the host's secret)"
            )
        return None
    if len(key_sources) != 1:
        return (
            "invalid setting SWITCHBOARD_JWT_PUBLIC_KEY: public-key algorithms need exactly one "
            "of SWITCHBOARD_JWT_PUBLIC_KEY or SWITCHBOARD_JWKS_URL"
        )
    if settings.jwks_url and not settings.jwks_url.startswith(("https://", "http://")):
        return "invalid setting SWITCHBOARD_JWKS_URL: an http(s) URL"
    return None
