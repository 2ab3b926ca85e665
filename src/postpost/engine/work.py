"""Loading what claimed posts need besides the claim itself: credentials, settings, thread chains."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import Connection, Post, PostGroup
from postpost.engine.claims import Claim
from postpost.media.types import StoredMedia
from postpost.platforms.base import ErrorCode, MediaFile, PlatformError, Published
from postpost.security import SecretBox, SecretsUnreadable
from postpost.services.connections import credentials_for
from postpost.services.credentials import Versioned, unreadable_secrets
from postpost.services.media import media_for_groups


@dataclass
class PartRow:
    """A part of a chain as stored (or about to be stored)."""

    id: str | None
    index: int
    text: str
    idempotency_key: str
    published: Published | None = None


@dataclass
class WorkItem:
    """Everything needed to publish one claimed post without touching the database.

    `parts` is empty for a post never split (it is split when published), else the stored
    parts from the claimed one onwards; `root`/`parent` are the chain's first and previous posts.
    `credentials` is None when the connection is gone; `unusable` explains credentials that
    exist but cannot be used.
    """

    claim: Claim
    credentials: Versioned | None
    is_sandbox: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    stored_media: list[StoredMedia] = field(default_factory=list)  # the group's, for the first part
    alt_texts: list[str | None] = field(default_factory=list)
    media: tuple[MediaFile, ...] = ()  # converted for the platform, set when publishing
    parts: list[PartRow] = field(default_factory=list)
    root: Published | None = None
    parent: Published | None = None
    unusable: PlatformError | None = None

    @property
    def head_id(self) -> str:
        return self.claim.head_post_id or self.claim.post_id

    @property
    def key(self) -> tuple[str, str]:
        return self.claim.post_id, self.claim.lease_token


def published_of(post: Post) -> Published | None:
    if post.status != "published" or post.posted_id is None:
        return None
    return Published(post.posted_id, post.posted_url, dict(post.remote_ref or {}))


async def load_work(
    session: AsyncSession, claims: Sequence[Claim], box: SecretBox, sandbox_url: str | None
) -> list[WorkItem]:
    """Build work items for `claims`: one query each for connections, groups and (when any) chains."""
    connection_ids = {c.connection_id for c in claims if c.connection_id}
    connections = {
        c.id: c for c in await session.scalars(select(Connection).where(Connection.id.in_(connection_ids)))
    }
    groups = {
        group_id: (settings, alt_texts)
        for group_id, settings, alt_texts in (
            await session.execute(
                select(PostGroup.id, PostGroup.platform_settings, PostGroup.alt_texts).where(
                    PostGroup.id.in_({c.group_id for c in claims})
                )
            )
        ).tuples()
    }
    media = await media_for_groups(session, sorted({c.group_id for c in claims if c.thread_index == 0}))
    chains = await _chains(session, [c for c in claims if c.may_have_parts])
    items = []
    for claim in claims:
        settings, alt_texts = groups.get(claim.group_id, ({}, None))
        item = WorkItem(
            claim,
            None,
            settings=dict((settings or {}).get(claim.platform) or {}),
            stored_media=media.get(claim.group_id, []) if claim.thread_index == 0 else [],
            alt_texts=list(alt_texts or []),
        )
        connection = connections.get(claim.connection_id or "")
        if connection is not None and connection.is_sandbox and sandbox_url is None:
            item.unusable = PlatformError(
                ErrorCode.UNKNOWN_ERROR,
                "This is a sandbox account, and the sandbox is turned off on this server (POSTPOST_SANDBOX)",
                retryable=False,
            )
        elif connection is not None:
            item.is_sandbox = connection.is_sandbox
            try:
                creds = credentials_for(connection, box, sandbox_url)
                item.credentials = Versioned(creds, connection.secrets_version)
            except SecretsUnreadable as exc:
                item.unusable = unreadable_secrets(str(exc))
        chain = chains.get(item.head_id, [])
        if len(chain) > 1:
            index = claim.thread_index
            item.root = published_of(chain[0])
            item.parent = published_of(chain[index - 1]) if index else None
            item.parts = [
                PartRow(row.id, row.thread_index, row.content, row.idempotency_key, published_of(row))
                for row in chain[index:]
            ]
        items.append(item)
    return items


async def _chains(session: AsyncSession, claims: Sequence[Claim]) -> dict[str, list[Post]]:
    """Stored thread rows (head first) of the chains these claims belong to."""
    head_ids = {c.head_post_id or c.post_id for c in claims}
    chains: dict[str, list[Post]] = {}
    if not head_ids:
        return chains
    rows = await session.scalars(
        select(Post)
        .where(Post.head_post_id.in_(head_ids) | Post.id.in_(head_ids))
        .order_by(Post.thread_index)
    )
    for row in rows:
        chains.setdefault(row.head_post_id or row.id, []).append(row)
    return chains
