"""OAuth flows of the connect page against the simulator, followed as a browser follows redirects."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
import pytest
from sqlalchemy import func, select, update

from postpost.db.models import OAuthState
from tests.conftest import MakeUser, TestUser
from tests.web.conftest import BASE, Site, query_of

OAUTH_PLATFORMS = ["twitter", "linkedin", "tiktok", "youtube", "mastodon"]
TWITTER_SCOPES = ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access", "bookmark.read")


async def follow(site: Site, url: str) -> httpx.Response:
    """GET `url` and every redirect after it."""
    return await site.client.get(url, follow_redirects=True)


async def authorize_url(site: Site, token: str, platform: str, query: str = "?sandbox=true") -> str:
    """Start a flow; the platform's authorization URL it redirects to."""
    r = await site.client.get(f"/connect/{token}/{platform}{query}")
    assert r.status_code == 302, r.text
    assert r.headers["referrer-policy"] == "no-referrer"
    return r.headers["location"]


async def state_rows(site: Site, user: TestUser) -> int:
    """The user's flows waiting for a callback or a choice."""
    async with site.database.session() as session:
        found = await session.scalar(
            select(func.count()).select_from(OAuthState).where(OAuthState.user_id == user.id)
        )
        return int(found or 0)


@pytest.mark.parametrize("platform", OAUTH_PLATFORMS)
async def test_sandbox_flow_connects_an_account_that_works(
    site: Site, make_user: MakeUser, platform: str, secrets_of
) -> None:
    user = await make_user()
    token = await site.link(user)
    r = await follow(site, f"/connect/{token}/{platform}?sandbox=true")
    assert r.status_code == 200, r.text
    assert r.url.path == f"/connect/{token}"
    answer = await site.client.get("/api/v1/platform-connections", headers=user.headers)
    listed = answer.json()["connections"]
    assert len(listed) == 1
    connection = listed[0]
    platform_id = connection["platformId"]
    assert platform_id.startswith(f"{platform}-") and f"Connected: {platform_id}" in r.text
    assert connection["username"] and connection["displayName"]
    [row] = await site.connections(user)
    assert row.is_sandbox and row.base_url is None and row.scopes
    stored = secrets_of(row)
    assert stored["access_token"] not in (row.secrets or ""), "tokens are stored encrypted"
    now = datetime.now(UTC)
    if platform in ("twitter", "tiktok", "youtube"):  # refreshed by the adapter: its own end in the secrets
        assert int(stored["access_expires_at"]) > now.timestamp()
    if platform == "tiktok":  # the connection lasts as long as the refresh token
        assert row.access_token_expires_at is not None
        assert row.access_token_expires_at > now + timedelta(days=300)
    elif platform == "linkedin":  # the 60-day access token is the connection's end
        assert row.access_token_expires_at is not None
        assert now + timedelta(days=59) < row.access_token_expires_at < now + timedelta(days=61)
        assert stored["author_urn"] == f"urn:li:person:{row.account_id}"
    else:
        assert row.access_token_expires_at is None and connection["tokenStatus"] == "unknown"
    check = await site.client.post(f"/api/v1/test-connection/{platform_id}", headers=user.headers)
    assert check.json()["status"] == "ok", check.text
    assert await state_rows(site, user) == 0, "the state was spent"


async def test_authorization_url_carries_state_and_pkce(site: Site, make_user: MakeUser) -> None:
    token = await site.link(await make_user())
    url = await authorize_url(site, token, "twitter")
    assert url.startswith(f"{site.settings.sandbox_url}/twitter/i/oauth2/authorize?")
    q = query_of(url)
    assert q["client_id"] == "postpost-sandbox" and q["response_type"] == "code"
    assert q["redirect_uri"] == f"{BASE}/oauth/callback/twitter"
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
    assert len(q["state"]) >= 40 and token not in url
    assert set(q["scope"].split()) == set(TWITTER_SCOPES)
    tiktok = query_of(await authorize_url(site, token, "tiktok"))
    assert tiktok["client_key"] == "postpost-sandbox"
    assert tiktok["scope"] == "user.info.basic,video.publish,video.list"
    youtube = query_of(await authorize_url(site, token, "youtube"))
    assert youtube["access_type"] == "offline" and youtube["code_challenge_method"] == "S256"


async def test_configured_app_sends_the_browser_to_the_platform(make_site, make_user: MakeUser) -> None:
    site = await make_site(twitter_client_id="my-app", twitter_client_secret="s3cret")
    token = await site.link(await make_user())
    page = await site.client.get(f"/connect/{token}")
    assert f'href="/connect/{token}/twitter"' in page.text
    url = await authorize_url(site, token, "twitter", "")
    assert url.startswith("https://x.com/i/oauth2/authorize?")
    assert query_of(url)["client_id"] == "my-app" and "s3cret" not in url


async def test_unconfigured_platform_is_refused_with_a_page(site: Site, make_user: MakeUser) -> None:
    token = await site.link(await make_user())
    r = await site.client.get(f"/connect/{token}/linkedin")
    assert r.status_code == 400
    assert "LinkedIn is not configured on this server" in r.text
    assert "POSTPOST_LINKEDIN_CLIENT_ID" in r.text and r.headers["content-type"].startswith("text/html")


async def test_tampered_state_is_refused(site: Site, make_user: MakeUser) -> None:
    user = await make_user()
    token = await site.link(user)
    url = await authorize_url(site, token, "twitter")
    back = await site.client.get(url)  # the fake approves and sends the browser back
    callback = back.headers["location"]
    q = query_of(callback)
    tampered = f"/oauth/callback/twitter?{urlencode({'code': q['code'], 'state': q['state'][:-2] + 'xx'})}"
    r = await site.client.get(tampered)
    assert r.status_code == 400 and "not valid or was already used" in r.text
    assert await site.connections(user) == []
    missing = await site.client.get(f"/oauth/callback/twitter?code={q['code']}")
    assert missing.status_code == 400
    ok = await follow(site, callback)  # the untouched state still works: tampering spent nothing
    assert ok.status_code == 200 and len(await site.connections(user)) == 1


async def test_state_is_single_use(site: Site, make_user: MakeUser) -> None:
    user = await make_user()
    token = await site.link(user)
    back = await site.client.get(await authorize_url(site, token, "youtube"))
    callback = back.headers["location"]
    first = await follow(site, callback)
    assert first.status_code == 200
    again = await site.client.get(callback)
    assert again.status_code == 400 and "already used" in again.text
    assert len(await site.connections(user)) == 1


async def test_expired_state_is_refused(site: Site, make_user: MakeUser) -> None:
    user = await make_user()
    token = await site.link(user)
    back = await site.client.get(await authorize_url(site, token, "linkedin"))
    async with site.database.session() as session:
        past = datetime.now(UTC) - timedelta(seconds=1)
        await session.execute(update(OAuthState).where(OAuthState.user_id == user.id).values(expires_at=past))
        await session.commit()
    r = await site.client.get(back.headers["location"])
    assert r.status_code == 410 and "expired" in r.text
    assert await site.connections(user) == []
    assert await state_rows(site, user) == 0


async def test_state_of_another_platform_is_refused(site: Site, make_user: MakeUser) -> None:
    user = await make_user()
    token = await site.link(user)
    back = await site.client.get(await authorize_url(site, token, "tiktok"))
    elsewhere = back.headers["location"].replace("/oauth/callback/tiktok", "/oauth/callback/youtube")
    r = await site.client.get(elsewhere)
    assert r.status_code == 400 and await site.connections(user) == []


async def test_denied_consent_stores_nothing(site: Site, make_user: MakeUser) -> None:
    user = await make_user()
    token = await site.link(user)
    state = query_of(await authorize_url(site, token, "linkedin"))["state"]
    query = urlencode({"error": "access_denied", "error_description": "The member declined", "state": state})
    r = await site.client.get(f"/oauth/callback/linkedin?{query}")
    assert r.status_code == 403
    assert "You did not allow postpost to use your LinkedIn account" in r.text
    assert f'href="/connect/{token}"' in r.text
    assert await site.connections(user) == [] and await state_rows(site, user) == 0


@pytest.mark.parametrize("platform", ["twitter", "youtube", "mastodon"])
async def test_pkce_verifier_is_checked_by_the_platform(
    site: Site, make_user: MakeUser, platform: str
) -> None:
    """A code bound to another challenge cannot be redeemed with this flow's verifier."""
    user = await make_user()
    token = await site.link(user)
    url = await authorize_url(site, token, platform)
    parts = urlsplit(url)
    q = query_of(url)
    other = base64.urlsafe_b64encode(hashlib.sha256(b"x" * 50).digest()).decode().rstrip("=")
    forged = urlunsplit(parts._replace(query=urlencode(q | {"code_challenge": other})))
    back = await site.client.get(forged)
    assert back.status_code == 302
    r = await site.client.get(back.headers["location"])
    assert r.status_code == 400, r.text
    assert "did not accept the authorization" in r.text
    assert await site.connections(user) == []


async def test_unknown_and_expired_links(site: Site, make_user: MakeUser) -> None:
    user = await make_user()
    token = await site.link(user)
    user_id = token.split(".")[0]
    unknown = await site.client.get(f"/connect/{user_id}.AAAA/twitter?sandbox=true")
    assert unknown.status_code == 404 and "not valid" in unknown.text
    garbage = await site.client.get("/connect/nonsense")
    assert garbage.status_code == 404
    expired = await site.link(user, days=1 / 86400 / 10)  # a tenth of a second
    await asyncio.sleep(0.2)
    paths = (f"/connect/{expired}", f"/connect/{expired}/twitter?sandbox=true", f"/connect/{expired}/bluesky")
    for path in paths:
        r = await site.client.get(path)
        assert r.status_code == 410, path
        assert "expired" in r.text
    assert await site.connections(user) == []


async def test_link_rotated_during_the_flow_stores_nothing(site: Site, make_user: MakeUser) -> None:
    user = await make_user()
    token = await site.link(user)
    back = await site.client.get(await authorize_url(site, token, "twitter"))
    await site.link(user)  # rotated: the old link is revoked
    r = await site.client.get(back.headers["location"])
    assert r.status_code == 404 and await site.connections(user) == []


async def test_one_users_link_never_adds_to_another(site: Site, make_user: MakeUser) -> None:
    alice, bob = await make_user(), await make_user()
    alice_token, bob_token = await site.link(alice), await site.link(bob)
    back = await site.client.get(await authorize_url(site, alice_token, "tiktok"))
    r = await follow(site, back.headers["location"])
    assert r.url.path == f"/connect/{alice_token}"
    assert len(await site.connections(alice)) == 1 and await site.connections(bob) == []
    [row] = await site.connections(alice)
    gone = await site.client.post(f"/connect/{bob_token}/disconnect", data={"platformId": row.compound_id})
    assert gone.status_code == 404 and "Connection not found" in gone.text
    assert len(await site.connections(alice)) == 1
    bob_page = await site.client.get(f"/connect/{bob_token}")
    assert row.compound_id not in bob_page.text


async def test_connecting_past_the_plan_limit_is_refused(
    site: Site, make_user: MakeUser, make_connection
) -> None:
    user = await make_user(entitlements={"connections": 1})
    await make_connection(user, "mastodon")
    token = await site.link(user)
    r = await follow(site, f"/connect/{token}/twitter?sandbox=true")
    assert r.status_code == 403
    assert "more connected channels than your" in r.text and "CONNECTIONS_OVER_LIMIT" in r.text
    assert len(await site.connections(user)) == 1


async def test_workspace_limit_counts_the_owners_pool(
    site: Site, make_user: MakeUser, make_connection
) -> None:
    owner = await make_user("pro", workspace=True, entitlements={"connections": 2, "apiAccess": True})
    managed = await make_user(parent=owner)
    await make_connection(owner, "mastodon")
    token = await site.link(managed)
    first = await follow(site, f"/connect/{token}/youtube?sandbox=true")
    assert first.status_code == 200
    second = await follow(site, f"/connect/{token}/youtube?sandbox=true")
    assert second.status_code == 403 and "CONNECTIONS_OVER_LIMIT" in second.text
    assert len(await site.connections(managed)) == 1


async def test_linkedin_organisations_are_chosen_on_a_page(
    site: Site, make_user: MakeUser, secrets_of
) -> None:
    user = await make_user()
    token = await site.link(user)
    url = await authorize_url(site, token, "linkedin", "?sandbox=true&pages=true")
    assert {"rw_organization_admin", "w_organization_social"} <= set(query_of(url)["scope"].split())
    r = await follow(site, url)
    assert r.status_code == 200 and "Choose the LinkedIn pages to connect" in r.text
    assert await site.connections(user) == []
    key = r.text.split('name="key" value="')[1].split('"')[0]
    pages = [chunk.split('"')[0] for chunk in r.text.split('name="page" value="')[1:]]
    assert len(pages) == 2
    form = {"key": key, "page": [pages[0]]}
    chosen = await site.client.post(f"/connect/{token}/linkedin/pages", data=form, follow_redirects=True)
    assert chosen.status_code == 200 and f"linkedin-{pages[0]}" in chosen.text
    [row] = await site.connections(user)
    assert row.account_id == pages[0] and row.display_name == f"Sandbox Organization {pages[0]}"
    assert secrets_of(row)["author_urn"] == f"urn:li:organization:{pages[0]}"
    again = await site.client.post(f"/connect/{token}/linkedin/pages", data=form)
    assert again.status_code == 400 and len(await site.connections(user)) == 1


async def test_a_choice_cannot_be_used_with_another_link(site: Site, make_user: MakeUser) -> None:
    alice, bob = await make_user(), await make_user()
    alice_token, bob_token = await site.link(alice), await site.link(bob)
    r = await follow(site, await authorize_url(site, alice_token, "linkedin", "?sandbox=true&pages=true"))
    key = r.text.split('name="key" value="')[1].split('"')[0]
    page = r.text.split('name="page" value="')[1].split('"')[0]
    stolen = await site.client.post(f"/connect/{bob_token}/linkedin/pages", data={"key": key, "page": page})
    assert stolen.status_code == 400
    assert await site.connections(alice) == [] and await site.connections(bob) == []


async def test_reconnecting_replaces_tokens_without_counting(
    site: Site, make_user: MakeUser, make_connection, secrets_of
) -> None:
    user = await make_user(entitlements={"connections": 1})
    token = await site.link(user)
    form = {"identifier": "same-person.bsky.social", "password": "first-app-password", "sandbox": "true"}
    first = await site.client.post(f"/connect/{token}/bluesky", data=form, follow_redirects=True)
    assert first.status_code == 200
    [before] = await site.connections(user)
    async with site.database.session() as session:
        stale = {"message": "refresh refused", "occurredAt": "2026-01-01T00:00:00.000Z"}
        await session.execute(
            update(type(before)).where(type(before).id == before.id).values(last_error=stale)
        )
        await session.commit()
    second = await site.client.post(
        f"/connect/{token}/bluesky", data=form | {"password": "second-app-password"}, follow_redirects=True
    )
    assert second.status_code == 200, second.text
    [after] = await site.connections(user)
    assert after.id == before.id and after.secrets_version == before.secrets_version + 1
    assert secrets_of(after)["app_password"] == "second-app-password" and after.last_error is None
