"""Settings, read from `POSTPOST_*` environment variables (see docs/configuration.md)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every tunable of the service. Built once by the CLI (or a test) and passed down."""

    model_config = SettingsConfigDict(env_prefix="POSTPOST_", extra="ignore")

    data_dir: Path = Field(default=Path("./postpost-data"))
    database_url: str | None = None
    secret_key: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    max_body_bytes: int = 1_048_576
    sandbox: bool = True
    sandbox_url: str | None = None
    workers: int = 1
    worker_concurrency: int = 16
    claim_batch: int = 64
    lease_seconds: float = 60.0
    max_attempts: int = 4
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 900.0
    platform_timeout_seconds: float = 10.0
    db_pool_size: int = 20
    webhooks_allow_private: bool = False
    webhook_timeout_seconds: float = 10.0
    webhook_retry_seconds: list[float] = Field(default_factory=lambda: [30.0, 300.0])
    webhook_concurrency: int = 128
    webhook_concurrency_per_webhook: int = 8
    webhook_lease_seconds: float = 60.0

    @cached_property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy async URL: the configured one, or a SQLite file under data_dir."""
        return async_database_url(self.database_url or f"sqlite:///{self.data_dir / 'postpost.db'}")

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @cached_property
    def resolved_secret_key(self) -> bytes:
        """The key that encrypts tokens and peppers API-key hashes.

        Taken from POSTPOST_SECRET_KEY, else generated once into `<data_dir>/secret.key`.
        """
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.data_dir / "secret.key"
        if not path.exists():
            import secrets

            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip().encode()

    def resolved_sandbox_url(self) -> str | None:
        """Where sandbox connections publish: POSTPOST_SANDBOX_URL, else this server's /sandbox."""
        if not self.sandbox:
            return None
        return (self.sandbox_url or f"{self.base_url()}/sandbox").rstrip("/")

    def base_url(self) -> str:
        """The URL this server is reached at (used to address the mounted sandbox)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"


def async_database_url(url: str) -> str:
    """Map plain `sqlite://` / `postgresql://` URLs to their async driver forms."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.split("://", 1)[1]
    return url
