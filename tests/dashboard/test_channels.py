"""`/app/channels`: the connect page inside the dashboard, over HTTP against the live server
(sandbox accounts through the mounted simulator)."""

from __future__ import annotations

import re

from sqlalchemy import select, update

from postpost.db.models import Connection
from postpost.db.session import Database
from tests.dashboard.conftest import Dash, DashUser, SignedInClient


async def test_connect_test_and_remove_sandbox_accounts(
    dash: Dash, dash_user: DashUser, signed_in_client: SignedInClient, dash_database: Database
) -> None:
    http = signed_in_client.http
    page = await http.get("/app/channels")
    assert page.status_code == 200 and "No account is connected yet." in page.text
    assert 'href="/app/channels/connect/twitter?sandbox=true"' in page.text
    assert "The Pro plan allows" in page.text

    # OAuth: to the simulator's authorize page, which approves at once, and back to the dashboard
    r = await http.get("/app/channels/connect/twitter?sandbox=true", follow_redirects=True)
    assert r.status_code == 200 and r.url.path == "/app/channels"
    connected = r.url.params["connected"]
    assert connected.startswith("twitter-") and f"Connected: {connected}." in r.text

    # a form platform: the dashboard's own form, filled in for the sandbox
    form = await http.get("/app/channels/connect/bluesky?sandbox=true")
    assert form.status_code == 200 and 'name="identifier"' in form.text
    values = dict(
        re.findall(r'name="(identifier|password|sandbox)" type="[a-z]+" value="([^"]*)"', form.text)
    )
    values.setdefault("sandbox", "true")
    r = await signed_in_client.form("/app/channels/connect/bluesky", values)
    assert r.status_code == 303 and r.headers["location"].startswith("/app/channels?connected=bluesky-")
    bad = await signed_in_client.form("/app/channels/connect/bluesky", {"identifier": "", "password": ""})
    assert bad.status_code == 400 and "Enter your handle (or DID) and an app password" in bad.text

    async with dash_database.session() as session:
        rows = list(await session.scalars(select(Connection).where(Connection.user_id == dash_user.id)))
        assert sorted(row.platform for row in rows) == ["bluesky", "twitter"] and all(
            r.is_sandbox for r in rows
        )
        await session.execute(
            update(Connection)
            .where(Connection.user_id == dash_user.id, Connection.platform == "twitter")
            .values(last_error={"message": "Rate limited by X", "occurredAt": "2026-11-29T10:00:00.000Z"})
        )
        await session.commit()
    page = await http.get("/app/channels")
    assert "Rate limited by X" in page.text and connected in page.text

    tested = await signed_in_client.form("/app/channels/test", {"platformId": connected})
    assert tested.status_code == 200 and f"<strong>{connected}</strong>: works" in tested.text
    missing = await signed_in_client.form("/app/channels/test", {"platformId": "twitter-404"})
    assert missing.status_code == 404 and "Connection not found" in missing.text
    malformed = await signed_in_client.form("/app/channels/test", {"platformId": "nodash"})
    assert malformed.status_code == 400 and "Invalid platformId format" in malformed.text

    removed = await signed_in_client.form("/app/channels/remove", {"platformId": connected})
    assert removed.status_code == 200 and f"Removed {connected}." in removed.text
    again = await signed_in_client.form("/app/channels/remove", {"platformId": connected})
    assert again.status_code == 404

    # the connections are the API's too
    async with dash.client() as api:
        listed = (await api.get("/api/v1/platform-connections", headers=dash_user.headers)).json()
    assert [c["platformId"].split("-")[0] for c in listed["connections"]] == ["bluesky"]


async def test_another_users_connection_cannot_be_tested_or_removed(
    dash: Dash, signed_in_client: SignedInClient
) -> None:
    other = await dash.signed_in_client(await dash.make_user())
    r = await other.http.get("/app/channels/connect/mastodon?sandbox=true", follow_redirects=True)
    theirs = r.url.params["connected"]
    await other.http.aclose()
    for path in ("/app/channels/test", "/app/channels/remove"):
        r = await signed_in_client.form(path, {"platformId": theirs})
        assert r.status_code == 404, path


async def test_unknown_platform(signed_in_client: SignedInClient) -> None:
    r = await signed_in_client.http.get("/app/channels/connect/myspace?sandbox=true")
    assert r.status_code == 404 and "Unknown platform: myspace" in r.text
