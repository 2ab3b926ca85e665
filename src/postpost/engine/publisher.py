"""Publishing one claimed post through its adapter: split, reconcile, publish the chain.

No database access here except through the credential store: the outcome is returned and
written by `recorder.py`. How an uncertain earlier attempt is reconciled is the platform
descriptor's `reconciliation` mode:

- IDEMPOTENCY_KEY: publish again with the same key; the platform returns the earlier post.
- CHOSEN_ID / LOOKUP: ask the adapter to find what the earlier attempt created; publish only
  when nothing is found.
- NONE: never send again; the part fails with TIMEOUT_ERROR, not retryable, saying that it may
  have been published (at most once).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from postpost.engine.media import MediaFiles
from postpost.engine.work import PartRow, WorkItem
from postpost.ids import utcnow
from postpost.platforms.base import (
    ErrorCode,
    InProgress,
    PlatformAdapter,
    PlatformError,
    PostPart,
    Published,
    PublishJob,
    ReplyTo,
)
from postpost.platforms.descriptor import PlatformDescriptor, Reconciliation
from postpost.platforms.splitting import split_into_parts
from postpost.services.connections import expired_connection
from postpost.services.credentials import CredentialStore, Versioned


@dataclass
class Attempt:
    """One call to the platform for one part, for the post logs."""

    index: int
    started_at: datetime
    finished_at: datetime
    reconciled: bool = False
    waiting: bool = False


@dataclass
class Outcome:
    """What happened to a claimed post so far: parts published, and what stopped it.

    It is filled as publishing goes, so a publish abandoned half way (the ceiling) still
    reports the parts that went out. `waiting` is set when a part is in progress on the platform.
    """

    item: WorkItem
    parts: list[PartRow] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    error: PlatformError | None = None
    failed_index: int | None = None
    waiting: InProgress | None = None
    waiting_index: int | None = None
    position: int = 0
    finished_at: datetime = field(default_factory=utcnow)

    def stop(self, error: PlatformError, descriptor: PlatformDescriptor | None = None) -> Outcome:
        """End with `error` at the current part (at most once where nothing can reconcile)."""
        if descriptor is not None and error.maybe_published:
            error = at_most_once(error, descriptor)
        self.error = error
        self.failed_index = self.position
        self.finished_at = utcnow()
        if not self.parts:
            self.parts = [whole_post(self.item)]
        return self


def at_most_once(error: PlatformError, descriptor: PlatformDescriptor) -> PlatformError:
    """An uncertain failure on a platform where nothing can tell whether it published: final."""
    if descriptor.reconciliation is not Reconciliation.NONE:
        return error
    return PlatformError(
        ErrorCode.TIMEOUT_ERROR,
        f"{descriptor.title} may have published this post: the attempt's outcome was lost "
        f"({error.message}) and {descriptor.title} offers no way to check, so it is not sent again",
        status=error.status,
        platform_error=error.platform_error,
        retryable=False,
    )


class Publisher:
    """Publishes work items; refreshes credentials through the store when a platform asks, and
    builds each item's media for its platform."""

    def __init__(self, store: CredentialStore, media: MediaFiles) -> None:
        self.store = store
        self.media = media

    async def run(self, outcome: Outcome, adapter: PlatformAdapter | None) -> Outcome:
        """Publish every unpublished part of the outcome's item in order; stop at the first failure."""
        item = outcome.item
        if item.unusable is not None:
            return outcome.stop(item.unusable)
        if adapter is None:
            message = f"Publishing to {item.claim.platform} is not supported"
            return outcome.stop(PlatformError(ErrorCode.UNKNOWN_ERROR, message, retryable=False))
        if item.credentials is None or item.claim.connection_id is None:
            message = "Connection not found: the account was disconnected; reconnect it and schedule again"
            return outcome.stop(PlatformError(ErrorCode.UNKNOWN_ERROR, message, retryable=False))
        descriptor = adapter.descriptor
        expired = expired_connection(descriptor.title, item.credentials.creds.expires_at, utcnow())
        if expired is not None:
            return outcome.stop(expired)
        try:
            if item.stored_media:
                if self.media is None:
                    raise PlatformError(
                        ErrorCode.UNKNOWN_ERROR, "Media storage is not available", retryable=False
                    )
                item.media = await self.media.for_platform(item.stored_media, item.alt_texts, descriptor)
            creds = await self.store.usable(item.claim.connection_id, item.credentials, adapter)
            limit = await adapter.text_limit(creds.creds)
            outcome.parts = outcome.parts or item.parts or _split(item, descriptor, limit)
            await self._chain(outcome, adapter, creds, limit)
        except PlatformError as error:
            return outcome.stop(error, descriptor)
        outcome.finished_at = utcnow()
        return outcome

    async def _chain(self, outcome: Outcome, adapter: PlatformAdapter, creds: Versioned, limit: int) -> None:
        item = outcome.item
        root, parent = item.root, item.parent
        unsure = item.claim.unsure
        for position, part in enumerate(outcome.parts):
            outcome.position = position
            if part.published is None:
                if adapter.descriptor.text.counter.count(part.text, stop_above=limit) > limit:
                    raise PlatformError(
                        ErrorCode.CONTENT_TOO_LARGE,
                        f"Thread part {part.index + 1} is longer than {limit} characters",
                        retryable=False,
                    )
                job = PublishJob(
                    part=PostPart(part.text, tuple(item.media) if part.index == 0 else ()),
                    creds=creds.creds,
                    idempotency_key=part.idempotency_key,
                    settings=item.settings,
                    reply_to=ReplyTo(root, parent) if root is not None and parent is not None else None,
                    state=item.claim.step_state if position == 0 else None,
                    unsure=unsure,
                    since=item.claim.first_attempt_at,
                    index=part.index,
                )
                result, creds, found = await self._attempt(outcome, adapter, job, creds)
                unsure = unsure and found  # nothing found for this part: later parts never went out
                if isinstance(result, InProgress):
                    outcome.waiting, outcome.waiting_index = result, position
                    return
                part.published = result
            root = root or part.published
            parent = part.published

    async def _attempt(
        self, outcome: Outcome, adapter: PlatformAdapter, job: PublishJob, creds: Versioned
    ) -> tuple[Published | InProgress, Versioned, bool]:
        """One part: reconcile if unsure, then publish (once more after a refresh if asked)."""
        started = utcnow()
        mode = adapter.descriptor.reconciliation
        if job.unsure and job.state is None:
            if mode is Reconciliation.NONE:
                lost = PlatformError(ErrorCode.TIMEOUT_ERROR, "the worker holding it stopped mid-publish")
                raise at_most_once(lost, adapter.descriptor)
            if mode in (Reconciliation.CHOSEN_ID, Reconciliation.LOOKUP):
                found = await adapter.find_published(job)
                if found is not None:
                    outcome.attempts.append(Attempt(job.index, started, utcnow(), reconciled=True))
                    return found, creds, True
        try:
            result = await adapter.publish(job)
        except PlatformError as error:
            outcome.attempts.append(Attempt(job.index, started, utcnow()))
            if not error.refreshable or outcome.item.claim.connection_id is None:
                raise
            creds = await self.store.refresh(outcome.item.claim.connection_id, creds, adapter)
            job = dataclasses.replace(job, creds=creds.creds)
            started = utcnow()
            result = await adapter.publish(job)
        waiting = isinstance(result, InProgress)
        outcome.attempts.append(Attempt(job.index, started, utcnow(), waiting=waiting))
        return result, creds, False


def whole_post(item: WorkItem) -> PartRow:
    """The claimed post as one part, not split."""
    return PartRow(item.head_id, item.claim.thread_index, item.claim.content, item.claim.idempotency_key)


def _split(item: WorkItem, descriptor: PlatformDescriptor, limit: int) -> list[PartRow]:
    rules = descriptor.text
    texts = (
        split_into_parts(item.claim.content, limit, rules.counter) if rules.threads else [item.claim.content]
    )
    key = item.claim.idempotency_key
    return [
        PartRow(item.head_id if i == 0 else None, i, text, key if i == 0 else f"{key}-{i}")
        for i, text in enumerate(texts)
    ]
