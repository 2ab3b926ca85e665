"""Removing media nobody will publish: uploads that never completed, media of drafts left alone
for a long time, stored files without a media row (failed deletes), and abandoned partial uploads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.sql.elements import ColumnElement

from postpost.config import Settings
from postpost.db.models import Media, PostGroup
from postpost.db.session import Database
from postpost.ids import utcnow
from postpost.services.media import RemovedMedia, ensure_probed, remove_files, stored_media
from postpost.storage.base import Storage

log = logging.getLogger("postpost.media")

BATCH = 500  # rows or keys handled per statement
STORED_PREFIXES = ("images/", "videos/", "cache/")


@dataclass(frozen=True)
class SweepResult:
    """How many media rows (with their files) and stray files one sweep removed."""

    incomplete: int = 0
    unscheduled: int = 0
    orphan_files: int = 0
    partial_uploads: int = 0


async def sweep_media(
    database: Database,
    storage: Storage,
    *,
    now: datetime,
    incomplete_max_age: timedelta,
    unscheduled_max_age: timedelta,
) -> SweepResult:
    """One pass of every rule, as of `now`.

    - incomplete: rows created before `now - incomplete_max_age` whose upload never succeeded
      (an S3 object that did arrive is probed instead and kept);
    - unscheduled: media of groups still `draft` and untouched since `now - unscheduled_max_age`;
    - orphan files: stored objects older than `incomplete_max_age` that no media row owns;
    - partial uploads: local uploads interrupted before `now - incomplete_max_age`.
    """
    incomplete_before = now - incomplete_max_age
    incomplete = await _remove_incomplete(database, storage, incomplete_before)
    unscheduled = await _remove_unscheduled(database, storage, now - unscheduled_max_age)
    orphans = await _remove_orphan_files(database, storage, incomplete_before)
    partials = await storage.remove_stale_partials(incomplete_before)
    return SweepResult(incomplete, unscheduled, orphans, partials)


async def _remove_incomplete(database: Database, storage: Storage, before: datetime) -> int:
    async with database.session() as session:
        rows = list(
            await session.scalars(
                select(Media)
                .where(Media.status != "ready", Media.uploaded_at.is_(None), Media.created_at < before)
                .limit(BATCH)
            )
        )
    stale: list[RemovedMedia] = []
    for row in rows:
        current = await ensure_probed(database, storage, stored_media(row))
        if current.status != "ready":
            stale.append(RemovedMedia(row.id, row.storage_key))
    return await _delete_rows(database, storage, stale, Media.uploaded_at.is_(None))


async def _remove_unscheduled(database: Database, storage: Storage, before: datetime) -> int:
    async with database.session() as session:
        rows = await session.execute(
            select(Media.id, Media.storage_key)
            .join(PostGroup, PostGroup.id == Media.group_id)
            .where(PostGroup.status == "draft", PostGroup.updated_at < before, Media.created_at < before)
            .limit(BATCH)
        )
        stale = [RemovedMedia(media_id, key) for media_id, key in rows]
    return await _delete_rows(database, storage, stale)


async def _delete_rows(
    database: Database, storage: Storage, stale: Sequence[RemovedMedia], *conditions: ColumnElement[bool]
) -> int:
    if not stale:
        return 0
    async with database.session() as session:
        result = await session.execute(
            delete(Media).where(Media.id.in_([item.id for item in stale]), *conditions).returning(Media.id)
        )
        gone = set(result.scalars())
        await session.commit()
    removed = [item for item in stale if item.id in gone]
    await remove_files(storage, removed)
    for item in removed:
        log.info("swept media %s (%s)", item.id, item.key)
    return len(removed)


async def _remove_orphan_files(database: Database, storage: Storage, before: datetime) -> int:
    """Objects older than `before` with no media row: uploads by key, converted copies by media id."""
    removed = 0
    for prefix in STORED_PREFIXES:
        batch: list[str] = []
        async for info in storage.list_objects(prefix):
            if info.modified < before:
                batch.append(info.key)
            if len(batch) >= BATCH:
                removed += await _delete_unowned(database, storage, prefix, batch)
                batch = []
        removed += await _delete_unowned(database, storage, prefix, batch)
    return removed


async def _delete_unowned(database: Database, storage: Storage, prefix: str, keys: list[str]) -> int:
    if not keys:
        return 0
    async with database.session() as session:
        if prefix == "cache/":
            owners = {key: key.split("/")[1] for key in keys}
            known = set(await session.scalars(select(Media.id).where(Media.id.in_(set(owners.values())))))
            unowned = [key for key, media_id in owners.items() if media_id not in known]
        else:
            known = set(await session.scalars(select(Media.storage_key).where(Media.storage_key.in_(keys))))
            unowned = [key for key in keys if key not in known]
    if unowned:
        await storage.delete(unowned)
        log.info("swept %d stored files without a media row under %s", len(unowned), prefix)
    return len(unowned)


class MediaSweeper:
    """Runs `sweep_media` every `media_sweep_interval_seconds` until stopped (never when it is <= 0)."""

    def __init__(self, settings: Settings, database: Database, storage: Storage) -> None:
        self.settings = settings
        self.database = database
        self.storage = storage
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        if self.settings.media_sweep_interval_seconds <= 0:
            return
        while not self._stopping.is_set():
            try:
                await self.sweep_once()
            except Exception:
                log.exception("media sweep failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.settings.media_sweep_interval_seconds)

    async def sweep_once(self) -> SweepResult:
        result = await sweep_media(
            self.database,
            self.storage,
            now=utcnow(),
            incomplete_max_age=timedelta(seconds=self.settings.media_incomplete_max_age_seconds),
            unscheduled_max_age=timedelta(seconds=self.settings.media_unscheduled_max_age_seconds),
        )
        if any(vars(result).values()):
            log.info("media sweep: %s", result)
        return result

    def stop(self) -> None:
        self._stopping.set()
