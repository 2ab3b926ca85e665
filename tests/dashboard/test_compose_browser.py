"""A real browser composes a post with an image, sees the preview, schedules it and watches it publish.

On both engines, against `postpost serve`'s app with sandbox accounts (the mounted simulator) and
its in-process worker. The browser runs in Berlin time, so the schedule goes through the time-zone
conversion; the post is scheduled a few seconds ahead and the detail page is polled until the
worker has published it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.dashboard.conftest import VIEWPORT, Dash, Shoot
from tests.dashboard.posts_support import png, sandbox_account

ZONE = "Europe/Berlin"
INSTAGRAM_TOO_LONG = (
    "Content is too long for Instagram: 2201 characters, the limit is 2200 "
    "(Instagram does not split long posts into a thread)"
)
THREAD = (
    "We shipped the dashboard today. It composes, previews and schedules posts for every network. "
    "Each platform counts characters its own way, so the preview shows the parts exactly as they go out. "
    "X gets a thread when the text is long, Instagram gets one caption with the picture. "
    "Times are typed in your own time zone and stored in UTC. "
    "Drafts can wait; scheduled posts publish on time through the worker. "
    "Every step is written to the post's timeline, and a failure keeps its error object for you to read."
)
PHONE = {"width": 360, "height": 740}
PUBLISH_DEADLINE = 90  # seconds to wait for the worker before failing (not a timing assertion)


async def wait_until_published(page: Any) -> None:
    deadline = time.monotonic() + PUBLISH_DEADLINE
    while True:
        status = (await page.locator("#group-status").inner_text()).strip()
        if status in ("published", "failed", "partially published"):
            break
        if time.monotonic() > deadline:
            pytest.fail(f"the post is still {status!r}")
        await asyncio.sleep(0.5)
        await page.reload()
    assert status == "published", await page.inner_text("main")


async def test_compose_preview_schedule_publish_and_calendar(dash: Dash, browser: Any, shoot: Shoot) -> None:
    expect = pytest.importorskip("playwright.async_api").expect
    user = await dash.make_user()
    x = await sandbox_account(dash, user, "twitter")
    instagram = await sandbox_account(dash, user, "instagram")
    context = await browser.new_context(viewport=VIEWPORT, timezone_id=ZONE)
    context.set_default_timeout(20_000)
    try:
        cookie = await dash.session_cookie(user)
        await context.add_cookies(
            [
                {
                    "name": "postpost_session",
                    "value": cookie,
                    "url": dash.url,
                    "httpOnly": True,
                    "sameSite": "Lax",
                }
            ]
        )
        page = await context.new_page()
        await page.goto(f"{dash.url}/app/compose")
        await expect(page.locator("#zone-hint")).to_contain_text(ZONE)
        await page.locator(f'input[value="{x}"]').check()
        await page.locator(f'input[value="{instagram}"]').check()
        await page.set_input_files(
            "#files", files=[{"name": "square.png", "mimeType": "image/png", "buffer": png(320, 240)}]
        )
        await page.get_by_label("Alt text for square.png").fill("A blue rectangle")
        await page.get_by_label("Alt text for square.png").press("Enter")  # does not submit

        preview = page.locator("#preview")
        await page.get_by_label("Post text").fill("a" * 2201)
        instagram_preview = preview.locator(f'[data-platform-id="{instagram}"]')
        await expect(instagram_preview).to_contain_text(INSTAGRAM_TOO_LONG)
        await expect(instagram_preview).to_contain_text("will be refused")
        await expect(page.get_by_role("status")).to_have_text(
            "Preview updated: 1 of 2 accounts would refuse this post."
        )

        await page.get_by_label("Post text").fill(THREAD)
        x_preview = preview.locator(f'[data-platform-id="{x}"]')
        await expect(x_preview).to_contain_text("Post 3 of 3")
        await expect(x_preview.locator(".part")).to_have_count(3)
        await expect(instagram_preview).to_contain_text("ready")
        await expect(page.get_by_role("status")).to_have_text("Preview updated: ready to publish.")
        await expect(instagram_preview).to_contain_text("File 1: image/png → image/jpeg")
        await page.locator("#content").blur()
        await page.evaluate("window.scrollTo(0, 0)")
        await shoot(page, "compose")

        await expect(page.locator("#submit-problem")).to_be_hidden()
        soon = datetime.now(ZoneInfo(ZONE)) + timedelta(seconds=5)
        await page.locator("#scheduled-local").fill(soon.strftime("%Y-%m-%dT%H:%M:%S"))
        await page.get_by_role("button", name="Schedule").click()
        await page.wait_for_url("**/app/posts/*?done=scheduled")
        await expect(page.locator("main")).to_contain_text("The post is scheduled.")
        group_id = page.url.rsplit("/", 1)[1].split("?")[0]

        await wait_until_published(page)
        platforms = page.locator(".platform-status")
        await expect(platforms.get_by_role("link", name="View the published post")).to_have_count(4)
        await expect(page.locator(".media-list img")).to_have_attribute("alt", "A blue rectangle")
        await expect(page.locator(".timeline")).to_contain_text("published")
        await expect(platforms.locator(".thread-part")).to_have_text(
            ["thread post 1", "thread post 2", "thread post 3"]
        )
        await shoot(page, "post-detail")

        await page.goto(f"{dash.url}/app/calendar")
        await page.wait_for_url("**/app/calendar?tz=Europe%2FBerlin")
        today = soon.date().isoformat()
        await expect(page.locator(f'[data-day="{today}"] a[href="/app/posts/{group_id}"]')).to_be_visible()
        await shoot(page, "calendar")

        await page.goto(f"{dash.url}/app/posts")
        row = page.locator("tr", has=page.locator(f'a[href="/app/posts/{group_id}"]'))
        await expect(row).to_contain_text("published")
        await shoot(page, "posts")

        await page.set_viewport_size(PHONE)
        for path in ("/app/compose", "/app/posts", f"/app/posts/{group_id}", "/app/calendar?tz=UTC"):
            await page.goto(f"{dash.url}{path}")
            width = await page.evaluate("document.scrollingElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} is {width} px wide on a phone"
    finally:
        await context.close()
