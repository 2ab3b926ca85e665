"""Loading what a claimed post needs: its chain, its group's content, its connection's credentials."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import Connection, Post, PostGroup
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
    """Everything needed to publish one claimed post without touching the database."""

    claim: Claim
    platform: str
    group_id: str
    user_id: str
    account_id: str
    head_id: str
    head_key: str
    content: str
    connection_id: str | None
    credentials: Credentials | None
    parts: list[PartRow] = field(default_factory=list)
    root: Published | None = None
    parent: Published | None = None

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
    """Build work items for `claims`; claims whose rows vanished (deleted groups) are dropped."""
    by_id = {c.post_id: c for c in claims}
    posts = {p.id: p for p in await session.scalars(select(Post).where(Post.id.in_(by_id)))}
    group_ids = {p.group_id for p in posts.values()}
    groups = {g.id: g for g in await session.scalars(select(PostGroup).where(PostGroup.id.in_(group_ids)))}
    connection_ids = {p.connection_id for p in posts.values() if p.connection_id}
    connections = {
        c.id: c for c in await session.scalars(select(Connection).where(Connection.id.in_(connection_ids)))
    }
    head_ids = {p.head_post_id or p.id for p in posts.values()}
    chains: dict[str, list[Post]] = {}
    for row in await session.scalars(
        select(Post)
        .where((Post.head_post_id.in_(head_ids)) | (Post.id.in_(head_ids)))
        .order_by(Post.thread_index)
    ):
        chains.setdefault(row.head_post_id or row.id, []).append(row)
    items = []
    for post_id, claim in by_id.items():
        post = posts.get(post_id)
        group = groups.get(post.group_id) if post else None
        if post is None or group is None:
            continue
        head_id = post.head_post_id or post.id
        chain = chains.get(head_id, [post])
        connection = connections.get(post.connection_id or "")
        item = WorkItem(
            claim=claim,
            platform=post.platform,
            group_id=post.group_id,
            user_id=post.user_id,
            account_id=post.account_id,
            head_id=head_id,
            head_key=chain[0].idempotency_key,
            content=group.content,
            connection_id=connection.id if connection else None,
            credentials=credentials_for(connection, box, sandbox_url) if connection else None,
        )
        if len(chain) > 1:
            item.root = published_of(chain[0])
            item.parent = published_of(chain[post.thread_index - 1]) if post.thread_index else None
            item.parts = [
                PartRow(row.id, row.thread_index, row.content, row.idempotency_key, published_of(row))
                for row in chain[post.thread_index :]
            ]
        items.append(item)
    return items
