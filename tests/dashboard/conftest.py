"""Dashboard fixtures, on both engines: `postpost serve`'s app on a loopback port (simulator,
sandbox mode, in-process workers), users with passwords, signed-in sessions, and a headless
Chromium driven by Playwright (Debian's /usr/bin/chromium, never downloaded; skipped without it).

`shoot(page, name)` saves a PNG under tests/artifacts/screenshots/ and, when
POSTPOST_UPDATE_SCREENSHOTS=1, also under docs/screenshots/.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi.responses import Response

from postpost.config import Settings, async_database_url
from postpost.db.migrate import upgrade
from postpost.db.models import User
from postpost.db.session import Database
from postpost.security import KeyHasher
from postpost.server import build_server
from postpost.services import accounts
from postpost.services.passwords import hash_password
from postpost.web.dashboard.session import SESSION_COOKIE, Sessions
from tests.conftest import SECRET, MakeConnection, ServerThread, connection_maker, free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "screenshots"
DOCS_SHOTS = ROOT / "docs" / "screenshots"
# read at import: the autouse _clean_env fixture removes POSTPOST_* variables before each test
UPDATE_SCREENSHOTS = os.environ.get("POSTPOST_UPDATE_SCREENSHOTS") == "1"
PASSWORD = "correct horse battery"
VIEWPORT = {"width": 1000, "height": 800}


@dataclass
class DashUser:
    """A user who can sign in to the dashboard (and call the API with `api_key`)."""

    id: str
    email: str
    password: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.api_key}


@dataclass
class Dash:
    """The live server: its base URL, settings and database (read from the test's event loop)."""

    url: str
    settings: Settings
    database: Database

    async def make_user(
        self,
        *,
        plan: str = "pro",
        password: str = PASSWORD,
        workspace: bool = False,
        parent: DashUser | None = None,
    ) -> DashUser:
        """A fresh user with `password` and one API key."""
        email = f"dash-{secrets.token_hex(5)}@example.com"
        async with self.database.session() as session:
            user = await accounts.create_user(
                session, email, plan=plan, workspace=workspace, parent_user_id=parent.id if parent else None
            )
            user.password_hash = hash_password(password)
            key = await accounts.create_key(session, KeyHasher(SECRET.encode()), user.id)
            await session.commit()
        return DashUser(user.id, email, password, key.raw)

    async def session_cookie(self, user: DashUser) -> str:
        """A valid session cookie value for `user`, as signing in would set it."""
        async with self.database.session() as session:
            row = await session.get(User, user.id)
            assert row is not None
        response = Response()
        Sessions(SECRET.encode(), secure=False, max_age=3600).start(response, row)
        cookie = next(
            v for k, v in response.raw_headers if k == b"set-cookie" and v.startswith(b"postpost_s")
        )
        return cookie.decode().split(";", 1)[0].split("=", 1)[1]

    def client(self, **options: Any) -> httpx.AsyncClient:
        """An HTTP client on the live server (redirects not followed)."""
        return httpx.AsyncClient(base_url=self.url, timeout=20, **options)

    async def signed_in_client(self, user: DashUser) -> SignedInClient:
        """A client with `user`'s session cookie, and the session's CSRF token."""
        client = self.client(cookies={SESSION_COOKIE: await self.session_cookie(user)})
        page = await client.get("/app/keys")
        assert page.status_code == 200, page.text
        return SignedInClient(client, csrf_of(page.text))


@dataclass
class SignedInClient:
    """An HTTP client signed in to the live server; `json_headers` carry the CSRF token."""

    http: httpx.AsyncClient
    csrf: str

    @property
    def json_headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf}

    async def form(self, path: str, data: dict[str, Any] | None = None) -> httpx.Response:
        """POST a form with the CSRF token, as the page's forms do."""
        return await self.http.post(path, data={"csrf_token": self.csrf, **(data or {})})


def csrf_of(html: str) -> str:
    """The CSRF token a page carries (its hidden form field or meta tag)."""
    found = re.search(r'name="csrf(?:_token|-token)" (?:value|content)="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@pytest.fixture(scope="session")
def dash_database_url(engine_name: str, new_database_url: Callable[[str], str]) -> str:
    """A database of its own: the server's worker must not publish other tests' due posts."""
    return new_database_url(engine_name)


@pytest_asyncio.fixture(scope="session")
async def dash_database(dash_database_url: str) -> AsyncIterator[Database]:
    """The live server's database (the shared `database` fixture stays the other tests' one)."""
    db = Database(async_database_url(dash_database_url))
    await upgrade(db)
    yield db
    await db.dispose()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """In parallel runs, every dashboard test goes to one worker, which starts the live servers
    and Chromium once (pytest-xdist's `--dist loadgroup`, as `dev.py test` runs it)."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("dashboard"))


@pytest.fixture
def make_connection(dash_database: Database) -> MakeConnection:
    """Connections in the live server's database (overrides the shared fixture here)."""
    return connection_maker(dash_database)


@pytest.fixture(scope="session")
def dash_server(
    dash_database: Database, dash_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Settings]]:
    """`postpost serve`'s app (one worker, sandbox on) on a loopback port, with its lifespan."""
    port = free_port()
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("dash-serve"),
        database_url=dash_database_url,
        secret_key=SECRET,  # type: ignore[arg-type]
        port=port,
        workers=1,
        sandbox=True,
    )
    app = build_server(settings, Database(settings.resolved_database_url))
    with ServerThread(app, port=port, lifespan="on") as base:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        yield base, settings


@pytest.fixture(scope="session")
def dash(dash_server: tuple[str, Settings], dash_database: Database) -> Dash:
    url, settings = dash_server
    return Dash(url, settings, dash_database)


@pytest_asyncio.fixture
async def signed_in_client(dash: Dash, dash_user: DashUser) -> AsyncIterator[SignedInClient]:
    """`dash_user` signed in over HTTP (no browser)."""
    signed = await dash.signed_in_client(dash_user)
    yield signed
    await signed.http.aclose()


@pytest_asyncio.fixture
async def dash_user(dash: Dash) -> DashUser:
    """A fresh user of the live server (the same one `signed_in` signs in, in the same test)."""
    return await dash.make_user()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    return found


@pytest_asyncio.fixture(scope="session")
async def browser(chromium_path: str) -> AsyncIterator[Any]:
    """Playwright's async API driving headless Chromium (one browser for the session)."""
    async_api = pytest.importorskip("playwright.async_api")
    async with async_api.async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        await launched.close()


@pytest_asyncio.fixture
async def browser_page(browser: Any) -> AsyncIterator[Any]:
    """A fresh page in a fresh context (no cookies), 1000 px wide."""
    context = await browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(20_000)
    page = await context.new_page()
    yield page
    await context.close()


@pytest_asyncio.fixture
async def signed_in(dash: Dash, dash_user: DashUser, browser_page: Any) -> Any:
    """A page signed in as `dash_user`, on the posts page."""
    cookie = await dash.session_cookie(dash_user)
    await browser_page.context.add_cookies(
        [{"name": SESSION_COOKIE, "value": cookie, "url": dash.url, "httpOnly": True, "sameSite": "Lax"}]
    )
    await browser_page.goto(f"{dash.url}/app/posts")
    return browser_page


Shoot = Callable[[Any, str], Awaitable[Path]]


@pytest.fixture
def shoot() -> Shoot:
    """`await shoot(page, "keys")`: a PNG of the page's viewport as tests/artifacts/screenshots/keys.png
    (and docs/screenshots/keys.png with POSTPOST_UPDATE_SCREENSHOTS=1)."""

    async def take(page: Any, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await page.screenshot(path=str(path), full_page=False)
        if UPDATE_SCREENSHOTS:
            DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_SHOTS / f"{name}.png")
        return path

    return take
