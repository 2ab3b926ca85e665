"""Loading what claimed posts need besides the claim itself: credentials and thread chains."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import Connection, Post
from postpost.engine.claims import Claim
from postpost.platforms.base import Credentials, Published
from postpost.security import SecretBox
from postpost.services.connections import credentials_for


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
    """

    claim: Claim
    credentials: Credentials | None
    parts: list[PartRow] = field(default_factory=list)
    root: Published | None = None
    parent: Published | None = None

    @property
    def head_id(self) -> str:
        return self.claim.head_post_id or self.claim.post_id

    @property
    def is_new_chain(self) -> bool:
        return not self.parts


def published_of(post: Post) -> Published | None:
    if post.status != "published" or post.posted_id is None:
        return None
    return Published(post.posted_id, post.posted_url, dict(post.remote_ref or {}))


async def load_work(
    session: AsyncSession, claims: Sequence[Claim], box: SecretBox, sandbox_url: str | None
) -> list[WorkItem]:
    """Build work items for `claims`: one query for connections, one for chains when any."""
    connection_ids = {c.connection_id for c in claims if c.connection_id}
    connections = {
        c.id: c for c in await session.scalars(select(Connection).where(Connection.id.in_(connection_ids)))
    }
    chains = await _chains(session, [c for c in claims if c.may_have_parts])
    items = []
    for claim in claims:
        connection = connections.get(claim.connection_id or "")
        item = WorkItem(claim, credentials_for(connection, box, sandbox_url) if connection else None)
        chain = chains.get(claim.head_post_id or claim.post_id, [])
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
