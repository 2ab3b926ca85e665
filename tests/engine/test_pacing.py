"""Pacing: a 429 with a reset time holds the whole account back; budgets refill and allow bursts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from postpost.db.models import Connection, RateBucket
from postpost.engine.pacing import Candidate, admit
from postpost.platforms.descriptor import Pacing, RateWindow
from tests.engine.conftest import wait_until


def moment(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


async def test_a_429_holds_the_whole_account_until_its_reset(engine):
    user = await engine.user()
    held = await engine.sandbox(user, "mastodon")
    other = await engine.sandbox(user, "mastodon")
    first = await engine.create(user, "limited #sandbox:rate-limit-once", [held])

    async def limited() -> bool:
        return any(e["event"] == "publish_failed" for e in await engine.logs(user, first))

    await wait_until(limited, 10.0)
    # the 429 announced a reset; a post due now on that account waits for it, another account does not
    later = await engine.create(user, "same account, due during the hold", [held])
    control = await engine.create(user, "another account, not held", [other])
    for group in (first, later, control):
        assert (await engine.wait_finished(user, group, 10.0))["status"] == "published"
    async with engine.database.session() as session:
        hold = await session.scalar(
            select(Connection.hold_until).where(Connection.account_id == held.split("-", 1)[1])
        )
    assert hold is not None
    sent = {p["text"]: moment(p["at"]) for p in await engine.sent()}
    assert sent["same account, due during the hold"] >= hold - timedelta(milliseconds=5)
    failed = [e for e in await engine.logs(user, first) if e["event"] == "publish_failed"]
    assert failed[0]["metadata"]["errorCode"] == "RATE_LIMITED"


async def test_budget_admits_bursts_then_defers(database):
    pacing = Pacing(per_account=(RateWindow(2, 60),), per_app=(RateWindow(3, 3600),))
    now = datetime.now(UTC)
    first = [Candidate(f"p{i}", "lab", "c1", pacing) for i in range(3)]
    async with database.session() as session:
        waiting = await admit(session, first, now)
        await session.commit()
    assert set(waiting) == {"p2"}  # a burst of two passes at once, the third waits for a token
    assert timedelta(seconds=29) <= waiting["p2"] - now <= timedelta(seconds=31)
    async with database.session() as session:
        # another account shares the app budget: one token left there
        waiting = await admit(
            session, [Candidate("q0", "lab", "c2", pacing), Candidate("q1", "lab", "c2", pacing)], now
        )
        await session.commit()
        keys = ["app:lab:3600", "acct:c1:60", "acct:c2:60"]
        buckets = {
            b.key: b.tokens for b in await session.scalars(select(RateBucket).where(RateBucket.key.in_(keys)))
        }
    assert set(waiting) == {"q1"}
    assert buckets["app:lab:3600"] < 1 and buckets["acct:c2:60"] == 1
    async with database.session() as session:
        later = await admit(session, [Candidate("p2", "lab", "c1", pacing)], now + timedelta(seconds=31))
    assert list(later) == ["p2"]  # its account budget refilled, the app budget has not
