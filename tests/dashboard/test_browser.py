"""A real browser (Playwright on Debian's Chromium) through the dashboard, on both engines:
sign up, sign out and in, a refused forged form, an API key used on the API, a sandbox account
connected by clicking, a webhook; the pages fit a phone's width. Screenshots of each page."""

from __future__ import annotations

import re
import secrets
from typing import Any

from tests.dashboard.conftest import Dash, Shoot

PASSWORD = "a long enough password"


async def _fits(page: Any, width: int) -> bool:
    """Whether the page needs no sideways scrolling at `width` px."""
    await page.set_viewport_size({"width": width, "height": 800})
    fits = await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await page.set_viewport_size({"width": 1000, "height": 800})
    return bool(fits)


async def test_a_newcomer_signs_up_makes_a_key_connects_and_adds_a_webhook(
    dash: Dash, browser_page: Any, shoot: Shoot
) -> None:
    page = browser_page
    email = f"newcomer-{secrets.token_hex(4)}@example.com"

    # sign up
    await page.goto(f"{dash.url}/")
    assert page.url == f"{dash.url}/sign-in"
    await shoot(page, "sign-in")
    await page.keyboard.press("Tab")  # the keyboard reaches a visible skip link first
    assert await page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert await page.locator(".skip-link").is_visible()
    await page.get_by_role("link", name="Create one").click()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_label("Repeat the password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await page.wait_for_url(f"{dash.url}/app/posts")

    # sign out (from the account menu) and in again, coming back to the page asked for
    await page.goto(f"{dash.url}/app/keys")
    await page.locator("summary", has_text=email).click()
    await page.locator(".menu-panel").get_by_role("button", name="Sign out").click()
    await page.wait_for_url(f"{dash.url}/sign-in")
    await page.goto(f"{dash.url}/app/keys")
    assert page.url == f"{dash.url}/sign-in?next=%2Fapp%2Fkeys"
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill("wrong password")
    await page.get_by_role("button", name="Sign in").click()
    assert "Invalid email or password" in await page.get_by_role("alert").inner_text()
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{dash.url}/app/keys")

    # a forged form (wrong CSRF token) is refused, visibly
    await page.evaluate(
        "document.querySelector('form[action=\"/app/keys\"] input[name=csrf_token]').value = 'x'"
    )
    await page.get_by_role("button", name="Create key").click()
    assert "Invalid CSRF token" in await page.get_by_role("alert").inner_text()
    assert await page.get_by_role("heading", level=1).inner_text() == "Not allowed"

    # an API key, shown once, used on the API
    await page.goto(f"{dash.url}/app/keys")
    await page.get_by_label("Name of the new key").fill("My script")
    await page.get_by_role("button", name="Create key").click()
    raw = (await page.locator("#new-key").inner_text()).strip()
    assert re.fullmatch(r"sk_[0-9a-z]+_[0-9a-f]{16}\.[0-9a-f]{40}", raw)
    await shoot(page, "keys")
    assert await _fits(page, 360)
    async with dash.client() as api:
        r = await api.get("/api/v1/platform-connections", headers={"x-api-key": raw})
        assert r.status_code == 200 and r.json()["connections"] == []

    # a sandbox account connected by clicking: through the simulator's OAuth and back
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Channels").click()
    await page.get_by_role("link", name="Sandbox account on X").click()
    await page.wait_for_url(re.compile(r"/app/channels\?connected=twitter-"))
    assert "Connected: twitter-" in await page.get_by_role("status").first.inner_text()
    await page.get_by_role("button", name=re.compile(r"^Test twitter-")).click()
    assert ": works" in await page.get_by_role("status").first.inner_text()
    await shoot(page, "channels")
    assert await _fits(page, 360)
    async with dash.client() as api:
        connections = (await api.get("/api/v1/platform-connections", headers={"x-api-key": raw})).json()
    assert [c["platformId"].split("-")[0] for c in connections["connections"]] == ["twitter"]

    # a webhook: its secret shown once
    await page.get_by_role("link", name="Webhooks").click()
    await page.get_by_label("Name").fill("My receiver")
    await page.get_by_label("URL").fill("https://93.184.216.34/postpost")
    await page.get_by_role("button", name="Add webhook").click()
    assert re.fullmatch(r"[0-9a-f]{64}", (await page.locator("#new-secret").inner_text()).strip())
    assert await page.get_by_role("heading", name="My receiver", exact=True).is_visible()
    await shoot(page, "webhooks")
    assert await _fits(page, 360)
