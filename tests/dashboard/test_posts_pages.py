"""`/app/posts` and `/app/posts/{id}` over HTTP: filters, detail (error, links, timeline), reschedule."""

from __future__ import annotations

import re

from sqlalchemy import update

from postpost.db.models import Post, PostGroup
from tests.dashboard.conftest import Dash
from tests.dashboard.posts_support import Signed, draft, sandbox_account, sign_in, signed

__all__ = ["signed"]

FUTURE = "2030-11-05T10:00:00.000Z"


async def schedule(signed: Signed, platform_id: str, content: str, when: str = FUTURE) -> str:
    body = {"content": content, "platforms": [platform_id], "scheduledTime": when}
    r = await signed.api("POST", "/create-post", json=body)
    assert r.status_code == 200, r.text
    return str(r.json()["postGroupId"])


async def test_pages_need_a_session(dash: Dash) -> None:
    async with dash.client() as http:
        for path in ("/app/posts", "/app/posts/0123456789abcdef01234567"):
            r = await http.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/sign-in?next=%2Fapp%2Fposts")
        r = await http.post("/app/posts/0123456789abcdef01234567/reschedule", data={"csrf_token": "x"})
        assert r.status_code == 303
        assert r.headers["location"] == "/sign-in?next=%2Fapp%2Fposts%2F0123456789abcdef01234567%2Freschedule"


async def test_the_list_uses_list_posts_filters(dash: Dash, signed: Signed) -> None:
    mastodon = await sandbox_account(dash, signed.user, "mastodon")
    bluesky = await sandbox_account(dash, signed.user, "bluesky")
    planned = await schedule(signed, mastodon, "Planned on Mastodon")
    held = await draft(signed, bluesky, "Held on Bluesky")
    everything = await signed.http.get("/app/posts")
    assert everything.status_code == 200
    assert (
        f'href="/app/posts/{planned}"' in everything.text and f'href="/app/posts/{held}"' in everything.text
    )
    assert "2 posts" in everything.text
    only_scheduled = await signed.http.get("/app/posts", params={"status": "scheduled"})
    assert planned in only_scheduled.text and held not in only_scheduled.text
    only_bluesky = await signed.http.get("/app/posts", params={"platform": "bluesky"})
    assert held in only_bluesky.text and planned not in only_bluesky.text
    dated = await signed.http.get("/app/posts", params={"fromDate": "2030-11-01", "toDate": "2030-11-30"})
    assert planned in dated.text and held not in dated.text
    paged = await signed.http.get(
        "/app/posts", params={"limit": "1", "sortBy": "createdAt", "sortOrder": "asc"}
    )
    assert planned in paged.text and held not in paged.text
    assert "page 1 of 2" in paged.text
    next_link = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', paged.text)
    assert next_link is not None
    second = await signed.http.get(next_link.group(1).replace("&amp;", "&"))
    assert held in second.text and planned not in second.text


async def test_bad_filters_are_the_apis_400s_on_the_page(signed: Signed) -> None:
    cases = {
        "status": (
            "gone",
            "Invalid status. Must be one of: draft, scheduled, published, failed, partially_published",
        ),
        "sortBy": ("size", "Invalid sortBy. Must be one of: createdAt, updatedAt, scheduledTime"),
        "fromDate": ("not a date", "Invalid fromDate format"),
    }
    for name, (value, error) in cases.items():
        r = await signed.http.get("/app/posts", params={name: value})
        api = await signed.api("GET", "/list-posts", params={name: value})
        assert api.json() == {"error": error}
        assert r.status_code == 400 and error in r.text, name


async def test_detail_shows_status_errors_links_and_the_timeline(dash: Dash, signed: Signed) -> None:
    x = await sandbox_account(dash, signed.user, "twitter")
    mastodon = await sandbox_account(dash, signed.user, "mastodon")
    body = {"content": "Two <b>places</b>", "platforms": [x, mastodon], "scheduledTime": FUTURE}
    group_id = (await signed.api("POST", "/create-post", json=body)).json()["postGroupId"]
    error = {"code": "RATE_LIMITED", "message": "Too many posts", "retryable": True}
    async with dash.database.session() as session:  # the outcome a worker would have recorded
        await session.execute(
            update(Post).where(Post.group_id == group_id, Post.platform == "twitter").values(error=error)
        )
        await session.execute(
            update(Post)
            .where(Post.group_id == group_id, Post.platform == "mastodon")
            .values(posted_id="42", posted_url="https://mastodon.example/@me/42")
        )
        await session.commit()
    page = await signed.http.get(f"/app/posts/{group_id}")
    assert page.status_code == 200
    text = page.text
    assert "Two &lt;b&gt;places&lt;/b&gt;" in text
    assert "<dt>code</dt><dd>RATE_LIMITED</dd>" in text and "<dd>Too many posts</dd>" in text
    assert 'href="https://mastodon.example/@me/42"' in text
    assert f'datetime="{FUTURE}"' in text
    assert "<strong>scheduled</strong>" in text  # the timeline's first event
    assert 'action="/app/posts/' + group_id + '/reschedule"' in text


async def test_detail_is_404_for_unknown_or_foreign_groups(dash: Dash, signed: Signed) -> None:
    other = await sign_in(dash, await dash.make_user())
    try:
        foreign = await draft(other, await sandbox_account(dash, other.user, "mastodon"))
    finally:
        await other.http.aclose()
    for group_id in (foreign, "0123456789abcdef01234567", "not-an-id"):
        r = await signed.http.get(f"/app/posts/{group_id}")
        assert r.status_code == 404 and "Post group not found" in r.text, group_id


async def test_reschedule_by_editing_the_time(dash: Dash, signed: Signed) -> None:
    mastodon = await sandbox_account(dash, signed.user, "mastodon")
    group_id = await schedule(signed, mastodon, "Move me")
    form = {"csrf_token": signed.csrf, "scheduled_local": "2030-12-24T18:00", "time_zone": "America/New_York"}
    r = await signed.http.post(f"/app/posts/{group_id}/reschedule", data=form)
    assert r.status_code == 303 and r.headers["location"] == f"/app/posts/{group_id}?done=rescheduled"
    got = (await signed.api("GET", f"/get-post/{group_id}")).json()
    assert got["scheduledTime"] == "2030-12-24T23:00:00.000Z"
    shown = await signed.http.get(r.headers["location"])
    assert "The post was rescheduled." in shown.text
    assert 'data-utc="2030-12-24T23:00:00.000Z"' in shown.text
    draft_id = await draft(signed, mastodon, "Schedule me")
    r = await signed.http.post(f"/app/posts/{draft_id}/reschedule", data=form)
    assert r.status_code == 303
    assert (await signed.api("GET", f"/get-post/{draft_id}")).json()["status"] == "scheduled"


async def test_reschedule_errors_are_shown_on_the_page(dash: Dash, signed: Signed) -> None:
    mastodon = await sandbox_account(dash, signed.user, "mastodon")
    group_id = await schedule(signed, mastodon, "Keep me")
    path = f"/app/posts/{group_id}/reschedule"
    no_csrf = await signed.http.post(path, data={"scheduled_local": "2030-01-01T10:00", "time_zone": "UTC"})
    assert no_csrf.status_code == 403 and "Invalid CSRF token" in no_csrf.text
    cases = [
        ({"scheduled_local": "", "time_zone": "UTC"}, "Choose the date and time to publish at"),
        (
            {"scheduled_local": "2030-01-01T10:00", "time_zone": "Nowhere/City"},
            "Unknown time zone: Nowhere/City",
        ),
        ({"scheduled_local": "01/01/2030", "time_zone": "UTC"}, "Invalid scheduled time format"),
    ]
    for values, error in cases:
        r = await signed.http.post(path, data={"csrf_token": signed.csrf, **values})
        assert r.status_code == 400 and error in r.text, values
        assert f'value="{values["scheduled_local"]}"' in r.text  # what was typed stays in the field
    got = (await signed.api("GET", f"/get-post/{group_id}")).json()
    assert got["scheduledTime"] == FUTURE
    async with dash.database.session() as session:
        await session.execute(update(Post).where(Post.group_id == group_id).values(status="published"))
        await session.execute(update(PostGroup).where(PostGroup.id == group_id).values(status="published"))
        await session.commit()
    done = await signed.http.post(
        path, data={"csrf_token": signed.csrf, "scheduled_local": "2030-01-01T10:00", "time_zone": "UTC"}
    )
    assert done.status_code == 400
    assert "Cannot update post: post is currently in published status" in done.text
    assert 'action="' + path + '"' not in done.text  # a published post has no reschedule form
