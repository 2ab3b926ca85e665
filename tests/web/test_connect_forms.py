"""Connecting with a form: Bluesky (handle + app password), Telegram (bot + channel), Mastodon's
instance (then OAuth on that instance, its app registered once)."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from postpost.db.models import InstanceApp
from tests.conftest import MakeUser
from tests.web.conftest import MakeSite, Site


def field_values(html: str) -> dict[str, str]:
    return dict(re.findall(r'name="(\w+)" value="([^"]*)"', html))


async def test_bluesky_form_connects_a_sandbox_account(site: Site, make_user: MakeUser, secrets_of) -> None:
    user = await make_user()
    token = await site.link(user)
    form = await site.client.get(f"/connect/{token}/bluesky?sandbox=true")
    assert form.status_code == 200 and 'type="password"' in form.text
    values = field_values(form.text)
    assert values["sandbox"] == "true" and values["identifier"].endswith(".bsky.social")
    r = await site.client.post(f"/connect/{token}/bluesky", data=values, follow_redirects=True)
    assert r.status_code == 200, r.text
    [row] = await site.connections(user)
    assert row.platform == "bluesky" and row.account_id.startswith("did:plc:") and row.is_sandbox
    assert row.username == values["identifier"]
    stored = secrets_of(row)
    assert stored["app_password"] == values["password"] and stored["access_jwt"] and stored["refresh_jwt"]
    assert values["password"] not in (row.secrets or "")
    check = await site.client.post(f"/api/v1/test-connection/{row.compound_id}", headers=user.headers)
    assert check.json()["status"] == "ok"


async def test_bluesky_form_shows_problems_and_stores_nothing(site: Site, make_user: MakeUser) -> None:
    user = await make_user()
    token = await site.link(user)
    empty = await site.client.post(
        f"/connect/{token}/bluesky", data={"identifier": "a.bsky.social", "password": " ", "sandbox": "true"}
    )
    assert empty.status_code == 400 and "app password" in empty.text and 'action="/connect/' in empty.text
    refused = await site.client.post(
        f"/connect/{token}/bluesky", data={"identifier": "did:web:nope", "password": "x", "sandbox": "true"}
    )
    assert refused.status_code == 400 and "Bluesky login failed" in refused.text
    assert await site.connections(user) == []


async def test_telegram_form_connects_a_channel_by_name(site: Site, make_user: MakeUser, secrets_of) -> None:
    user = await make_user()
    token = await site.link(user)
    values = field_values((await site.client.get(f"/connect/{token}/telegram?sandbox=true")).text)
    values["chat"] = "@postpost_news"
    r = await site.client.post(f"/connect/{token}/telegram", data=values, follow_redirects=True)
    assert r.status_code == 200, r.text
    [row] = await site.connections(user)
    assert row.account_id.startswith("-100") and row.compound_id.startswith("telegram--100")
    assert row.username == "@postpost_news" and row.profile_url == "https://t.me/postpost_news"
    assert secrets_of(row) == {"bot_token": values["bot_token"]}
    check = await site.client.post(f"/api/v1/test-connection/{row.compound_id}", headers=user.headers)
    assert check.json()["status"] == "ok"


async def test_telegram_bot_must_be_an_admin_that_may_post(
    site: Site, make_user: MakeUser, simulator: str
) -> None:
    user = await make_user()
    token = await site.link(user)
    values = field_values((await site.client.get(f"/connect/{token}/telegram?sandbox=true")).text)
    async with httpx.AsyncClient() as control:
        member = await control.post(
            f"{simulator}/telegram/_control/chats/{values['chat']}", json={"status": "member"}
        )
        assert member.status_code == 200
    r = await site.client.post(f"/connect/{token}/telegram", data=values)
    assert r.status_code == 400 and "is not an administrator of this chat" in r.text
    async with httpx.AsyncClient() as control:
        await control.post(
            f"{simulator}/telegram/_control/chats/{values['chat']}",
            json={"status": "administrator", "canPostMessages": False},
        )
    r = await site.client.post(f"/connect/{token}/telegram", data=values)
    assert r.status_code == 400 and "may not post messages" in r.text
    bad_token = await site.client.post(f"/connect/{token}/telegram", data=values | {"bot_token": "123:live"})
    assert bad_token.status_code == 400 and "Telegram" in bad_token.text
    assert await site.connections(user) == []
    ok = await site.client.post(f"/connect/{token}/telegram", data=values | {"chat": "-1009999999999"})
    assert ok.status_code == 303 and len(await site.connections(user)) == 1


async def test_mastodon_asks_for_the_instance_first(site: Site, make_user: MakeUser) -> None:
    user = await make_user()
    token = await site.link(user)
    form = await site.client.get(f"/connect/{token}/mastodon")
    assert form.status_code == 200 and 'name="instance"' in form.text
    r = await site.client.post(
        f"/connect/{token}/mastodon", data={"instance": "sandbox"}, follow_redirects=True
    )
    assert r.status_code == 200, r.text
    [row] = await site.connections(user)
    assert row.platform == "mastodon" and row.is_sandbox and row.username and row.username.startswith("@user")


@pytest.mark.parametrize(
    "instance",
    ["http://127.0.0.1:8080", "https://127.0.0.1", "https://localhost", "https://[::1]", "https://10.1.2.3/"],
)
async def test_mastodon_instance_on_a_private_address_is_refused(
    site: Site, make_user: MakeUser, instance: str
) -> None:
    user = await make_user()
    token = await site.link(user)
    r = await site.client.post(f"/connect/{token}/mastodon", data={"instance": instance})
    assert r.status_code == 400
    assert "public internet address" in r.text or "https" in r.text


async def test_mastodon_instance_name_resolving_to_loopback_is_refused(
    site: Site, make_user: MakeUser
) -> None:
    """A host name is checked when it is resolved, not only as written ("localhost." passes the
    name check and resolves to 127.0.0.1)."""
    user = await make_user()
    token = await site.link(user)
    r = await site.client.post(f"/connect/{token}/mastodon", data={"instance": "https://localhost."})
    assert r.status_code == 400, r.text
    assert "Could not connect to Mastodon" in r.text


async def test_mastodon_on_any_instance_registers_its_app_once(
    make_site: MakeSite, make_user: MakeUser, simulator: str
) -> None:
    """An instance this server has not met yet: POST /api/v1/apps once, then reused."""
    site = await make_site(allow_private_instances=True)
    instance = f"{simulator}/mastodon"
    user = await make_user()
    token = await site.link(user)
    for _ in range(2):
        r = await site.client.get(
            f"/connect/{token}/mastodon", params={"instance": instance}, follow_redirects=True
        )
        assert r.status_code == 200, r.text
    rows = await site.connections(user)
    assert len(rows) == 2 and all(not row.is_sandbox and row.base_url == instance for row in rows)
    async with site.database.session() as session:
        apps = list(await session.scalars(select(InstanceApp).where(InstanceApp.instance == instance)))
    assert len(apps) == 1 and apps[0].redirect_uri == "http://test/oauth/callback/mastodon"
    async with httpx.AsyncClient() as control:
        log = (await control.get(f"{simulator}/_control/requests", params={"path": "/api/v1/apps"})).json()
    assert len(log["requests"]) <= 1, "registered at most once (an earlier test may have registered it)"
    check = await site.client.post(f"/api/v1/test-connection/{rows[0].compound_id}", headers=user.headers)
    assert check.json()["status"] == "ok"


async def test_forms_need_a_valid_link(site: Site, make_user: MakeUser) -> None:
    user = await make_user()
    token = await site.link(user)
    forged = token.split(".")[0] + ".forged"
    assert (await site.client.get(f"/connect/{forged}/bluesky")).status_code == 404
    posted = await site.client.post(
        f"/connect/{forged}/telegram",
        data={"bot_token": "1:sandbox", "chat": "-1001234567890", "sandbox": "true"},
    )
    assert posted.status_code == 404 and await site.connections(user) == []
    unknown = await site.client.get(f"/connect/{token}/myspace")
    assert unknown.status_code == 404 and "Unknown platform" in unknown.text
    forged_oauth = await site.client.get(f"/connect/{forged}/instagram?sandbox=true")
    assert forged_oauth.status_code == 404 and "not valid" in forged_oauth.text
