"""A real `postpost worker` SIGKILLed in the middle of a delivery, on PostgreSQL: once its lease
expires another worker delivers the event again, with the same event id and a valid signature."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from postpost.api.app import create_app
from postpost.config import Settings, async_database_url
from postpost.db.migrate import upgrade
from postpost.db.models import WebhookDelivery
from postpost.db.session import Database
from postpost.net.url_guard import UrlGuard
from postpost.security import KeyHasher
from postpost.services import accounts, events
from tests.conftest import SECRET
from tests.engine.conftest import UNLIMITED, wait_until
from tests.webhooks.conftest import failed_event, verify_delivery, verify_signature

POSTPOST = Path(sys.executable).with_name("postpost")
EXTRA = 20


@pytest.fixture
def engine_name() -> str:
    return "postgresql"


def spawn(database_url: str, log_dir: Path, n: int) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("POSTPOST_")},
        "POSTPOST_DATABASE_URL": database_url,
        "POSTPOST_SECRET_KEY": SECRET,
        "POSTPOST_DATA_DIR": str(log_dir),
        "POSTPOST_SANDBOX_URL": "http://127.0.0.1:9/unused",
        "POSTPOST_WEBHOOKS_ALLOW_PRIVATE": "true",
        "POSTPOST_WEBHOOK_TIMEOUT_SECONDS": "3",
        "POSTPOST_WEBHOOK_LEASE_SECONDS": "1",  # raised to timeout + 5 s = 8 s
        "POSTPOST_DB_POOL_SIZE": "4",  # parallel test processes share the server's connections
    }
    log = (log_dir / f"worker-{n}.log").open("wb")
    return subprocess.Popen([POSTPOST, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.mark.slow
async def test_sigkilled_worker_mid_delivery_is_redelivered_with_the_same_event_id(
    webhook_database_url, tmp_path, receiver
):
    database = Database(async_database_url(webhook_database_url))
    await upgrade(database)
    settings = Settings(database_url=webhook_database_url, secret_key=SECRET, data_dir=tmp_path)  # type: ignore[arg-type]
    app = create_app(settings, database, url_guard=UrlGuard(allow_private=True))
    async with database.session() as session:
        user = await accounts.create_user(session, "crash@example.com", plan="pro")
        user.entitlements = dict(UNLIMITED)
        key = await accounts.create_key(session, KeyHasher(SECRET.encode()), user.id)
        await session.commit()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        r = await client.post(
            "/api/v1/webhooks",
            headers={"x-api-key": key.raw},
            json={"name": "crash", "url": receiver.url("/hook"), "events": ["post.failed"]},
        )
    assert r.status_code == 201, r.text
    secret = r.json()["webhook"]["secret"]

    receiver.hold.add("/hook")  # the first requests hang until the worker is gone
    workers = [spawn(webhook_database_url, tmp_path, 0)]
    try:
        async with database.session() as session:
            await events.emit(session, [failed_event(user.id, f"event {n}", n) for n in range(1 + EXTRA)])
            await session.commit()
        await receiver.wait_for(1, "/hook", 30.0)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(10)
        in_flight = {r.headers["X-PostPost-Event-Id"] for r in receiver.at("/hook")}
        receiver.hold.discard("/hook")
        workers.append(spawn(webhook_database_url, tmp_path, 1))

        async def all_delivered() -> bool:
            async with database.session() as session:
                statuses = Counter(await session.scalars(select(WebhookDelivery.status)))
            return statuses == Counter({"delivered": 1 + EXTRA})

        await wait_until(all_delivered, 60.0, lambda: "not every event was delivered after the kill")
    finally:
        for process in workers:
            if process.poll() is None:
                process.terminate()
        for process in workers:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        await app.state.services.webhook_client.close()
        await database.dispose()

    assert workers[0].returncode == -signal.SIGKILL and workers[1].returncode == 0
    received = receiver.at("/hook")
    by_id: dict[str, list[bytes]] = {}
    for request in received:
        assert verify_signature(secret, request.body, request.headers["X-PostPost-Signature"])
        assert verify_delivery(secret, request.headers, request.body)
        by_id.setdefault(request.headers["X-PostPost-Event-Id"], []).append(request.body)
    assert len(by_id) == 1 + EXTRA  # every event arrived (at least once)
    assert in_flight, "the kill hit no delivery in flight"
    for event_id in in_flight:  # those in flight when the worker died came again, unchanged
        bodies = by_id[event_id]
        assert len(bodies) >= 2 and len(set(bodies)) == 1
