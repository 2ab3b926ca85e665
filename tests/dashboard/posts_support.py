"""Helpers of the posts-side dashboard tests: a signed-in HTTP client on the live server, sandbox
accounts, small generated images."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import httpx
import pytest
import pytest_asyncio
from PIL import Image
from sqlalchemy import update

from postpost.db.models import User
from postpost.sandbox import add_sandbox_connection
from postpost.security import SecretBox
from tests.conftest import SECRET
from tests.dashboard.conftest import Dash, DashUser

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


@dataclass
class Signed:
    """A signed-in client of the live server, its CSRF token and its user."""

    http: httpx.AsyncClient
    csrf: str
    user: DashUser

    async def post_json(self, path: str, body: Any, *, csrf: bool = True) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf} if csrf else {}
        return await self.http.post(path, json=body, headers=headers)

    async def api(self, method: str, path: str, **options: Any) -> httpx.Response:
        return await self.http.request(method, f"/api/v1{path}", headers=self.user.headers, **options)


async def sign_in(dash: Dash, user: DashUser) -> Signed:
    http = dash.client(cookies={"postpost_session": await dash.session_cookie(user)})
    page = await http.get("/app/compose")
    assert page.status_code == 200, page.text
    match = CSRF_META.search(page.text)
    assert match is not None
    return Signed(http, match.group(1), user)


@pytest_asyncio.fixture
async def signed(dash: Dash) -> AsyncIterator[Signed]:
    """A fresh user signed in over HTTP."""
    user = await dash.make_user()
    result = await sign_in(dash, user)
    try:
        yield result
    finally:
        await result.http.aclose()


async def sandbox_account(dash: Dash, user: DashUser, platform: str) -> str:
    """Connect `user`'s sandbox account on `platform` (it publishes to the mounted simulator)."""
    async with dash.database.session() as session:
        connection = await add_sandbox_connection(session, SecretBox(SECRET.encode()), user.id, platform)
        await session.commit()
        return connection.compound_id


def png(width: int = 64, height: int = 48) -> bytes:
    out = BytesIO()
    Image.new("RGB", (width, height), (40, 120, 200)).save(out, "PNG")
    return out.getvalue()


async def draft(signed: Signed, platform_id: str, content: str = "a draft") -> str:
    """A draft made through the composer's create route: its group id."""
    r = await signed.post_json("/app/compose/posts", {"content": content, "platforms": [platform_id]})
    assert r.status_code == 200, r.text
    return str(r.json()["postGroupId"])


@pytest_asyncio.fixture
async def client(dash: Dash) -> AsyncIterator[httpx.AsyncClient]:
    """The live server's API (not the shared `app`, which is bound to the other tests' database)."""
    async with dash.client() as http:
        yield http


@pytest.fixture
def make_user(dash: Dash) -> Callable[..., Awaitable[DashUser]]:
    """Users of the live server, with entitlements laid over their plan when given."""

    async def make(*, entitlements: dict[str, Any] | None = None) -> DashUser:
        user = await dash.make_user()
        if entitlements is not None:
            async with dash.database.session() as session:
                await session.execute(
                    update(User).where(User.id == user.id).values(entitlements=entitlements)
                )
                await session.commit()
        return user

    return make
