"""This server's app on each instance of a federated platform: registered once, then cached.

An instance (a Mastodon server) knows postpost only after `POST /api/v1/apps`; the client id and
(encrypted) secret it hands out are kept per platform and instance, and registered again only
when this server's callback address changed.
"""

from __future__ import annotations

import contextlib

from sqlalchemy.exc import IntegrityError

from postpost.db.models import InstanceApp
from postpost.db.session import Database
from postpost.platforms.base import PlatformAdapter
from postpost.platforms.oauth import OAuthApp
from postpost.security import SecretBox

APP_NAME = "postpost"


async def instance_app(
    database: Database,
    box: SecretBox,
    adapter: PlatformAdapter,
    instance: str,
    *,
    redirect_uri: str,
    website: str,
) -> OAuthApp:
    """The app registered on `instance` for `redirect_uri`, registering it first when needed.

    Raises PlatformError when the instance refuses or cannot be reached. Two first connections
    racing both register; each uses its own app and the one stored first is kept (either works).
    """
    platform = adapter.descriptor.name
    async with database.session() as session:
        row = await session.get(InstanceApp, (platform, instance))
        if row is not None and row.redirect_uri == redirect_uri:
            return OAuthApp(row.client_id, str(box.decrypt(row.secrets)["client_secret"]))
    registered = await adapter.register_app(
        instance, name=APP_NAME, redirect_uri=redirect_uri, website=website
    )
    async with database.session() as session:
        row = await session.get(InstanceApp, (platform, instance))
        if row is None:
            row = InstanceApp(platform=platform, instance=instance)
            session.add(row)
        row.redirect_uri = redirect_uri
        row.client_id = registered["client_id"]
        row.secrets = box.encrypt({"client_secret": registered["client_secret"]})
        with contextlib.suppress(IntegrityError):
            await session.commit()
    return OAuthApp(registered["client_id"], registered["client_secret"])
