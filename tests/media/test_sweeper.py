"""The media sweeper: incomplete uploads, media of forgotten drafts, orphan files, partial uploads."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import timedelta

from sqlalchemy import select

from postpost.config import Settings
from postpost.db.models import Media
from postpost.ids import utcnow
from postpost.services import media
from postpost.services.media_sweeper import MediaSweeper, sweep_media
from tests.media.conftest import create_draft, put_file, upload_url
from tests.media.files import image_bytes

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


async def sweep(
    backend, *, later: timedelta, incomplete: timedelta = 2 * HOUR, unscheduled: timedelta = 30 * DAY
):
    return await sweep_media(
        backend.database,
        backend.storage,
        now=utcnow() + later,
        incomplete_max_age=incomplete,
        unscheduled_max_age=unscheduled,
    )


async def rows(backend, *media_ids):
    async with backend.database.session() as session:
        found = await session.scalars(select(Media).where(Media.id.in_(media_ids)))
        return {row.id: row for row in found}


async def uploaded(backend, user, group_id, data=None, content_type="image/png"):
    issued = await upload_url(backend.client, user, group_id, content_type, "f.png")
    await put_file(backend.client, issued["uploadUrl"], data or image_bytes("PNG"), content_type)
    return issued


async def test_incomplete_uploads_are_removed_after_their_age(backend, make_user, make_connection):
    user = await make_user()
    group_id = await create_draft(backend.client, user, [await make_connection(user)])
    never = await upload_url(backend.client, user, group_id, "image/png", "never.png")
    done = await uploaded(backend, user, group_id)  # S3: uploaded, but nobody probed it yet
    refused = await uploaded(backend, user, group_id, b"not a png")  # local: refused on the PUT

    await sweep(backend, later=HOUR)  # too young: nothing happens
    assert len(await rows(backend, never["mediaId"], done["mediaId"], refused["mediaId"])) == 3

    result = await sweep(backend, later=3 * HOUR)
    left = await rows(backend, never["mediaId"], done["mediaId"], refused["mediaId"])
    assert never["mediaId"] not in left
    assert left[done["mediaId"]].status == "ready"  # the control: a completed upload stays (and is probed)
    if backend.name == "local":
        assert refused["mediaId"] not in left and result.incomplete >= 2
    else:  # the object arrived: probed, failed with a reason, kept until its group goes
        assert left[refused["mediaId"]].status == "failed" and result.incomplete >= 1
    assert await backend.exists(left[done["mediaId"]].storage_key)


async def test_media_of_drafts_left_alone_are_removed(backend, make_user, make_connection, database):
    user = await make_user()
    connection = await make_connection(user)
    draft = await create_draft(backend.client, user, [connection])
    r = await backend.client.post(
        "/api/v1/create-post",
        headers=user.headers,
        json={"content": "later", "platforms": [connection], "scheduledTime": "2099-01-01T00:00:00Z"},
    )
    scheduled = r.json()["postGroupId"]
    forgotten = await uploaded(backend, user, draft)
    wanted = await uploaded(backend, user, scheduled)
    found = await rows(backend, forgotten["mediaId"], wanted["mediaId"])
    for item in found.values():
        await media.ensure_probed(backend.database, backend.storage, media.stored_media(item))
    keys = {media_id: row.storage_key for media_id, row in found.items()}

    await sweep(backend, later=29 * DAY)
    assert len(await rows(backend, forgotten["mediaId"], wanted["mediaId"])) == 2
    result = await sweep(backend, later=31 * DAY)
    assert result.unscheduled >= 1  # other tests' old drafts share this database
    left = await rows(backend, forgotten["mediaId"], wanted["mediaId"])
    assert set(left) == {wanted["mediaId"]}
    assert not await backend.exists(keys[forgotten["mediaId"]])
    assert await backend.exists(keys[wanted["mediaId"]])
    assert (await backend.client.get(f"/api/v1/get-post/{draft}", headers=user.headers)).json()["media"] == []


async def test_orphan_files_and_stale_partial_uploads(backend, make_user, make_connection):
    user = await make_user()
    group_id = await create_draft(backend.client, user, [await make_connection(user)])
    owned = await uploaded(backend, user, group_id)
    [owned_row] = (await rows(backend, owned["mediaId"])).values()
    await media.ensure_probed(backend.database, backend.storage, media.stored_media(owned_row))
    owned_cache = f"cache/{owned_row.id}/bluesky-0123456789abcdef"
    await backend.storage.put(owned_cache, b"x", "image/jpeg")
    orphans = [
        "images/1-deadbeef-lost.png",
        "videos/2-deadbeef-lost.mp4",
        "cache/0123456789abcdef01234567/x-1",
    ]
    for key in orphans:
        await backend.storage.put(key, b"orphan", "application/octet-stream")
    stale_partial = fresh_partial = None
    if backend.name == "local":
        backend.storage.partial.mkdir(parents=True, exist_ok=True)
        stale_partial = backend.storage.partial / "old.part"
        fresh_partial = backend.storage.partial / "new.part"
        stale_partial.write_bytes(b"half an upload")
        fresh_partial.write_bytes(b"an upload in progress")
        old = time.time() - 3 * 3600
        os.utime(stale_partial, (old, old))

    now = await sweep(backend, later=timedelta(0))  # young files are left alone
    for key in orphans:
        assert await backend.exists(key)
    if stale_partial and fresh_partial:
        assert now.partial_uploads == 1
        assert not stale_partial.exists() and fresh_partial.exists()
    result = await sweep(backend, later=3 * HOUR)
    assert result.orphan_files >= len(orphans)
    for key in orphans:
        assert not await backend.exists(key)
    assert await backend.exists(owned_row.storage_key) and await backend.exists(owned_cache)


async def test_the_periodic_job_sweeps_until_stopped(backend, make_user, make_connection, settings):
    user = await make_user()
    group_id = await create_draft(backend.client, user, [await make_connection(user)])
    abandoned = await upload_url(backend.client, user, group_id, "image/png", "a.png")
    kept = await uploaded(backend, user, group_id)
    [kept_row] = (await rows(backend, kept["mediaId"])).values()
    await media.ensure_probed(backend.database, backend.storage, media.stored_media(kept_row))
    fast = Settings(
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        secret_key="x",  # type: ignore[arg-type]
        media_sweep_interval_seconds=0.05,
        media_incomplete_max_age_seconds=0,
    )
    sweeper = MediaSweeper(fast, backend.database, backend.storage)
    task = asyncio.create_task(sweeper.run())
    try:
        deadline = time.monotonic() + 20
        while abandoned["mediaId"] in await rows(backend, abandoned["mediaId"]):
            assert time.monotonic() < deadline, "the sweeper never removed the abandoned upload"
            assert not task.done(), task
            await asyncio.sleep(0.05)
        assert kept["mediaId"] in await rows(backend, kept["mediaId"])
    finally:
        sweeper.stop()
        await asyncio.wait_for(task, 10)
    assert task.done() and task.exception() is None


async def test_a_zero_interval_turns_the_job_off(settings, database, local_storage):
    off = Settings(
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        secret_key="x",  # type: ignore[arg-type]
        media_sweep_interval_seconds=0,
    )
    await asyncio.wait_for(MediaSweeper(off, database, local_storage).run(), 5)
