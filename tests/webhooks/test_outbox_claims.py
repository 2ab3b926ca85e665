"""The outbox claim on both engines: due deliveries and expired leases are claimed, live leases
are not, and a webhook never has more than its share leased."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from postpost.config import async_database_url
from postpost.db.models import Webhook, WebhookDelivery
from postpost.db.session import Database
from postpost.engine.webhook_outbox import claim_deliveries
from postpost.ids import utcnow
from postpost.services import accounts, events
from tests.webhooks.conftest import failed_event

LEASE = timedelta(seconds=60)


@pytest.fixture
def fresh_url(engine_name: str, migrated_database_url: Callable[[str], str]) -> str:
    return migrated_database_url(engine_name)


async def _claim(database: Database, limit: int, per_webhook: int = 100) -> list[str]:
    async with database.writing(), database.engine.connect() as conn:
        jobs = await claim_deliveries(conn, now=utcnow(), limit=limit, lease=LEASE, per_webhook=per_webhook)
        await conn.commit()
    return sorted(job.delivery_id for job in jobs)


async def test_claims_due_deliveries_and_expired_leases_only(fresh_url: str) -> None:
    database = Database(async_database_url(fresh_url))
    try:
        async with database.session() as session:
            user = await accounts.create_user(session, "outbox@example.com", plan="pro")
            session.add(
                Webhook(
                    user_id=user.id, name="h", url="https://8.8.8.8/h", events=["post.failed"], secret="x"
                )
            )
            await session.flush()
            await events.emit(session, [failed_event(user.id, f"event {n}", n) for n in range(5)])
            await session.commit()
        async with database.session() as session:
            ids = sorted(await session.scalars(select(WebhookDelivery.id)))
        assert len(ids) == 5

        first = await _claim(database, limit=10, per_webhook=3)  # the webhook's share caps the claim
        assert len(first) == 3
        assert await _claim(database, limit=10, per_webhook=3) == []  # its share is leased
        rest = sorted(set(ids) - set(first))
        assert await _claim(database, limit=10) == rest  # a bigger share: the two still pending

        async with database.session() as session:  # one lease runs out
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == first[0])
                .values(lease_expires_at=utcnow() - timedelta(seconds=1))
            )
            await session.commit()
        assert await _claim(database, limit=10) == [first[0]]
        async with database.session() as session:
            attempts = dict(
                (row.id, row.attempts)
                for row in await session.execute(select(WebhookDelivery.id, WebhookDelivery.attempts))
            )
        assert attempts == {i: 2 if i == first[0] else 1 for i in ids}
    finally:
        await database.dispose()
