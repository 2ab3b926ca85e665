"""Connecting Facebook Pages, Instagram and Threads through Meta's OAuth, against the simulator.

Each flow is followed as a browser follows redirects; the stored connection is then used by the
platform's adapter to publish, proving that the token kept is the one the platform takes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
import pytest

from postpost.db.models import Connection
from postpost.platforms.base import Credentials, MediaFile, PostPart, Published, PublishJob
from postpost.services.connections import credentials_for
from postpost.services.credentials import CredentialStore
from postpost.services.token_upkeep import upkeep_once
from tests.conftest import MakeUser, TestUser
from tests.media.files import photo_bytes
from tests.platforms.conftest import media_file
from tests.platforms.graph_helpers import (  # noqa: F401 - fixtures
    MediaServer,
    drive,
    media_host_fixture,
    media_server_fixture,
)
from tests.web.conftest import BASE, BOX, Site, query_of
from tests.web.test_connect_oauth import authorize_url, follow, state_rows

META = ["facebook", "instagram", "threads"]
SCOPES = {
    "facebook": "pages_show_list,pages_read_engagement,pages_manage_posts",
    "instagram": "instagram_business_basic,instagram_business_content_publish",
    "threads": "threads_basic,threads_content_publish,threads_manage_replies",
}
AUTHORIZE = {
    "facebook": "/facebook/v23.0/dialog/oauth",
    "instagram": "/instagram/oauth/authorize",
    "threads": "/threads/oauth/authorize",
}
TITLES = {"facebook": "Facebook", "instagram": "Instagram", "threads": "Threads"}
TWO_MONTHS = timedelta(days=60)


def with_query(url: str, **extra: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode(query_of(url) | extra)))


def creds_of(site: Site, row: Connection) -> Credentials:
    return credentials_for(row, BOX, site.settings.resolved_sandbox_url())


async def publish(site: Site, row: Connection, text: str, *media: MediaFile) -> Published:
    """Publish through the platform's adapter with the stored connection's credentials."""
    adapter = site.app.state.services.adapters.get(row.platform)
    assert adapter is not None
    job = PublishJob(PostPart(text, media), creds_of(site, row), "key-1")
    published, _steps = await drive(adapter, job)
    return published


async def choose_pages(site: Site, token: str, user: TestUser) -> tuple[httpx.Response, str, list[str]]:
    """Start a sandbox Facebook flow and follow it to the choice of pages: the page, key, page ids."""
    r = await follow(site, await authorize_url(site, token, "facebook"))
    assert r.status_code == 200, r.text
    assert "Choose the Facebook pages to connect" in r.text
    key = r.text.split('name="key" value="')[1].split('"')[0]
    pages = [chunk.split('"')[0] for chunk in r.text.split('name="page" value="')[1:]]
    assert await site.connections(user) == []
    return r, key, pages


@pytest.mark.parametrize("platform", META)
async def test_authorization_url_carries_state_and_scopes(
    site: Site, make_user: MakeUser, platform: str
) -> None:
    token = await site.link(await make_user())
    url = await authorize_url(site, token, platform)
    assert url.startswith(f"{site.settings.sandbox_url}{AUTHORIZE[platform]}?")
    q = query_of(url)
    assert q["client_id"] == "postpost-sandbox" and q["response_type"] == "code"
    assert q["redirect_uri"] == f"{BASE}/oauth/callback/{platform}"
    assert q["scope"] == SCOPES[platform]
    assert len(q["state"]) >= 40 and token not in url
    assert "code_challenge" not in q, "Meta's web login takes no PKCE"


async def test_configured_apps_send_the_browser_to_meta(make_site, make_user: MakeUser) -> None:
    apps = {f"{p}_client_id": f"{p}-app" for p in META} | {f"{p}_client_secret": "s3cret" for p in META}
    site = await make_site(**apps)
    token = await site.link(await make_user())
    page = await site.client.get(f"/connect/{token}")
    for platform in META:
        assert f'href="/connect/{token}/{platform}"' in page.text
    assert f"/connect/{token}/facebook?pages=true" not in page.text, "Facebook connects pages only"
    expected = {
        "facebook": "https://www.facebook.com/v23.0/dialog/oauth?",
        "instagram": "https://www.instagram.com/oauth/authorize?",
        "threads": "https://threads.net/oauth/authorize?",
    }
    for platform, start in expected.items():
        url = await authorize_url(site, token, platform, "")
        assert url.startswith(start) and query_of(url)["client_id"] == f"{platform}-app"
        assert "s3cret" not in url


@pytest.mark.parametrize("platform", ["instagram", "threads"])
async def test_sandbox_account_is_connected_with_a_long_lived_token(
    site: Site, make_user: MakeUser, platform: str, media_host: MediaServer
) -> None:
    user = await make_user()
    token = await site.link(user)
    url = await authorize_url(site, token, platform)
    r = await follow(site, with_query(url, sandbox_account="17841400000000123"))
    assert r.status_code == 200, r.text
    assert r.url.path == f"/connect/{token}" and f"Connected: {platform}-17841400000000123" in r.text
    [row] = await site.connections(user)
    assert row.account_id == "17841400000000123" and row.is_sandbox
    assert row.username == "sandbox_00000123" and row.display_name == "Sandbox 0123"
    assert row.profile_image_url == f"https://sandbox.invalid/{platform}/17841400000000123.jpg"
    handle = "https://www.instagram.com/sandbox_00000123/" if platform == "instagram" else None
    assert row.profile_url == (handle or "https://www.threads.net/@sandbox_00000123")
    assert row.scopes == SCOPES[platform].split(",")
    stored = BOX.decrypt(row.secrets)
    assert stored["access_token"].startswith("sandbox.17841400000000123.")
    assert stored["access_token"] not in (row.secrets or ""), "tokens are stored encrypted"
    now = datetime.now(UTC)
    assert row.access_token_expires_at is not None, "the 60-day token's end is the connection's"
    assert now + TWO_MONTHS - timedelta(minutes=5) < row.access_token_expires_at < now + TWO_MONTHS
    listed = (await site.client.get("/api/v1/platform-connections", headers=user.headers)).json()
    assert [c["tokenStatus"] for c in listed["connections"]] == ["valid"]
    check = await site.client.post(f"/api/v1/test-connection/{row.compound_id}", headers=user.headers)
    assert check.json()["status"] == "ok", check.text
    if platform == "threads":
        published = await publish(site, row, "Hello from a connected Threads account")
    else:
        data = photo_bytes((400, 400))
        image = media_file(data, "image/jpeg", fetch_url=media_host.add("c.jpg", data, "image/jpeg"))
        published = await publish(site, row, "Hello from a connected Instagram account", image)
    assert published.remote_id
    posts = await site.client.get(
        f"{site.settings.sandbox_url}/_control/posts",
        params={"platform": platform, "account": row.account_id},
    )
    assert [p["text"] for p in posts.json()["posts"]][-1].startswith("Hello from a connected")
    assert await state_rows(site, user) == 0


async def test_facebook_pages_are_chosen_and_each_keeps_its_own_token(
    site: Site, make_user: MakeUser
) -> None:
    user = await make_user()
    token = await site.link(user)
    url = await authorize_url(site, token, "facebook")
    person = "10000000000000100"
    r = await follow(site, with_query(url, sandbox_account=person))
    assert r.status_code == 200 and "Choose the Facebook pages to connect" in r.text
    assert "Sandbox Page 0101" in r.text and "Sandbox Page 0102" in r.text
    key = r.text.split('name="key" value="')[1].split('"')[0]
    pages = [chunk.split('"')[0] for chunk in r.text.split('name="page" value="')[1:]]
    assert pages == ["10000000000000101", "10000000000000102"]
    assert await site.connections(user) == []
    form = {"key": key, "page": [pages[1]]}
    chosen = await site.client.post(f"/connect/{token}/facebook/pages", data=form, follow_redirects=True)
    assert chosen.status_code == 200 and f"Connected: facebook-{pages[1]}" in chosen.text
    [row] = await site.connections(user)
    assert row.account_id == pages[1] and row.display_name == "Sandbox Page 0102"
    assert row.username == "sandboxpage000102"
    assert row.profile_url == f"https://www.facebook.com/{pages[1]}"
    assert row.profile_image_url == f"https://sandbox.invalid/facebook/{pages[1]}.jpg"
    assert row.access_token_expires_at is None, "a page token from a long-lived user token does not expire"
    stored = BOX.decrypt(row.secrets)
    assert set(stored) == {"access_token"} and stored["access_token"].startswith(f"sandbox.{pages[1]}.")
    assert row.scopes == SCOPES["facebook"].split(",")
    again = await site.client.post(f"/connect/{token}/facebook/pages", data=form)
    assert again.status_code == 400 and len(await site.connections(user)) == 1, "a choice is single use"
    published = await publish(site, row, "Hello from a connected Facebook Page")
    assert published.remote_id.startswith(f"{pages[1]}_")
    check = await site.client.post(f"/api/v1/test-connection/{row.compound_id}", headers=user.headers)
    assert check.json()["status"] == "ok", check.text


async def test_facebook_both_pages_at_once(site: Site, make_user: MakeUser) -> None:
    user = await make_user()
    token = await site.link(user)
    _page, key, pages = await choose_pages(site, token, user)
    form = {"key": key, "page": pages + ["99999"]}  # a page that was not offered is ignored
    r = await site.client.post(f"/connect/{token}/facebook/pages", data=form, follow_redirects=True)
    assert r.status_code == 200
    assert sorted(row.account_id for row in await site.connections(user)) == sorted(pages)


async def test_facebook_pages_count_against_the_plan(site: Site, make_user: MakeUser) -> None:
    user = await make_user(entitlements={"connections": 1})
    token = await site.link(user)
    _page, key, pages = await choose_pages(site, token, user)
    r = await site.client.post(f"/connect/{token}/facebook/pages", data={"key": key, "page": pages})
    assert r.status_code == 403 and "CONNECTIONS_OVER_LIMIT" in r.text
    assert await site.connections(user) == [], "a refused choice stores none of its pages"


async def test_facebook_pages_parameter_is_not_needed(site: Site, make_user: MakeUser) -> None:
    user = await make_user()
    token = await site.link(user)
    url = await authorize_url(site, token, "facebook", "?sandbox=true&pages=true")
    assert query_of(url)["scope"] == SCOPES["facebook"]


@pytest.mark.parametrize("platform", META)
async def test_denied_consent_stores_nothing(site: Site, make_user: MakeUser, platform: str) -> None:
    user = await make_user()
    token = await site.link(user)
    url = await authorize_url(site, token, platform)
    r = await follow(site, with_query(url, sandbox_deny="1"))
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    assert f"You did not allow postpost to use your {TITLES[platform]} account" in r.text
    assert "The user denied your request." in r.text and f'href="/connect/{token}"' in r.text
    assert await site.connections(user) == [] and await state_rows(site, user) == 0


REFUSALS = {
    "facebook": "Invalid verification code format.",
    "instagram": "Invalid authorization code",
    "threads": "Invalid verification code format.",
}


@pytest.mark.parametrize("platform", META)
async def test_refused_code_exchange_stores_nothing(site: Site, make_user: MakeUser, platform: str) -> None:
    """A code the platform does not take: its Graph error on a 400 page, no connection."""
    user = await make_user()
    token = await site.link(user)
    back = await site.client.get(await authorize_url(site, token, platform))
    assert back.status_code == 302
    forged = with_query(back.headers["location"], code="not-a-code")
    r = await site.client.get(forged.removeprefix(BASE))
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
    assert f"{TITLES[platform]} did not accept the authorization (HTTP 400)" in r.text
    assert REFUSALS[platform] in r.text
    assert await site.connections(user) == [] and await state_rows(site, user) == 0


@pytest.mark.parametrize("platform", ["instagram", "threads"])
async def test_upkeep_refreshes_the_long_lived_token(site: Site, make_user: MakeUser, platform: str) -> None:
    """The 60-day token is renewed by the platform's refresh grant once it runs low."""
    user = await make_user()
    token = await site.link(user)
    assert (await follow(site, await authorize_url(site, token, platform))).status_code == 200
    [before] = await site.connections(user)
    assert before.access_token_expires_at is not None
    store = CredentialStore(site.database, BOX, site.settings.resolved_sandbox_url())
    adapters = site.app.state.services.adapters
    later = before.access_token_expires_at - timedelta(days=7)
    done = await upkeep_once(site.database, store, adapters, now=later, sandbox=True)
    assert done.refreshed >= 1  # other tests' connections share the database
    [after] = await site.connections(user)
    old, new = BOX.decrypt(before.secrets)["access_token"], BOX.decrypt(after.secrets)["access_token"]
    assert new != old and new.startswith(f"sandbox.{after.account_id}.")
    assert after.secrets_version == before.secrets_version + 1
    assert after.access_token_expires_at is not None and after.access_token_expires_at >= (
        before.access_token_expires_at
    )
