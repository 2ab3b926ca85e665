"""Credentials: refresh serialised per connection across workers, stored before use; unreadable secrets."""

from __future__ import annotations

import base64
import json
import time

import httpx
from sqlalchemy import select

from postpost.db.models import Connection
from postpost.security import SecretBox
from postpost.services import connections
from tests.conftest import SECRET


def expired_jwt() -> str:
    """JWT-shaped, expired an hour ago: the adapter must refresh before using it."""

    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256'})}.{part({'exp': int(time.time()) - 3600})}.c2ln"


async def requests_to(harness, method: str) -> int:
    r = await harness.control.get(
        "/_control/requests", params={"platform": "bluesky", "path": f"/xrpc/{method}"}
    )
    return len(r.json()["requests"])


async def test_twenty_posts_on_one_rotating_token_account_refresh_once(harness):
    user = await harness.user()
    pid = await harness.sandbox(user, "bluesky")
    box = SecretBox(SECRET.encode())
    async with harness.database.session() as session:
        connection = await session.scalar(select(Connection).where(Connection.user_id == user.id))
        assert connection is not None
        did = connection.account_id
        # a live session whose access token has just expired: every post must refresh first
        async with httpx.AsyncClient(base_url=harness.simulator) as sim:
            reply = await sim.post(
                "/bluesky/xrpc/com.atproto.server.createSession",
                json={"identifier": did, "password": "sandbox-app-password"},
            )
        tokens = reply.json()
        secrets = box.decrypt(connection.secrets)
        secrets |= {"access_jwt": expired_jwt(), "refresh_jwt": tokens["refreshJwt"]}
        connection.secrets = box.encrypt(secrets)
        await session.commit()
    before = await requests_to(harness, "com.atproto.server.createSession")
    await harness.bulk_create(user, [(f"post {i}", [pid]) for i in range(20)])
    harness.start_workers(2, separate_databases=True)
    await harness.wait_all_finished(20, 30.0)
    sent = await harness.sent()
    assert sorted(p["text"] for p in sent) == sorted(f"post {i}" for i in range(20))
    # one refresh for everyone; the rotated refresh token was never sent twice (that would
    # have been refused and fallen back to a new login)
    assert await requests_to(harness, "com.atproto.server.refreshSession") == 1
    assert await requests_to(harness, "com.atproto.server.createSession") == before
    async with harness.database.session() as session:
        stored = await session.scalar(select(Connection).where(Connection.user_id == user.id))
        assert stored is not None and stored.secrets_version == 1 and stored.refresh_lease_until is None
        fresh = box.decrypt(stored.secrets)
    assert fresh["refresh_jwt"] != tokens["refreshJwt"]  # the new tokens were stored
    info = await harness.connection(user, pid)  # an app-password connection never expires
    assert info["tokenStatus"] == "unknown" and info["accessTokenExpiresAt"] is None


async def test_connection_with_unreadable_secrets_fails_its_posts_only(engine):
    user = await engine.user()
    good = await engine.sandbox(user, "mastodon")
    async with engine.database.session() as session:
        other_key = SecretBox(b"a different POSTPOST_SECRET_KEY")
        broken = await connections.add_connection(
            session,
            other_key,
            user_id=user.id,
            platform="mastodon",
            account_id="777",
            secrets={"access_token": "sandbox.777.x"},
            is_sandbox=True,
        )
        await session.commit()
        broken_id = broken.compound_id
    lost = await engine.create(user, "cannot be sent", [broken_id])
    fine = await engine.create(user, "sent anyway", [good])
    assert (await engine.wait_finished(user, fine))["status"] == "published"
    got = await engine.wait_finished(user, lost)
    [post] = got["posts"]
    assert post["status"] == "failed"
    assert post["error"]["code"] == "PLATFORM_AUTH_EXPIRED" and post["error"]["retryable"] is False
    assert "cannot be decrypted" in post["error"]["message"]
    assert "POSTPOST_SECRET_KEY" in post["error"]["message"]
    assert [p["text"] for p in await engine.sent()] == ["sent anyway"]
    # nothing loops: one attempt, and the worker keeps working
    logs = await engine.logs(user, lost)
    assert [e["event"] for e in logs].count("publish_failed") == 1
    again = await engine.create(user, "still working", [good])
    assert (await engine.wait_finished(user, again))["status"] == "published"


async def test_test_connection_stores_the_session_it_needed(engine):
    user = await engine.user()
    pid = await engine.sandbox(user, "bluesky")
    logins = await requests_to(engine, "com.atproto.server.createSession")
    for _ in range(3):
        r = await engine.client.post(f"/api/v1/test-connection/{pid}", headers=user.headers)
        assert r.status_code == 200 and r.json()["status"] == "ok", r.text
    # the first check logged in and stored the session; the next ones reused it
    assert await requests_to(engine, "com.atproto.server.createSession") == logins + 1
    assert await requests_to(engine, "com.atproto.server.getSession") >= 3
    group = await engine.create(user, "after the checks", [pid])
    assert (await engine.wait_finished(user, group))["status"] == "published"
    assert await requests_to(engine, "com.atproto.server.createSession") == logins + 1
