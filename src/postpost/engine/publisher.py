"""Publishing one claimed post through its adapter: split, reconcile, publish the chain.

No database access here: the outcome is returned and written by `recorder.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from postpost.engine.work import PartRow, WorkItem
from postpost.ids import utcnow
from postpost.platforms.base import (
    Credentials,
    ErrorCode,
    PlatformAdapter,
    PlatformError,
    PostPart,
    Published,
    ReplyTo,
)
from postpost.platforms.splitting import split_into_parts

SaveCredentials = Callable[[str, Credentials], Awaitable[None]]


@dataclass
class Attempt:
    """One call to the platform for one part, for the post logs."""

    index: int
    started_at: datetime
    finished_at: datetime
    reconciled: bool = False


@dataclass
class Outcome:
    """What happened to a claimed post: parts published, and the error that stopped it, if any."""

    item: WorkItem
    parts: list[PartRow]
    attempts: list[Attempt] = field(default_factory=list)
    error: PlatformError | None = None
    failed_index: int | None = None
    finished_at: datetime = field(default_factory=utcnow)


async def publish_item(
    item: WorkItem, adapter: PlatformAdapter | None, save_credentials: SaveCredentials
) -> Outcome:
    """Publish every unpublished part of `item` in order; stop at the first failure."""
    unsplit = Outcome(item, item.parts or [whole_post(item)])
    if adapter is None or item.credentials is None:
        reason = (
            "Connection not found"
            if item.credentials is None
            else f"Platform {item.claim.platform} is not supported"
        )
        return _stop(unsplit, 0, PlatformError(ErrorCode.UNKNOWN_ERROR, reason))
    creds = item.credentials
    try:
        creds = await _persisted(adapter.prepare(creds), creds, item, save_credentials)
    except PlatformError as error:
        return _stop(unsplit, 0, error)
    limit = await adapter.text_limit(creds)
    parts = item.parts or _split(item, adapter, limit)
    outcome = Outcome(item, parts)
    root, parent = item.root, item.parent
    reconcile = item.claim.attempts > 1
    for position, part in enumerate(parts):
        if part.published is None:
            if adapter.text_length(part.text) > limit:
                return _stop(
                    outcome,
                    position,
                    PlatformError(
                        ErrorCode.CONTENT_TOO_LARGE,
                        f"Thread part {part.index + 1} is longer than {limit} characters",
                    ),
                )
            reply = ReplyTo(root, parent) if root is not None and parent is not None else None
            try:
                part.published, creds = await _publish_part(
                    adapter, part, creds, reply, reconcile, outcome, item, save_credentials
                )
            except PlatformError as error:
                return _stop(outcome, position, error)
        if root is None:
            root = part.published
        parent = part.published
    outcome.finished_at = utcnow()
    return outcome


async def _publish_part(
    adapter: PlatformAdapter,
    part: PartRow,
    creds: Credentials,
    reply: ReplyTo | None,
    reconcile: bool,
    outcome: Outcome,
    item: WorkItem,
    save_credentials: SaveCredentials,
) -> tuple[Published, Credentials]:
    started = utcnow()
    if reconcile and not adapter.idempotent_publish:
        found = await adapter.find_published(creds, idempotency_key=part.idempotency_key)
        if found is not None:
            outcome.attempts.append(Attempt(part.index, started, utcnow(), reconciled=True))
            return found, creds
    try:
        published = await adapter.publish(
            PostPart(part.text), creds, idempotency_key=part.idempotency_key, reply_to=reply
        )
    except PlatformError as error:
        outcome.attempts.append(Attempt(part.index, started, utcnow()))
        if not error.refreshable:
            raise
        creds = await _persisted(adapter.refresh(creds), creds, item, save_credentials)
        started = utcnow()
        published = await adapter.publish(
            PostPart(part.text), creds, idempotency_key=part.idempotency_key, reply_to=reply
        )
    outcome.attempts.append(Attempt(part.index, started, utcnow()))
    return published, creds


async def _persisted(
    pending: Awaitable[Credentials], current: Credentials, item: WorkItem, save: SaveCredentials
) -> Credentials:
    fresh = await pending
    if fresh is not current and item.claim.connection_id is not None:
        await save(item.claim.connection_id, fresh)
    return fresh


def whole_post(item: WorkItem) -> PartRow:
    """The claimed post as one part, not split."""
    return PartRow(item.head_id, 0, item.claim.content, item.claim.idempotency_key)


def _split(item: WorkItem, adapter: PlatformAdapter, limit: int) -> list[PartRow]:
    texts = split_into_parts(item.claim.content, limit, adapter.text_length)
    key = item.claim.idempotency_key
    return [
        PartRow(item.head_id if i == 0 else None, i, text, key if i == 0 else f"{key}-{i}")
        for i, text in enumerate(texts)
    ]


def _stop(outcome: Outcome, position: int, error: PlatformError) -> Outcome:
    outcome.error = error
    outcome.failed_index = position
    outcome.finished_at = utcnow()
    return outcome
