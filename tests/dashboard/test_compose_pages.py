"""The composer over HTTP: the page, the preview route, create, upload URL, upload and schedule."""

from __future__ import annotations

from postpost.services.local_time import scheduled_instant
from tests.dashboard.conftest import Dash
from tests.dashboard.posts_support import Signed, draft, png, sandbox_account, sign_in, signed

__all__ = ["signed"]

INSTAGRAM_TOO_LONG = (
    "Content is too long for Instagram: 2201 characters, the limit is 2200 "
    "(Instagram does not split long posts into a thread)"
)
LONG = "Short sentences make good threads. " * 20


async def test_the_page_needs_a_session(dash: Dash) -> None:
    async with dash.client() as http:
        page = await http.get("/app/compose")
        assert page.status_code == 303
        assert page.headers["location"] == "/sign-in?next=%2Fapp%2Fcompose"
        json_routes = ("/app/compose/preview", "/app/compose/posts", "/app/media/upload-url")
        for path in (*json_routes, "/app/posts/0123456789abcdef01234567/schedule"):
            refused = await http.post(path, json={})
            assert (refused.status_code, refused.json()) == (401, {"error": "Unauthorized"}), path


async def test_the_page_lists_the_accounts_and_their_settings(dash: Dash, signed: Signed) -> None:
    empty = await signed.http.get("/app/compose")
    assert "No accounts are connected yet" in empty.text
    x = await sandbox_account(dash, signed.user, "twitter")
    tiktok = await sandbox_account(dash, signed.user, "tiktok")
    page = await signed.http.get("/app/compose")
    assert page.status_code == 200
    assert f'value="{x}" data-platform="twitter"' in page.text
    assert f'value="{tiktok}" data-platform="tiktok"' in page.text
    assert 'data-settings-for="tiktok"' in page.text and 'data-setting="viewerSetting"' in page.text
    assert 'data-settings-for="youtube"' not in page.text  # only platforms the user connected
    assert '<script src="/static/dashboard/compose.js" defer></script>' in page.text
    script = await signed.http.get("/static/dashboard/compose.js")
    assert script.status_code == 200 and "/app/compose/preview" in script.text


async def test_preview_needs_the_csrf_header_and_json(dash: Dash, signed: Signed) -> None:
    x = await sandbox_account(dash, signed.user, "twitter")
    body = {"content": "hi", "platforms": [x]}
    refused = await signed.post_json("/app/compose/preview", body, csrf=False)
    assert (refused.status_code, refused.json()) == (403, {"error": "Invalid CSRF token"})
    wrong = await signed.http.post("/app/compose/preview", json=body, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    bad = await signed.http.post(
        "/app/compose/preview",
        content=b"{not json",
        headers={"X-CSRF-Token": signed.csrf, "Content-Type": "application/json"},
    )
    assert (bad.status_code, bad.json()) == (400, {"error": "Invalid JSON body"})


async def test_preview_shows_the_split_and_create_posts_errors(dash: Dash, signed: Signed) -> None:
    x = await sandbox_account(dash, signed.user, "twitter")
    instagram = await sandbox_account(dash, signed.user, "instagram")
    image = {"type": "image", "contentType": "image/png", "fileName": "a.png", "size": 900, "width": 64}
    body = {"content": "a" * 2201, "platforms": [x, instagram], "media": [image]}
    r = await signed.post_json("/app/compose/preview", body)
    assert r.status_code == 200, r.text
    answer = r.json()
    api = await signed.api("POST", "/create-post", json=body)
    assert api.json() == {"error": INSTAGRAM_TOO_LONG}
    assert answer["ok"] is False and answer["errors"] == [INSTAGRAM_TOO_LONG]
    by_platform = {p["platform"]: p for p in answer["platforms"]}
    assert by_platform["instagram"]["errors"] == [INSTAGRAM_TOO_LONG]
    assert by_platform["instagram"]["conversions"] == [
        {"position": 1, "from": "image/png", "to": "image/jpeg"}
    ]
    assert INSTAGRAM_TOO_LONG in answer["html"] and "will be refused" in answer["html"]
    r = await signed.post_json("/app/compose/preview", {**body, "content": LONG})
    answer = r.json()
    assert answer["ok"] is True and answer["errors"] == []
    parts = {p["platform"]: p for p in answer["platforms"]}["twitter"]["parts"]
    assert [p["label"] for p in parts] == ["Post 1 of 3", "Post 2 of 3", "Post 3 of 3"]
    assert parts[2]["text"].endswith("(3/3)")
    assert "Post 2 of 3" in answer["html"] and "File 1: image/png → image/jpeg" in answer["html"]


async def test_preview_escapes_what_it_shows(dash: Dash, signed: Signed) -> None:
    x = await sandbox_account(dash, signed.user, "twitter")
    r = await signed.post_json(
        "/app/compose/preview", {"content": "<script>alert(1)</script>", "platforms": [x]}
    )
    assert "<script>alert(1)</script>" not in r.json()["html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.json()["html"]


async def test_save_a_draft_with_alt_texts(dash: Dash, signed: Signed) -> None:
    mastodon = await sandbox_account(dash, signed.user, "mastodon")
    body = {"content": "a draft", "platforms": [mastodon], "altTexts": ["A blue square"]}
    r = await signed.post_json("/app/compose/posts", body)
    assert r.status_code == 200, r.text
    group_id = r.json()["postGroupId"]
    assert r.json()["url"] == f"/app/posts/{group_id}"
    got = (await signed.api("GET", f"/get-post/{group_id}")).json()
    assert got["status"] == "draft" and got["altTexts"] == ["A blue square"]
    assert (await signed.post_json("/app/compose/posts", body, csrf=False)).status_code == 403


async def test_create_refuses_what_create_post_refuses(signed: Signed) -> None:
    r = await signed.post_json("/app/compose/posts", {"content": "x", "platforms": ["twitter-404"]})
    assert (r.status_code, r.json()) == (400, {"error": "Platform connection not found: twitter-404"})
    r = await signed.post_json("/app/compose/posts", {"content": "", "platforms": []})
    assert (r.status_code, r.json()) == (400, {"error": "Content is required"})


async def test_scheduling_checks_time_zone_and_preview_before_storing(dash: Dash, signed: Signed) -> None:
    instagram = await sandbox_account(dash, signed.user, "instagram")
    body = {"content": "needs a picture", "platforms": [instagram], "schedule": True}
    cases = [
        ({}, "Choose the date and time to publish at"),
        ({"scheduledLocal": "2030-01-01T10:00", "timeZone": "Mars/Base"}, "Unknown time zone: Mars/Base"),
        ({"scheduledLocal": "soon", "timeZone": "UTC"}, "Invalid scheduled time format"),
        ({"scheduledLocal": "2030-01-01T10:00", "timeZone": "Europe/Paris"}, "Instagram posts require media"),
    ]
    for extra, error in cases:
        r = await signed.post_json("/app/compose/posts", {**body, **extra})
        assert (r.status_code, r.json()) == (400, {"error": error}), extra
    listing = (await signed.api("GET", "/list-posts")).json()
    assert listing["pagination"]["totalItems"] == 0


async def test_upload_then_schedule_in_the_viewers_time_zone(dash: Dash, signed: Signed) -> None:
    instagram = await sandbox_account(dash, signed.user, "instagram")
    image = {"type": "image", "contentType": "image/png", "fileName": "a.png", "size": len(png())}
    timing = {"scheduledLocal": "2030-07-01T09:30", "timeZone": "Europe/Berlin"}
    body = {"content": "a picture", "platforms": [instagram], "media": [image], "schedule": True, **timing}
    created = await signed.post_json("/app/compose/posts", body)
    assert created.status_code == 200, created.text
    group_id = created.json()["postGroupId"]
    early = await signed.post_json(f"/app/posts/{group_id}/schedule", timing)
    assert early.status_code == 400
    assert early.json()["error"].startswith("Instagram posts require media")
    signed_url = await signed.post_json(
        "/app/media/upload-url", {"postGroupId": group_id, "fileName": "a.png", "contentType": "image/png"}
    )
    assert signed_url.status_code == 200, signed_url.text
    upload = signed_url.json()["uploadUrl"]
    assert upload.startswith("/media/")  # on the page's own origin
    pending = await signed.post_json(f"/app/posts/{group_id}/schedule", timing)
    assert pending.status_code == 400 and "has not been uploaded yet" in pending.json()["error"]
    put = await signed.http.put(upload, content=png(), headers={"Content-Type": "image/png"})
    assert put.status_code == 200, put.text
    scheduled = await signed.post_json(f"/app/posts/{group_id}/schedule", timing)
    assert scheduled.status_code == 200, scheduled.text
    assert scheduled.json()["scheduledTime"] == "2030-07-01T07:30:00.000Z"
    assert scheduled.json()["url"] == f"/app/posts/{group_id}?done=scheduled"
    got = (await signed.api("GET", f"/get-post/{group_id}")).json()
    assert got["status"] == "scheduled" and got["scheduledTime"] == "2030-07-01T07:30:00.000Z"
    assert len(got["media"]) == 1


async def test_routes_refuse_another_users_group(dash: Dash, signed: Signed) -> None:
    other = await sign_in(dash, await dash.make_user())
    try:
        group_id = await draft(other, await sandbox_account(dash, other.user, "mastodon"))
    finally:
        await other.http.aclose()
    body = {"postGroupId": group_id, "fileName": "a.png", "contentType": "image/png"}
    r = await signed.post_json("/app/media/upload-url", body)
    assert (r.status_code, r.json()) == (404, {"error": "Post group not found"})
    timing = {"scheduledLocal": "2030-01-01T10:00", "timeZone": "UTC"}
    r = await signed.post_json(f"/app/posts/{group_id}/schedule", timing)
    assert (r.status_code, r.json()) == (404, {"error": "Post group not found"})


async def test_upload_url_refuses_a_file_type(dash: Dash, signed: Signed) -> None:
    group_id = await draft(signed, await sandbox_account(dash, signed.user, "mastodon"))
    body = {"postGroupId": group_id, "fileName": "a.pdf", "contentType": "application/pdf"}
    api = await signed.api("POST", "/get-upload-url", json=body)
    r = await signed.post_json("/app/media/upload-url", body)
    assert r.status_code == 400 and r.json() == api.json()


def test_local_times_are_stored_in_utc() -> None:
    # the conversion the schedule routes rely on, on the day Berlin moves to summer time
    assert scheduled_instant("2030-03-31T03:30", "Europe/Berlin") == "2030-03-31T01:30:00.000Z"


async def test_a_workspace_owner_composes_for_the_managed_user(dash: Dash) -> None:
    owner = await dash.make_user(workspace=True)
    managed = await dash.make_user(parent=owner)
    mastodon = await sandbox_account(dash, managed, "mastodon")
    session = await sign_in(dash, owner)
    try:
        before = await session.http.get("/app/compose")
        assert mastodon not in before.text
        form = {"csrf_token": session.csrf, "user_id": managed.id, "next": "/app/compose"}
        assert (await session.http.post("/app/workspace", data=form)).status_code == 303
        assert f'value="{mastodon}"' in (await session.http.get("/app/compose")).text
        group_id = await draft(session, mastodon, "for the managed user")
        as_managed = await session.http.get(f"/api/v1/get-post/{group_id}", headers=managed.headers)
        assert as_managed.status_code == 200 and as_managed.json()["content"] == "for the managed user"
        as_owner = await session.api("GET", f"/get-post/{group_id}")
        assert as_owner.status_code == 404
        assert group_id in (await session.http.get("/app/posts")).text
    finally:
        await session.http.aclose()
