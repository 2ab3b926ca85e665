"""A real browser on the connect page: headless Chromium (Debian's `chromium`, found on the PATH,
never downloaded) clicks through an OAuth flow and a sign-in form, driven over the DevTools
protocol. Skipped when Chromium is not installed (`apt-get install chromium`)."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets

from postpost.api.app import create_app
from postpost.config import async_database_url
from postpost.db.session import Database
from tests.conftest import MakeUser, ServerThread
from tests.web.conftest import Site, connect_settings

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
    "--window-size=1000,1400",
)


@pytest.fixture(scope="session")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    return found


class Page:
    """One Chromium tab over the DevTools protocol: navigate, click, read."""

    def __init__(self, socket: Any, session: str) -> None:
        self.socket = socket
        self.session = session
        self.ids = itertools.count(100)

    @classmethod
    async def open(cls, socket: Any) -> Page:
        target = await _call(socket, 1, "Target.createTarget", {"url": "about:blank"})
        attached = await _call(
            socket, 2, "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        return cls(socket, attached["sessionId"])

    async def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return await _call(self.socket, next(self.ids), method, params or {}, self.session)

    async def evaluate(self, expression: str) -> Any:
        answer = await self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return answer.get("result", {}).get("value")

    async def go(self, url: str) -> None:
        await self.call("Page.navigate", {"url": url})
        await self.wait_for(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")

    async def wait_for(self, condition: str, seconds: float = 20.0) -> None:
        for _ in range(int(seconds / 0.1)):
            try:
                if await self.evaluate(f"Boolean({condition})"):
                    return
            except KeyError:
                pass  # the page is between two documents
            await asyncio.sleep(0.1)
        raise AssertionError(f"never true: {condition} (at {await self.evaluate('location.href')})")

    async def click(self, selector: str) -> None:
        assert await self.evaluate(f"document.querySelector({json.dumps(selector)}) !== null"), selector
        await self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")

    async def text(self) -> str:
        return str(await self.evaluate("document.body.innerText"))


async def _call(
    socket: Any, call_id: int, method: str, params: dict[str, Any], session: str | None = None
) -> Any:
    message: dict[str, Any] = {"id": call_id, "method": method, "params": params}
    if session is not None:
        message["sessionId"] = session
    await socket.send(json.dumps(message))
    while True:
        answer = json.loads(await asyncio.wait_for(socket.recv(), 20))
        if answer.get("id") == call_id:
            if "error" in answer:
                raise KeyError(answer["error"])
            return answer["result"]


@pytest.fixture
def browser_url(chromium: str, tmp_path: Path) -> Iterator[str]:
    """A headless Chromium; its DevTools WebSocket URL."""
    process = subprocess.Popen(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "about:blank"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if "DevTools listening on " in line:
                yield line.split("DevTools listening on ", 1)[1].strip()
                break
        else:
            pytest.fail("Chromium did not start")
    finally:
        process.terminate()
        process.wait(timeout=10)


class LateApp:
    """An ASGI app set after the server's port is known (the app needs its own public URL)."""

    app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@pytest.fixture
def served_site(
    database_url: str, database: Database, simulator: str, tmp_path: Path
) -> Iterator[tuple[Site, str]]:
    """The app on a real loopback port (Chromium needs one), with the sandbox at the simulator.

    It runs on the server thread's own event loop with its own database handle, closed by its
    lifespan; the test reads what was stored through the `database` fixture.
    """
    late = LateApp()
    server = ServerThread(late)
    server.server.config.lifespan = "on"
    base = f"http://127.0.0.1:{server.port}"
    settings = connect_settings(database_url, tmp_path, simulator, public_url=base)
    own = Database(async_database_url(database_url))
    late.app = create_app(settings, own, sandbox_url=simulator, own_database=True)
    with server:
        yield Site(settings, database, late.app, client=None), base  # type: ignore[arg-type]  # Chromium browses


async def test_a_person_connects_accounts_by_clicking(
    served_site: tuple[Site, str], browser_url: str, make_user: MakeUser, tmp_path: Path
) -> None:
    site, base = served_site
    user = await make_user()
    token = await site.link(user)
    async with websockets.connect(browser_url, max_size=None) as socket:
        page = await Page.open(socket)
        await page.go(f"{base}/connect/{token}")
        assert "Connect your accounts" in await page.text()

        await page.click('a[href$="/twitter?sandbox=true"]')  # to the fake X and back
        await page.wait_for("location.search.startsWith('?connected=twitter-')")
        assert "Connected: twitter-" in await page.text()

        await page.click('a[href$="/bluesky?sandbox=true"]')  # a form, filled in for the sandbox
        await page.wait_for("document.querySelector('input[name=identifier]') !== null")
        await page.click("button[type=submit]")
        await page.wait_for("location.search.startsWith('?connected=bluesky-')")

        shot = await page.call("Page.captureScreenshot", {"format": "png"})
        (tmp_path / "connect-page.png").write_bytes(base64.b64decode(shot["data"]))
    rows = await site.connections(user)
    assert sorted(row.platform for row in rows) == ["bluesky", "twitter"]
    assert all(row.is_sandbox for row in rows)
