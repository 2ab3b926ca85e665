"""`/app/calendar` over HTTP: month and week views in the viewer's zone, navigation, bad values."""

from __future__ import annotations

import re

from tests.dashboard.conftest import Dash
from tests.dashboard.posts_support import Signed, sandbox_account, signed

__all__ = ["signed"]


def day_cell(html: str, day: str) -> str:
    match = re.search(rf'data-day="{day}">(.*?)</div>', html, re.S)
    assert match is not None, day
    return match.group(1)


async def test_the_page_needs_a_session(dash: Dash) -> None:
    async with dash.client() as http:
        r = await http.get("/app/calendar", params={"view": "week"})
        assert (
            r.status_code == 303 and r.headers["location"] == "/sign-in?next=%2Fapp%2Fcalendar%3Fview%3Dweek"
        )


async def test_month_and_week_show_posts_on_their_local_day(dash: Dash, signed: Signed) -> None:
    mastodon = await sandbox_account(dash, signed.user, "mastodon")
    body = {
        "content": "Late evening in UTC",
        "platforms": [mastodon],
        "scheduledTime": "2030-11-14T23:30:00Z",
    }
    group_id = (await signed.api("POST", "/create-post", json=body)).json()["postGroupId"]
    link = f'href="/app/posts/{group_id}"'
    tokyo = await signed.http.get("/app/calendar", params={"date": "2030-11-01", "tz": "Asia/Tokyo"})
    assert tokyo.status_code == 200
    assert "<h1>November 2030</h1>" in tokyo.text
    assert link in day_cell(tokyo.text, "2030-11-15") and link not in day_cell(tokyo.text, "2030-11-14")
    assert '<span class="time">08:30</span>' in day_cell(tokyo.text, "2030-11-15")
    utc = await signed.http.get("/app/calendar", params={"date": "2030-11-01", "tz": "UTC"})
    assert link in day_cell(utc.text, "2030-11-14")
    week = await signed.http.get("/app/calendar", params={"view": "week", "date": "2030-11-13", "tz": "UTC"})
    assert week.status_code == 200 and "<h1>11 Nov – 17 Nov 2030</h1>" in week.text
    assert link in day_cell(week.text, "2030-11-14")
    assert week.text.count('role="gridcell"') == 7
    assert 'href="/app/calendar?view=week&amp;date=2030-11-04&amp;tz=UTC" rel="prev"' in week.text
    assert 'href="/app/calendar?view=month&amp;date=2030-11-13&amp;tz=UTC"' in week.text


async def test_without_a_zone_the_page_asks_the_browser_for_one(signed: Signed) -> None:
    r = await signed.http.get("/app/calendar")
    assert r.status_code == 200 and "data-add-zone" in r.text
    assert '<script src="/static/dashboard/local_time.js" defer></script>' in r.text
    given = await signed.http.get("/app/calendar", params={"tz": "Europe/Berlin"})
    assert "data-add-zone" not in given.text and "Europe/Berlin" in given.text


async def test_bad_values_are_400_pages(signed: Signed) -> None:
    cases = [
        ({"view": "year"}, "Invalid view. Must be one of: month, week"),
        ({"date": "2030-02-30"}, "Invalid date. Use YYYY-MM-DD"),
        ({"tz": "Atlantis/Capital"}, "Unknown time zone: Atlantis/Capital"),
    ]
    for params, error in cases:
        r = await signed.http.get("/app/calendar", params=params)
        assert r.status_code == 400 and error in r.text, params
