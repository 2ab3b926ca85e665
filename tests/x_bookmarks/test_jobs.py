"""The workers' X bookmarks jobs: the scheduled auto-sync (one process per run) and media downloads."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import aiohttp
import pytest
from sqlalchemy import delete, select, update

from postpost.db.models import ScheduledJob, XBookmark, XBookmarkMedia, XBookmarkSyncLog
from postpost.ids import new_id, utcnow
from postpost.platforms.registry import Adapters
from postpost.security import SecretBox
from postpost.services import scheduled_jobs
from postpost.services.credentials import CredentialStore
from postpost.services.x_bookmarks.downloads import MAX_ATTEMPTS, MediaDownloader
from postpost.services.x_bookmarks.jobs import JOB_NAME, AutoSync, XBookmarkJobs
from postpost.services.x_bookmarks.sync import BookmarkSyncer
from postpost.storage import open_storage
from tests.conftest import SECRET
from tests.x_bookmarks.conftest import API, bookmark_row, state, store
from tests.x_bookmarks.test_sync import sync
from tests.x_bookmarks.test_user import media_stats

EIGHT_HOURS = timedelta(hours=8)


@pytest.fixture
async def fresh_job(database):
    async with database.session() as session:
        await session.execute(delete(ScheduledJob).where(ScheduledJob.name == JOB_NAME))
        await session.commit()


@pytest.fixture
async def syncer(database, simulator):
    adapters = Adapters()
    yield BookmarkSyncer(database, CredentialStore(database, SecretBox(SECRET.encode()), simulator), adapters)
    await adapters.close()


async def logs(database, user_id):
    async with database.session() as session:
        found = await session.scalars(
            select(XBookmarkSyncLog)
            .where(XBookmarkSyncLog.user_id == user_id)
            .order_by(XBookmarkSyncLog.synced_at)
        )
        return [(log.trigger, log.status, log.inserted, log.updated) for log in found]


async def test_auto_sync_runs_once_per_slot_for_enabled_premium_users(
    live, make_member, database, syncer, fresh_job
):
    synced, other = await make_member(), await make_member()
    disabled, pro, unconnected = (
        await make_member(enabled=False),
        await make_member("pro"),
        await make_member(connect=False),
    )
    assert (await sync(live, synced, 3)).status_code == 200  # a manual sync just before
    first = AutoSync(database, syncer, EIGHT_HOURS)
    ran = await first.run_if_due()
    assert ran is not None and ran >= 2
    assert await logs(database, synced.id) == [("api", "success", 3, 0), ("scheduled", "success", 17, 3)]
    assert await logs(database, other.id) == [("scheduled", "success", 20, 0)]
    for skipped in (disabled, pro, unconnected):
        assert await logs(database, skipped.id) == []
    assert (await state(database, synced.id)).pagination_token is not None  # the manual cursor is kept
    assert (await state(database, other.id)).pagination_token is None
    async with database.session() as session:
        job = await session.get(ScheduledJob, JOB_NAME)
        assert job is not None and job.lease_token is None and job.last_error is None
        assert job.next_run_at > utcnow() and job.next_run_at.timestamp() % EIGHT_HOURS.total_seconds() == 0
    second = AutoSync(database, syncer, EIGHT_HOURS)  # another process, same slot
    assert await second.run_if_due() is None
    assert len(await logs(database, other.id)) == 1


async def test_a_leased_job_is_left_to_its_holder_until_the_lease_ends(database, fresh_job):
    now = utcnow()
    held = await scheduled_jobs.take(database, JOB_NAME, now=now, lease=timedelta(minutes=10))
    assert held is not None
    assert (
        await scheduled_jobs.take(database, JOB_NAME, now=now + timedelta(minutes=5), lease=EIGHT_HOURS)
        is None
    )
    later = now + timedelta(minutes=11)  # the holder died
    taken = await scheduled_jobs.take(database, JOB_NAME, now=later, lease=timedelta(minutes=10))
    assert taken is not None and taken.token != held.token
    assert not await scheduled_jobs.renew(database, held, now=later, lease=timedelta(minutes=10))
    assert await scheduled_jobs.renew(database, taken, now=later, lease=timedelta(minutes=10))
    await scheduled_jobs.finish(database, taken, now=later, next_run_at=later + EIGHT_HOURS)
    assert (
        await scheduled_jobs.take(database, JOB_NAME, now=later + timedelta(hours=1), lease=EIGHT_HOURS)
        is None
    )
    assert (
        await scheduled_jobs.take(database, JOB_NAME, now=later + EIGHT_HOURS, lease=EIGHT_HOURS) is not None
    )


def test_slots_are_aligned():
    now = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert scheduled_jobs.next_slot(now, EIGHT_HOURS) == datetime(2026, 3, 1, 16, tzinfo=UTC)
    assert scheduled_jobs.next_slot(datetime(2026, 3, 1, 16, tzinfo=UTC), EIGHT_HOURS) == datetime(
        2026, 3, 2, tzinfo=UTC
    )


async def drain(downloader: MediaDownloader) -> None:
    while await downloader.run_once():
        pass


async def test_media_are_downloaded_into_the_storage(live, make_member, database, settings, simulator):
    member = await make_member()
    await sync(live, member, 24)
    storage = open_storage(settings)
    async with aiohttp.ClientSession() as http:
        await drain(MediaDownloader(database, storage, http, sandbox_url=simulator))
    stats = await media_stats(live, member)
    assert stats["completed"] == stats["total"] > 0 and stats["pending"] == stats["failed"] == 0
    bookmarks = (await live.get(API, headers=member.headers, params={"limit": 100})).json()["bookmarks"]
    media = [m for b in bookmarks for m in b["media"]]
    assert {m["downloadStatus"] for m in media} == {"completed"}
    for item in media:
        url = urlsplit(item["s3Url"])
        assert url.path.startswith(f"/media/x-bookmarks/{member.id}/")
        r = await live.get(f"{url.path}?{url.query}")
        assert r.status_code == 200
        if item["type"] == "photo":
            assert r.headers["content-type"] == "image/jpeg" and r.content[:2] == b"\xff\xd8"
        else:
            assert r.headers["content-type"] == "video/mp4" and r.content[4:8] == b"ftyp"
    exported = (await live.get(f"{API}/export", headers=member.headers)).json()["bookmarks"]
    assert all(m["s3Url"] for b in exported for m in b["media"])
    await storage.close()


async def test_downloads_only_from_x_media_hosts_and_give_up_after_three_tries(
    live, make_member, database, settings, simulator
):
    member = await make_member(connect=False)
    row = bookmark_row(member.id, 1, "with a picture", media_kinds=1)
    row["media"] = [{"mediaKey": "3_1", "type": "photo", "url": "http://127.0.0.1:9/a.jpg"}]
    await store(database, [row])
    async with database.session() as session:
        seq = await session.scalar(select(XBookmark.seq).where(XBookmark.id == row["id"]))
        session.add_all(
            [
                _media(member.id, seq, "3_1", "http://127.0.0.1:9/a.jpg", sandbox=False),
                _media(member.id, seq, "3_2", f"{simulator}/twitter/pbs/media/missing.png", sandbox=True),
                _media(member.id, seq, "3_3", f"{simulator}/twitter/pbs/media/ok.jpg", sandbox=True),
            ]
        )
        await session.commit()
    storage = open_storage(settings)
    async with aiohttp.ClientSession() as http:
        downloader = MediaDownloader(database, storage, http, sandbox_url=simulator)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            await drain(downloader)
            found = await _media_rows(database, seq)
            assert found["3_3"].status == "completed"
            assert (
                found["3_1"].attempts == attempt
                and found["3_1"].error == "The media URL is not on X's media hosts"
            )
            assert found["3_2"].error == "X media answered HTTP 404"
            expected = "failed" if attempt == MAX_ATTEMPTS else "pending"
            assert (found["3_1"].status, found["3_2"].status) == (expected, expected)
            async with database.session() as session:  # as if the retry delay had passed
                await session.execute(update(XBookmarkMedia).values(due_at=utcnow() - timedelta(seconds=1)))
                await session.commit()
        stats = await media_stats(live, member)
        assert (stats["failed"], stats["completed"]) == (2, 1)
        off = MediaDownloader(database, storage, http, sandbox_url=None)  # the sandbox turned off
        await _reset(database, seq, "3_3")
        await drain(off)
        assert (await _media_rows(database, seq))[
            "3_3"
        ].error == "The media is in the sandbox, which is turned off"
    await storage.close()


async def test_an_abandoned_download_is_taken_again(make_member, database, settings, simulator):
    member = await make_member(connect=False)
    row = bookmark_row(member.id, 1, "picture")
    await store(database, [row])
    async with database.session() as session:
        seq = await session.scalar(select(XBookmark.seq).where(XBookmark.id == row["id"]))
        url = f"{simulator}/twitter/pbs/media/k.jpg"
        stale = _media(member.id, seq, "3_1", url, sandbox=True)
        stale.status, stale.lease_token, stale.lease_until = (
            "downloading",
            "dead",
            utcnow() - timedelta(seconds=1),
        )
        live_lease = _media(member.id, seq, "3_2", url, sandbox=True)
        live_lease.status, live_lease.lease_token, live_lease.lease_until = (
            "downloading",
            "busy",
            utcnow() + timedelta(minutes=5),
        )
        session.add_all([stale, live_lease])
        await session.commit()
    storage = open_storage(settings)
    async with aiohttp.ClientSession() as http:
        await drain(MediaDownloader(database, storage, http, sandbox_url=simulator))
    found = await _media_rows(database, seq)
    assert (found["3_1"].status, found["3_2"].status) == ("completed", "downloading")
    await storage.close()


async def test_the_jobs_run_in_a_worker_until_stopped(live, make_member, database, settings, simulator):
    member = await make_member()
    await sync(live, member, 6)
    fast = settings.model_copy(
        update={"x_bookmarks_poll_seconds": 0.05, "x_bookmarks_sync_interval_seconds": 0}
    )
    storage = open_storage(settings)
    jobs = XBookmarkJobs(fast, database, storage, sandbox_url=simulator)
    task = asyncio.create_task(jobs.run())
    try:
        for _ in range(600):
            stats = await media_stats(live, member)
            if stats["completed"] == stats["total"]:
                break
            await asyncio.sleep(0.05)
        assert stats["completed"] == stats["total"] > 0
    finally:
        jobs.stop()
        await asyncio.wait_for(task, 30)
    await storage.close()


def _media(user_id: str, seq: int, key: str, url: str, *, sandbox: bool) -> XBookmarkMedia:
    return XBookmarkMedia(
        id=new_id(),
        user_id=user_id,
        bookmark_seq=seq,
        media_key=key,
        type="photo",
        source_url=url,
        sandbox=sandbox,
        status="pending",
        attempts=0,
        due_at=utcnow() - timedelta(seconds=1),
    )


async def _media_rows(database, seq: int) -> dict[str, XBookmarkMedia]:
    async with database.session() as session:
        found = await session.scalars(select(XBookmarkMedia).where(XBookmarkMedia.bookmark_seq == seq))
        return {m.media_key: m for m in found}


async def _reset(database, seq: int, key: str) -> None:
    async with database.session() as session:
        await session.execute(
            update(XBookmarkMedia)
            .where(XBookmarkMedia.bookmark_seq == seq, XBookmarkMedia.media_key == key)
            .values(status="pending", attempts=0, due_at=utcnow() - timedelta(seconds=1), error=None)
        )
        await session.commit()
