"""The doctor's platform reachability: unreachable is a warning, unless real accounts need that platform."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from postpost.config import Settings, async_database_url
from postpost.db.migrate import upgrade
from postpost.db.session import Database
from postpost.security import SecretBox
from postpost.services import accounts, connections
from postpost.services.doctor import Report, diagnose
from postpost.services.instance import verify_secret_key
from tests.conftest import SECRET


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def fresh_url(engine_name: str, new_database_url: Callable[[str], str]) -> str:
    return new_database_url(engine_name)


async def run(fresh_url: str, tmp_path_factory: pytest.TempPathFactory, base_urls: dict[str, str]) -> Report:
    data_dir = tmp_path_factory.mktemp("doctor")
    return await diagnose(
        lambda: Settings(database_url=fresh_url, secret_key=SECRET, data_dir=data_dir),  # type: ignore[arg-type]
        base_urls=base_urls,
        reach_seconds=2.0,
    )


async def test_reachability(
    fresh_url: str, simulator_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    database = Database(async_database_url(fresh_url))
    try:
        await upgrade(database)
        base_urls = {"mastodon": f"{simulator_url}/mastodon", "bluesky": closed_port_url()}
        report = await run(fresh_url, tmp_path_factory, base_urls)
        reach = {c.name: c for c in report.checks if c.name.startswith("reach ")}
        assert reach["reach mastodon"].status == "ok"
        assert reach["reach bluesky"].status == "warning"
        assert "needed before real bluesky accounts can publish" in reach["reach bluesky"].detail
        assert reach["reach bluesky"].fix and base_urls["bluesky"] in reach["reach bluesky"].fix
        assert report.ok

        async with database.session() as session:  # a sandbox account does not need the real platform
            user = await accounts.create_user(session, "doctor@example.com")
            box = SecretBox(SECRET.encode())
            await connections.add_connection(
                session, box, user_id=user.id, platform="bluesky", account_id="did:plc:sb", is_sandbox=True
            )
            await session.commit()
        assert (await run(fresh_url, tmp_path_factory, base_urls)).ok

        async with database.session() as session:
            await connections.add_connection(
                session, box, user_id=user.id, platform="bluesky", account_id="did:plc:r"
            )
            await session.commit()
        report = await run(fresh_url, tmp_path_factory, base_urls)
        failed = [c for c in report.checks if c.status == "failed"]
        assert [c.name for c in failed] == ["reach bluesky"]
        assert "real bluesky accounts are connected and cannot publish" in failed[0].detail
        assert not report.ok and report.as_json()["ok"] is False
    finally:
        await database.dispose()


async def test_generated_key_file_states(tmp_path_factory: pytest.TempPathFactory) -> None:
    data_dir = tmp_path_factory.mktemp("keyless")
    settings = Settings(data_dir=data_dir)  # SQLite in data_dir, no POSTPOST_SECRET_KEY

    async def key_check() -> tuple[str, str]:
        report = await diagnose(lambda: settings, base_urls={}, reach_seconds=1.0)
        [check] = [c for c in report.checks if c.name == "secret key"]
        return check.status, check.detail

    database = Database(settings.resolved_database_url)
    try:
        await upgrade(database)
        assert await key_check() == (
            "ok",
            f"none yet: generated into {data_dir / 'secret.key'} at first start",
        )
        assert not (data_dir / "secret.key").exists()  # the doctor generates nothing
        async with database.session() as session:
            await verify_secret_key(session, settings.resolved_secret_key, source=settings.key_source)
        assert await key_check() == (
            "ok",
            f"key file {data_dir / 'secret.key'}; fingerprint matches the database",
        )
        (data_dir / "secret.key").unlink()
        status, detail = await key_check()
        assert status == "failed" and "is missing, but the database was set up with a key" in detail
    finally:
        await database.dispose()
