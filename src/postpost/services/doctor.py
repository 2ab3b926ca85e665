"""`postpost doctor`: check an installation and say what to fix. It only reads; it changes nothing.

Checks, in order: the configuration loads; the database is reachable (and which engine); its
schema is at the newest migration; the secret key is present and is the key the database was set
up with; sandbox on or off; each platform's API can be reached from this host. Only a failed check
fails the doctor; an unreachable platform is a warning unless real (non-sandbox) accounts need it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from postpost.config import MISSING_KEY, Settings
from postpost.db.migrate import current_revision, head_revision
from postpost.db.models import Connection
from postpost.db.session import Database
from postpost.platforms.registry import descriptors
from postpost.services.instance import key_matches, recorded_fingerprint

Status = Literal["ok", "warning", "failed"]
DATABASE_TIMEOUT = 10.0  # seconds
REACH_TIMEOUT = 3.0  # seconds per platform URL


@dataclass(frozen=True)
class Check:
    """One line of the report; `fix` says what to do when the status is not ok."""

    name: str
    status: Status
    detail: str
    fix: str | None = None


@dataclass
class Report:
    """Every check that ran, and where the data lives."""

    checks: list[Check] = field(default_factory=list)
    data_dir: str | None = None
    database: dict[str, str] | None = None

    @property
    def ok(self) -> bool:
        return all(check.status != "failed" for check in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "dataDir": self.data_dir,
            "database": self.database,
            "checks": [asdict(check) for check in self.checks],
        }


@dataclass
class _DatabaseFacts:
    reachable: bool = False
    revision: str | None = None
    fingerprint: str | None = None
    real_platforms: set[str] | None = None


async def diagnose(
    load_settings: Callable[[], Settings],
    *,
    base_urls: Mapping[str, str] | None = None,
    reach_seconds: float = REACH_TIMEOUT,
) -> Report:
    """Run every check; `base_urls` are the platform API origins to try (platform → URL; by
    default each platform descriptor's API origin)."""
    if base_urls is None:
        base_urls = {name: d.endpoints["api"] for name, d in descriptors().items()}
    report = Report()
    try:
        settings = load_settings()
    except (ValidationError, ValueError) as exc:
        fix = "Correct the POSTPOST_* environment variable named above (see docs/configuration.md)."
        report.checks.append(Check("configuration", "failed", " ".join(str(exc).split()), fix))
        return report
    report.data_dir = str(settings.data_dir)
    report.checks.append(Check("configuration", "ok", f"settings load; data directory {settings.data_dir}"))
    engine = "sqlite" if settings.is_sqlite else "postgresql"
    report.database = {"engine": engine, "location": _location(settings)}
    facts = await _database_facts(settings, report)
    if facts.reachable:
        report.checks.append(_schema_check(facts.revision))
    report.checks.append(_key_check(settings, facts))
    report.checks.append(_sandbox_check(settings))
    report.checks.extend(await _reach_checks(base_urls, facts.real_platforms, reach_seconds))
    return report


def _location(settings: Settings) -> str:
    url = make_url(settings.resolved_database_url)
    if settings.is_sqlite:
        return str(Path(url.database or "").resolve())
    return f"{url.host or 'localhost'}:{url.port or 5432}/{url.database}"


async def _database_facts(settings: Settings, report: Report) -> _DatabaseFacts:
    facts = _DatabaseFacts()
    assert report.database is not None
    engine, location = report.database["engine"], report.database["location"]
    if _sqlite_file_missing(settings, location):
        report.checks.append(
            Check(
                "database",
                "failed",
                f"sqlite: no database at {location} yet",
                "Start `postpost serve` or run `postpost db upgrade` to create it "
                "(or point POSTPOST_DATA_DIR / POSTPOST_DATABASE_URL at the existing one).",
            )
        )
        return facts
    database = Database(settings.resolved_database_url)
    try:
        await asyncio.wait_for(_read_facts(database, facts), DATABASE_TIMEOUT)
    except Exception as exc:  # any failure to read the database is the finding
        problem = "cannot read it" if facts.reachable else "cannot connect"
        facts.reachable = False
        report.checks.append(
            Check(
                "database",
                "failed",
                f"{engine} at {location}: {problem} ({type(exc).__name__}: {_first_line(exc)})",
                "Check POSTPOST_DATABASE_URL, and that the database server is running and accepts "
                "connections from this host.",
            )
        )
        return facts
    finally:
        await database.dispose()
    report.checks.append(Check("database", "ok", f"{engine} at {location}"))
    return facts


def _sqlite_file_missing(settings: Settings, location: str) -> bool:
    return settings.is_sqlite and not Path(location).exists()


async def _read_facts(database: Database, facts: _DatabaseFacts) -> None:
    async with database.session() as session:
        await session.execute(text("SELECT 1"))
    facts.reachable = True
    facts.revision = await current_revision(database)
    if facts.revision != head_revision():
        return  # the tables may not be as this version knows them
    async with database.session() as session:
        facts.real_platforms = set(
            await session.scalars(
                select(Connection.platform).where(Connection.is_sandbox.is_(False)).distinct()
            )
        )
        facts.fingerprint = await recorded_fingerprint(session)


def _schema_check(revision: str | None) -> Check:
    head = head_revision()
    if revision == head:
        return Check("schema", "ok", f"at the newest migration ({head})")
    if revision is None:
        return Check(
            "schema",
            "failed",
            "empty database (no migration applied)",
            "Run `postpost db upgrade` (every postpost command also migrates at start).",
        )
    return Check(
        "schema",
        "failed",
        f"at migration {revision}, this postpost expects {head}",
        "Run `postpost db upgrade`; if the database is ahead, it was migrated by a newer postpost: "
        "upgrade postpost on this host.",
    )


def _key_check(settings: Settings, facts: _DatabaseFacts) -> Check:
    configured = settings.key_configured
    if not configured and not settings.is_sqlite:
        return Check(
            "secret key", "failed", "POSTPOST_SECRET_KEY is not set (required with PostgreSQL)", MISSING_KEY
        )
    if not configured and not settings.key_file.exists():
        if facts.fingerprint is not None:
            return Check(
                "secret key",
                "failed",
                f"key file {settings.key_file} is missing, but the database was set up with a key",
                "Restore the original secret.key file (or set POSTPOST_SECRET_KEY to that key).",
            )
        return Check("secret key", "ok", f"none yet: generated into {settings.key_file} at first start")
    if not key_matches(settings.resolved_secret_key, facts.fingerprint):  # the key file exists by now
        return Check(
            "secret key",
            "failed",
            f"{settings.key_source} is not the key this database was set up with",
            "Start every process with the original key: set POSTPOST_SECRET_KEY to it, or restore the "
            "secret.key file it was generated into.",
        )
    if not facts.reachable:
        recorded = "not checked (database unreadable)"
    else:
        recorded = "matches the database" if facts.fingerprint else "not recorded in the database yet"
    return Check("secret key", "ok", f"{settings.key_source}; fingerprint {recorded}")


def _sandbox_check(settings: Settings) -> Check:
    if settings.sandbox:
        return Check(
            "sandbox",
            "ok",
            f"on: fake Mastodon and Bluesky served at /sandbox; sandbox connections publish to "
            f"{settings.resolved_sandbox_url()}. Set POSTPOST_SANDBOX=false on a production server.",
        )
    return Check("sandbox", "ok", "off: only real accounts can publish; sandbox connections fail.")


async def _reach_checks(
    base_urls: Mapping[str, str], real_platforms: set[str] | None, seconds: float
) -> list[Check]:
    async with httpx.AsyncClient(timeout=seconds, follow_redirects=False) as client:
        results = await asyncio.gather(*(_reach(client, url) for url in base_urls.values()))
    checks = []
    for (platform, url), problem in zip(base_urls.items(), results, strict=True):
        name = f"reach {platform}"
        if problem is None:
            checks.append(Check(name, "ok", f"{url} answers"))
            continue
        needed = real_platforms is not None and platform in real_platforms
        status: Status = "failed" if needed else "warning"
        consequence = (
            f"real {platform} accounts are connected and cannot publish"
            if needed
            else f"needed before real {platform} accounts can publish"
        )
        checks.append(
            Check(
                name,
                status,
                f"{url} unreachable ({problem}); {consequence}",
                f"Allow outbound HTTPS from this host to {url} (firewall, or HTTPS_PROXY).",
            )
        )
    return checks


async def _reach(client: httpx.AsyncClient, url: str) -> str | None:
    """None when `url` answers anything at all, else what went wrong."""
    try:
        await client.head(url)
    except httpx.HTTPError as exc:
        return type(exc).__name__
    return None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else "no detail"
