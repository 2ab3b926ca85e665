"""What dashboard requests act as and through: the services' `Principal` for the signed-in viewer,
and this server's own file URLs made relative so the page reaches them on its own origin.

The viewer's effective user owns the data; the plan is its billing owner's (the workspace owner
for a managed user). API and MCP access gates do not apply: the dashboard is neither.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from postpost.services import dashboard_auth
from postpost.services.auth import Principal
from postpost.storage.base import Storage
from postpost.storage.local import LocalStorage
from postpost.web.dashboard.session import Viewer


async def principal_for(session: AsyncSession, viewer: Viewer) -> Principal:
    """The principal of `viewer`'s effective user, with its billing owner's entitlements."""
    return await dashboard_auth.principal_for(session, viewer.account, viewer.user)


def same_origin(url: str, storage: Storage) -> str:
    """A local-storage URL (`<base URL>/media/...`) as a path on this server; other URLs as they are.

    The page may be open under another host name than the configured base URL (a LAN address,
    `localhost`): a path keeps uploads and thumbnails on the page's own origin.
    """
    if isinstance(storage, LocalStorage) and url.startswith(storage.base_url + "/"):
        return url[len(storage.base_url) :]
    return url
