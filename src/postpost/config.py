"""Settings, read from `POSTPOST_*` environment variables (see docs/configuration.md)."""

from __future__ import annotations

import contextlib
import os
import secrets
from functools import cached_property
from pathlib import Path

import platformdirs
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from postpost.errors import Misconfigured

MISSING_KEY = (
    "POSTPOST_SECRET_KEY is not set. With PostgreSQL every process (serve, worker and each CLI "
    "command, on every host) must use one shared secret key: generate it once, e.g. "
    "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`, and set POSTPOST_SECRET_KEY "
    "to that value in the environment of every postpost process."
)


def default_data_dir() -> Path:
    """The per-user data directory (e.g. ~/.local/share/postpost), whatever the working directory."""
    return Path(platformdirs.user_data_dir("postpost", appauthor=False))


class Settings(BaseSettings):
    """Every tunable of the service. Built once by the CLI (or a test) and passed down."""

    model_config = SettingsConfigDict(env_prefix="POSTPOST_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
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
    publish_ceiling_seconds: float = 600.0
    db_pool_size: int = 20
    # this server's OAuth app on each platform (client id and secret); see docs/configuration.md
    twitter_client_id: str | None = None
    twitter_client_secret: SecretStr | None = None
    linkedin_client_id: str | None = None
    linkedin_client_secret: SecretStr | None = None
    facebook_client_id: str | None = None
    facebook_client_secret: SecretStr | None = None
    instagram_client_id: str | None = None
    instagram_client_secret: SecretStr | None = None
    threads_client_id: str | None = None
    threads_client_secret: SecretStr | None = None
    tiktok_client_id: str | None = None
    tiktok_client_secret: SecretStr | None = None
    youtube_client_id: str | None = None
    youtube_client_secret: SecretStr | None = None
    allow_private_instances: bool = False  # connect pages may reach instances on private addresses
    token_upkeep_interval_seconds: float = 3600.0
    media_max_bytes: int = 512 * 1024 * 1024
    media_sweep_interval_seconds: float = 3600.0
    media_incomplete_max_age_seconds: float = 2 * 3600.0
    media_unscheduled_max_age_seconds: float = 30 * 86400.0
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_public_url: str | None = None
    webhooks_allow_private: bool = False
    webhook_timeout_seconds: float = 10.0
    webhook_retry_seconds: list[float] = Field(default_factory=lambda: [30.0, 300.0])
    webhook_concurrency: int = 128
    webhook_concurrency_per_webhook: int = 8
    webhook_lease_seconds: float = 60.0
    # X bookmarks: the auto-sync period (3 times a day; 0 turns it off), and how often the
    # workers look for bookmark media to download
    x_bookmarks_sync_interval_seconds: float = 28_800.0
    x_bookmarks_poll_seconds: float = 5.0
    # the dashboard: whether anyone may create an account at /sign-up, and the plan they get;
    # failed sign-ins allowed per email and address within the window before it answers 429
    signup: bool = True
    signup_plan: str = "pro"
    sign_in_max_failures: int = 5
    sign_in_window_seconds: float = 900.0
    session_max_age_seconds: float = 14 * 86400.0

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

        Taken from POSTPOST_SECRET_KEY. Without it, SQLite uses `<data_dir>/secret.key` (generated
        the first time) and PostgreSQL refuses: processes on several hosts could not share a file.
        """
        if self.secret_key is not None and self.key_configured:
            return self.secret_key.get_secret_value().encode()
        if not self.is_sqlite:
            raise Misconfigured(MISSING_KEY)
        return read_or_create_key_file(self.key_file)

    @property
    def key_configured(self) -> bool:
        """Whether POSTPOST_SECRET_KEY is set (to something non-empty)."""
        return self.secret_key is not None and bool(self.secret_key.get_secret_value())

    @property
    def key_source(self) -> str:
        """Where the secret key comes from, for messages (never the key itself)."""
        if self.key_configured:
            return "POSTPOST_SECRET_KEY"
        return f"key file {self.key_file}"

    @property
    def key_file(self) -> Path:
        """Where the generated key lives when POSTPOST_SECRET_KEY is not set (SQLite only)."""
        return self.data_dir / "secret.key"

    def platform_app(self, platform: str) -> dict[str, str]:
        """This server's client id and secret on `platform` (empty when not configured)."""
        client_id = getattr(self, f"{platform}_client_id", None)
        secret = getattr(self, f"{platform}_client_secret", None)
        app: dict[str, str] = {}
        if client_id:
            app["client_id"] = client_id
        if secret is not None:
            app["client_secret"] = secret.get_secret_value()
        return app

    @property
    def media_dir(self) -> Path:
        """Where the local storage backend keeps media files."""
        return self.data_dir / "media"

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


def read_or_create_key_file(path: Path) -> bytes:
    """The key stored at `path`, generated first if the file does not exist.

    The new key is written to a private (0600) draft file that is then hard-linked into place:
    the key file never exists half-written or readable by others, and when several processes
    create it at once exactly one wins and every one of them reads the winner's key.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_urlsafe(32) + "\n")
                file.flush()
                os.fsync(file.fileno())
            with contextlib.suppress(FileExistsError):  # another process created it first: use its key
                os.link(draft, path)
        finally:
            draft.unlink()
    key = path.read_text().strip()
    if not key:
        raise Misconfigured(f"The secret key file {path} is empty: restore it or set POSTPOST_SECRET_KEY.")
    return key.encode()
