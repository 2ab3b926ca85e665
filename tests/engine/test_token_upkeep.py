"""Token upkeep: refresh before a connection runs out (rotating refresh tokens included), refused
refreshes mark the connection expired, `token.expiring` is noticed once, one process runs the job,
and a post due on an expired connection fails at once."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from postpost.db.models import Connection, Event, JobLease, User
from postpost.ids import iso, utcnow
from postpost.platforms.registry import Adapters
from postpost.security import SecretBox
from postpost.services.connect_flows import Completed, ConnectFlows
from postpost.services.connect_links import LinkSigner
from postpost.services.credentials import CredentialStore
from postpost.services.job_leases import hold_lease, release_lease
from postpost.services.token_upkeep import TokenUpkeep, UpkeepResult, upkeep_once
from tests.conftest import SECRET, TestUser
from tests.engine.conftest import Harness, wait_until

BOX = SecretBox(SECRET.encode())


async def upkeep(harness: Harness, *, sandbox: bool = True) -> UpkeepResult:
    adapters = Adapters(timeout=5.0)
    try:
        store = CredentialStore(harness.database, BOX, harness.simulator)
        return await upkeep_once(harness.database, store, adapters, now=utcnow(), sandbox=sandbox)
    finally:
        await adapters.close()


async def row_of(harness: Harness, platform_id: str) -> Connection:
    platform, account = platform_id.split("-", 1)
    async with harness.database.session() as session:
        row = await session.scalar(
            select(Connection).where(Connection.platform == platform, Connection.account_id == account)
        )
        assert row is not None
        return row


async def change(
    harness: Harness, platform_id: str, *, secrets: dict[str, Any] | None = None, **values: Any
) -> None:
    row = await row_of(harness, platform_id)
    if secrets is not None:
        values["secrets"] = BOX.encrypt(BOX.decrypt(row.secrets) | secrets)
    async with harness.database.session() as session:
        await session.execute(update(Connection).where(Connection.id == row.id).values(**values))
        await session.commit()


async def connect_linkedin_with_refresh_token(harness: Harness, user: TestUser) -> str:
    """A LinkedIn sandbox account connected through the OAuth flow (the fake grants refresh tokens)."""
    adapters = Adapters(timeout=5.0)
    links = LinkSigner(SECRET.encode(), harness.settings.base_url())
    try:
        async with harness.database.session() as session:
            found = await session.get(User, user.id)
            assert found is not None
            link = await links.issue(session, found, days=1, rotate=True)
            await session.commit()
        token = link.url.rsplit("/", 1)[1]
        flows = ConnectFlows(harness.settings, harness.database, BOX, adapters, links, harness.simulator)
        url = await flows.begin(token, "linkedin", sandbox=True)
        async with httpx.AsyncClient() as browser:
            back = await browser.get(url)
        query = dict(httpx.URL(back.headers["location"]).params)
        done = await flows.complete("linkedin", query)
        assert isinstance(done, Completed)
        return done.platform_ids[0]
    finally:
        await adapters.close()


async def test_rotating_refresh_token_is_renewed_before_the_connection_ends(harness: Harness) -> None:
    user = await harness.user()
    pid = await harness.sandbox(user, "tiktok")
    await change(harness, pid, access_token_expires_at=datetime.now(UTC) + timedelta(days=2))
    before = await row_of(harness, pid)
    spent = BOX.decrypt(before.secrets)["refresh_token"]
    assert (await harness.connection(user, pid))["tokenStatus"] == "expiring_soon"

    result = await upkeep(harness)
    assert result == UpkeepResult(refreshed=1)
    after = await row_of(harness, pid)
    assert after.secrets_version == before.secrets_version + 1
    assert after.access_token_expires_at is not None
    assert after.access_token_expires_at > datetime.now(UTC) + timedelta(days=300)
    assert BOX.decrypt(after.secrets)["refresh_token"] != spent
    assert (await harness.connection(user, pid))["tokenStatus"] == "valid"
    reused = await harness.control.post(
        "/tiktok/v2/oauth/token/",
        data={
            "client_key": "sandbox",
            "client_secret": "sandbox",
            "grant_type": "refresh_token",
            "refresh_token": spent,
        },
    )
    assert reused.status_code == 400, "the old refresh token was spent: the new one had to be stored"
    assert await upkeep(harness) == UpkeepResult(), "nothing is due any more"


async def test_linkedin_refresh_extends_the_connection(harness: Harness) -> None:
    user = await harness.user()
    pid = await connect_linkedin_with_refresh_token(harness, user)
    row = await row_of(harness, pid)
    assert (
        "refresh_token" in BOX.decrypt(row.secrets)
        and BOX.decrypt(row.secrets)["client_id"] == "postpost-sandbox"
    )
    await change(harness, pid, access_token_expires_at=datetime.now(UTC) + timedelta(days=7, hours=12))
    assert await upkeep(harness) == UpkeepResult(refreshed=1)
    after = await row_of(harness, pid)
    assert after.access_token_expires_at is not None
    assert after.access_token_expires_at > datetime.now(UTC) + timedelta(days=59)
    check = await harness.client.post(f"/api/v1/test-connection/{pid}", headers=user.headers)
    assert check.json()["status"] == "ok", "the refreshed access token works"


async def test_refused_refresh_marks_the_connection_expired(harness: Harness) -> None:
    user = await harness.user()
    pid = await harness.sandbox(user, "tiktok")
    await change(
        harness,
        pid,
        access_token_expires_at=datetime.now(UTC) + timedelta(days=3),
        secrets={"refresh_token": "revoked-by-the-user"},
    )
    assert await upkeep(harness) == UpkeepResult(expired=1)
    shown = await harness.connection(user, pid)
    assert shown["tokenStatus"] == "expired" and shown["tokenExpiresIn"] == "expired"
    assert "refresh" in shown["lastError"]["message"].lower()
    assert await upkeep(harness) == UpkeepResult(), "an expired connection is left for its owner to reconnect"


async def test_post_due_on_an_expired_connection_fails_at_once(engine: Harness) -> None:
    user = await engine.user()
    expired = await engine.sandbox(user, "linkedin")
    alive = await engine.sandbox(user, "mastodon")
    await change(engine, expired, access_token_expires_at=datetime.now(UTC) - timedelta(minutes=1))
    group = await engine.create(user, "to both", [expired, alive])
    got = await engine.wait_finished(user, group)
    assert got["status"] == "partially_published"
    by_platform = {p["platform"]: p for p in got["posts"]}
    assert by_platform["mastodon"]["status"] == "published", "the worker was publishing"
    failed = by_platform["linkedin"]
    assert failed["status"] == "failed" and failed["error"]["code"] == "PLATFORM_AUTH_EXPIRED"
    assert failed["error"]["retryable"] is False
    assert "expired at" in failed["error"]["message"] and "connect page" in failed["error"]["message"]
    assert [p["platform"] for p in await engine.sent()] == ["mastodon"], "LinkedIn was never called"


async def token_events(harness: Harness, user: TestUser) -> list[dict[str, Any]]:
    """The user's stored `token.expiring` events, oldest first, without their timestamps."""
    async with harness.database.session() as session:
        payloads = await session.scalars(
            select(Event.payload)
            .where(Event.user_id == user.id, Event.name == "token.expiring")
            .order_by(Event.seq)
        )
        return [{k: v for k, v in json.loads(p).items() if k != "timestamp"} for p in payloads]


async def test_token_expiring_is_noticed_once_per_expiry(harness: Harness) -> None:
    user = await harness.user()
    soon, later, gone = [await harness.sandbox(user, "linkedin") for _ in range(3)]
    now = datetime.now(UTC)
    await change(harness, soon, access_token_expires_at=now + timedelta(days=3))
    await change(harness, later, access_token_expires_at=now + timedelta(days=30))
    await change(harness, gone, access_token_expires_at=now - timedelta(days=1))
    assert await upkeep(harness) == UpkeepResult(noticed=1)
    marked = await row_of(harness, soon)
    assert await token_events(harness, user) == [
        {
            "event": "token.expiring",
            "data": {
                "platform": "linkedin",
                "platformId": soon,
                "username": marked.username,
                "expiresAt": iso(marked.access_token_expires_at),
            },
        }
    ]
    assert marked.expiry_notice_for == marked.access_token_expires_at
    assert (await row_of(harness, later)).expiry_notice_for is None
    assert await upkeep(harness) == UpkeepResult(), "noticed once"
    assert len(await token_events(harness, user)) == 1
    await change(
        harness, soon, access_token_expires_at=now + timedelta(days=5)
    )  # reconnected, running low again
    assert await upkeep(harness) == UpkeepResult(noticed=1)
    assert len(await token_events(harness, user)) == 2


async def test_sandbox_connections_are_left_alone_without_the_sandbox(harness: Harness) -> None:
    user = await harness.user()
    pid = await harness.sandbox(user, "tiktok")
    await change(harness, pid, access_token_expires_at=datetime.now(UTC) + timedelta(days=2))
    assert await upkeep(harness, sandbox=False) == UpkeepResult(noticed=1)
    assert await upkeep(harness, sandbox=True) == UpkeepResult(refreshed=1)


async def test_job_lease_has_one_holder_at_a_time(harness: Harness) -> None:
    ttl = timedelta(minutes=5)
    assert await hold_lease(harness.database, "job", "a", ttl)
    assert not await hold_lease(harness.database, "job", "b", ttl)
    assert await hold_lease(harness.database, "job", "a", ttl), "the holder renews"
    await release_lease(harness.database, "job", "b")  # not b's to release
    assert not await hold_lease(harness.database, "job", "b", ttl)
    await release_lease(harness.database, "job", "a")
    assert await hold_lease(harness.database, "job", "b", timedelta(milliseconds=1))
    await asyncio.sleep(0.01)
    assert await hold_lease(harness.database, "job", "a", ttl), "a lapsed lease is taken over"


async def test_job_runs_in_one_process_and_lets_go_when_stopped(harness: Harness) -> None:
    user = await harness.user()
    pid = await harness.sandbox(user, "linkedin")
    await change(harness, pid, access_token_expires_at=datetime.now(UTC) + timedelta(days=2))
    settings = harness.settings.model_copy(update={"token_upkeep_interval_seconds": 0.05})
    jobs = [TokenUpkeep(settings, harness.database, sandbox_url=harness.simulator) for _ in range(2)]
    tasks = [asyncio.create_task(job.run()) for job in jobs]

    async def noticed() -> bool:
        return (await row_of(harness, pid)).expiry_notice_for is not None

    await wait_until(noticed, 10)

    async def holder() -> str | None:
        async with harness.database.session() as session:
            lease = await session.get(JobLease, "token-upkeep")
            return lease.holder if lease else None

    first = await holder()
    assert first in {job.holder for job in jobs}
    await asyncio.sleep(0.3)  # several intervals: the lease stays with its holder
    assert await holder() == first
    for job in jobs:
        job.stop()
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    assert await holder() is None, "a clean stop releases the lease"
