"""A real browser signs up and lands on the posts page (both engines)."""

from __future__ import annotations

import secrets
from typing import Any

from tests.dashboard.conftest import Dash, Shoot


async def test_sign_up_lands_on_the_posts_page(dash: Dash, browser_page: Any, shoot: Shoot) -> None:
    page = browser_page
    email = f"new-{secrets.token_hex(4)}@example.com"
    await page.goto(f"{dash.url}/")
    assert page.url == f"{dash.url}/sign-in"
    await page.get_by_role("link", name="Create one").click()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password", exact=True).fill("a long enough password")
    await page.get_by_label("Repeat the password").fill("a long enough password")
    await shoot(page, "sign-up")
    await page.get_by_role("button", name="Create account").click()
    await page.wait_for_url(f"{dash.url}/app/posts")
    await page.goto(f"{dash.url}/sign-out")  # signed in: the confirmation names the account
    assert f"Sign out of {email}?" in await page.inner_text("main")
    await page.get_by_role("main").get_by_role("button", name="Sign out").click()
    await page.wait_for_url(f"{dash.url}/sign-in")
