"""The connect page itself: the ten platforms, connected accounts with token health, disconnect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from postpost.db.models import Connection
from postpost.services.connections import EXPIRING_SOON
from tests.conftest import MakeUser
from tests.web.conftest import MakeSite, Site

TITLES = ["X (Twitter)", "LinkedIn", "Instagram", "Threads", "TikTok", "YouTube", "Facebook", "Bluesky"]


async def test_page_lists_every_platform_and_how_it_connects(site: Site, make_user: MakeUser) -> None:
    token = await site.link(await make_user())
    r = await site.client.get(f"/connect/{token}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-store" and r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-frame-options"] == "DENY" and "script-src" not in r.headers["content-security-policy"]
    assert "<script" not in r.text and "<link" not in r.text and "src=" not in r.text, "no external assets"
    for title in [*TITLES, "Mastodon", "Telegram"]:
        assert f"<strong>{title}</strong>" in r.text
    assert "not available yet" not in r.text, "every platform connects"
    for oauth in ("twitter", "linkedin", "instagram", "threads", "tiktok", "youtube", "facebook"):
        assert f"not configured (POSTPOST_{oauth.upper()}_CLIENT_ID and _SECRET)" in r.text
    for ready in ("mastodon", "bluesky", "telegram"):
        assert f'href="/connect/{token}/{ready}"' in r.text
    assert r.text.count('?sandbox=true"') == 10
    assert f'href="/connect/{token}/linkedin?sandbox=true&amp;pages=true"' in r.text
    assert "facebook?sandbox=true&amp;pages=true" not in r.text, "Facebook connects Pages only"
    assert "No account is connected yet." in r.text


async def test_sandbox_links_only_with_the_sandbox(make_site: MakeSite, make_user: MakeUser) -> None:
    site = await make_site(sandbox=False)
    token = await site.link(await make_user())
    r = await site.client.get(f"/connect/{token}")
    assert r.status_code == 200 and "sandbox=true" not in r.text
    refused = await site.client.get(f"/connect/{token}/twitter?sandbox=true")
    assert refused.status_code == 404 and "The sandbox is turned off on this server" in refused.text


async def test_configured_platforms_offer_connect(make_site: MakeSite, make_user: MakeUser) -> None:
    site = await make_site(
        linkedin_client_id="li", linkedin_client_secret="s", tiktok_client_id="tt", tiktok_client_secret="s"
    )
    token = await site.link(await make_user())
    r = await site.client.get(f"/connect/{token}")
    assert f'href="/connect/{token}/linkedin"' in r.text and f'href="/connect/{token}/tiktok"' in r.text
    assert f'href="/connect/{token}/linkedin?pages=true"' in r.text
    assert "POSTPOST_LINKEDIN_CLIENT_ID" not in r.text and "POSTPOST_YOUTUBE_CLIENT_ID" in r.text


async def test_connected_accounts_show_token_health(site: Site, make_user: MakeUser, make_connection) -> None:
    user = await make_user(entitlements={"connections": 5})
    now = datetime.now(UTC)
    await make_connection(user, "mastodon", "1", display_name="Forever")
    await make_connection(user, "linkedin", "soon", display_name="Soon", expires_at=now + EXPIRING_SOON / 2)
    await make_connection(user, "linkedin", "gone", display_name="Gone", expires_at=now - timedelta(hours=1))
    token = await site.link(user)
    r = await site.client.get(f"/connect/{token}")
    assert "<code>mastodon-1</code>" in r.text and 'class="status-unknown">does not expire' in r.text
    assert 'class="status-expiring_soon">expiring soon (3d' in r.text
    assert 'class="status-expired">expired' in r.text
    assert r.text.count(f'href="/connect/{token}/linkedin">Reconnect') == 2
    assert "Your Pro plan allows 5 connected accounts; 3 in use." in r.text


async def test_connected_notice_names_only_the_users_own_accounts(
    site: Site, make_user: MakeUser, make_connection
) -> None:
    user = await make_user()
    await make_connection(user, "mastodon", "77")
    token = await site.link(user)
    r = await site.client.get(f"/connect/{token}", params={"connected": "mastodon-77,<b>evil</b>,twitter-1"})
    assert "Connected: mastodon-77." in r.text and "evil" not in r.text and "twitter-1" not in r.text


async def test_disconnect_reports_the_scheduled_posts_it_affects(
    site: Site, make_user: MakeUser, make_connection
) -> None:
    user = await make_user()
    pid = await make_connection(user, "mastodon", "900")
    later = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    for body in (
        {"content": "one", "platforms": [pid], "scheduledTime": later},
        {"content": "two", "platforms": [pid], "scheduledTime": later},
        {"content": "draft", "platforms": [pid]},
    ):
        created = await site.client.post("/api/v1/create-post", headers=user.headers, json=body)
        assert created.status_code == 200, created.text
    token = await site.link(user)
    r = await site.client.post(f"/connect/{token}/disconnect", data={"platformId": pid})
    assert r.status_code == 200
    assert f"Disconnected {pid}." in r.text
    assert "2 scheduled posts on this account can no longer be published" in r.text
    assert "1 draft named it." in r.text
    assert await site.connections(user) == []
    again = await site.client.post(f"/connect/{token}/disconnect", data={"platformId": pid})
    assert again.status_code == 404 and "Connection not found" in again.text


async def test_workspace_owner_disconnects_through_the_managed_users_link(
    site: Site, make_user: MakeUser, make_connection
) -> None:
    owner = await make_user(workspace=True)
    managed = await make_user(parent=owner)
    pid = await make_connection(managed, "mastodon", "5")
    answer = await site.client.post(
        f"/api/v1/workspace/users/{managed.id}/connection-url", headers=owner.headers, json={}
    )
    assert answer.status_code == 200, answer.text
    url = answer.json()["url"]
    assert url.startswith("http://test/connect/")
    page = await site.client.get(url)
    assert f"<code>{pid}</code>" in page.text
    r = await site.client.post(url + "/disconnect", data={"platformId": pid})
    assert r.status_code == 200 and "No scheduled posts were waiting on this account." in r.text
    assert await site.connections(managed) == []


async def test_only_web_addresses_are_linked_as_profiles(
    site: Site, make_user: MakeUser, make_connection
) -> None:
    user = await make_user()
    await make_connection(user, "mastodon", "1")
    await make_connection(user, "mastodon", "2")
    async with site.database.session() as session:
        rows = {row.account_id: row for row in await site.connections(user)}
        await session.execute(
            update(Connection).where(Connection.id == rows["1"].id).values(profile_url="javascript:alert(1)")
        )
        await session.execute(
            update(Connection)
            .where(Connection.id == rows["2"].id)
            .values(profile_url="https://example.social/@me")
        )
        await session.commit()
    r = await site.client.get(f"/connect/{await site.link(user)}")
    assert 'href="https://example.social/@me"' in r.text and "javascript:" not in r.text
