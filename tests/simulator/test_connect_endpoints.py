"""The fakes' endpoints for connecting accounts: Mastodon apps and OAuth, Telegram getChat,
LinkedIn organisations."""

from __future__ import annotations

import base64
import hashlib
import time
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.simulator.conftest import FakeClock

REDIRECT = "https://app.example/oauth/callback/mastodon"
VERIFIER = "v" * 50


def challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


async def register(client: httpx.AsyncClient, **extra: str) -> dict[str, str]:
    form = {"client_name": "postpost", "redirect_uris": REDIRECT, "scopes": "read write push", **extra}
    r = await client.post("/mastodon/api/v1/apps", data=form)
    assert r.status_code == 200, r.text
    body: dict[str, str] = r.json()
    return body


async def authorize(client: httpx.AsyncClient, app: dict[str, str], **extra: str) -> dict[str, list[str]]:
    params = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": REDIRECT,
        "scope": "read write",
        "state": "s1",
        **extra,
    }
    r = await client.get("/mastodon/oauth/authorize", params=params)
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return parse_qs(urlsplit(location).query)


async def test_mastodon_app_registration_and_code_grant_with_pkce(client: httpx.AsyncClient) -> None:
    app = await register(client)
    assert app["redirect_uris"] == [REDIRECT]
    back = await authorize(client, app, code_challenge=challenge(VERIFIER), code_challenge_method="S256")
    assert back["state"] == ["s1"]
    form = {
        "grant_type": "authorization_code",
        "code": back["code"][0],
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "redirect_uri": REDIRECT,
    }
    wrong = await client.post("/mastodon/oauth/token", data=form | {"code_verifier": "w" * 50})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    back = await authorize(client, app, code_challenge=challenge(VERIFIER), code_challenge_method="S256")
    form["code"] = back["code"][0]
    r = await client.post("/mastodon/oauth/token", data=form | {"code_verifier": VERIFIER})
    assert r.status_code == 200, r.text
    token = r.json()
    assert token["token_type"] == "Bearer" and token["scope"] == "read write"
    me = await client.get(
        "/mastodon/api/v1/accounts/verify_credentials",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert me.status_code == 200
    again = await client.post("/mastodon/oauth/token", data=form | {"code_verifier": VERIFIER})
    assert again.status_code == 400, "a code is good once"


async def test_mastodon_token_refuses_a_wrong_secret_and_codes_expire(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app = await register(client)
    back = await authorize(client, app)
    form = {
        "grant_type": "authorization_code",
        "code": back["code"][0],
        "client_id": app["client_id"],
        "redirect_uri": REDIRECT,
    }
    bad = await client.post("/mastodon/oauth/token", data=form | {"client_secret": "nope"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    clock.now += 601
    late = await client.post("/mastodon/oauth/token", data=form | {"client_secret": app["client_secret"]})
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


async def test_mastodon_authorize_checks_client_redirect_and_scope(client: httpx.AsyncClient) -> None:
    app = await register(client, scopes="read")
    unknown = await client.get(
        "/mastodon/oauth/authorize",
        params={"response_type": "code", "client_id": "nope", "redirect_uri": REDIRECT},
    )
    assert unknown.status_code == 401
    elsewhere = await client.get(
        "/mastodon/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": app["client_id"],
            "redirect_uri": "https://evil.example/",
        },
    )
    assert elsewhere.status_code == 400
    back = await authorize(client, app, scope="read write")
    assert back["error"] == ["invalid_scope"] and "code" not in back


async def test_mastodon_apps_survive_a_reset(client: httpx.AsyncClient) -> None:
    app = await register(client)
    assert (await client.post("/_control/reset")).status_code == 200
    assert "code" in await authorize(client, app)


async def test_mastodon_app_registration_validates(client: httpx.AsyncClient) -> None:
    no_uri = await client.post("/mastodon/api/v1/apps", data={"client_name": "x"})
    assert no_uri.status_code == 422
    no_name = await client.post("/mastodon/api/v1/apps", json={"redirect_uris": [REDIRECT]})
    assert no_name.status_code == 422


async def test_telegram_get_chat_by_id_and_by_username(client: httpx.AsyncClient) -> None:
    bot = "/telegram/bot123456:sandbox-token"
    by_id = await client.post(f"{bot}/getChat", json={"chat_id": -1001234567890})
    assert by_id.json()["result"] == {
        "id": -1001234567890,
        "title": "Sandbox channel -1001234567890",
        "type": "channel",
    }
    by_name = (await client.post(f"{bot}/getChat", json={"chat_id": "@my_channel"})).json()["result"]
    assert by_name["username"] == "my_channel" and by_name["type"] == "channel"
    assert str(by_name["id"]).startswith("-100") and len(str(by_name["id"])) == 14
    same = (await client.post(f"{bot}/getChat", json={"chat_id": "@My_Channel"})).json()["result"]
    assert same["id"] == by_name["id"]
    await client.post(f"/telegram/_control/chats/{by_name['id']}", json={"status": "kicked"})
    kicked = await client.post(f"{bot}/getChat", json={"chat_id": "@my_channel"})
    assert kicked.status_code == 403
    bad = await client.post(f"{bot}/getChat", json={"chat_id": "nonsense"})
    assert bad.status_code == 400


async def test_linkedin_organisations_of_a_member(client: httpx.AsyncClient, clock: FakeClock) -> None:
    headers = {
        "Authorization": "Bearer sandbox.Member1.x",
        "LinkedIn-Version": time.strftime("%Y%m", time.gmtime(clock.now)),
        "X-Restli-Protocol-Version": "2.0.0",
    }
    r = await client.get(
        "/linkedin/rest/organizationAcls",
        params={"q": "roleAssignee", "role": "ADMINISTRATOR", "state": "APPROVED"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    elements = r.json()["elements"]
    assert len(elements) == 2
    assert {e["roleAssignee"] for e in elements} == {"urn:li:person:Member1"}
    org = elements[0]["organization"].rsplit(":", 1)[1]
    found = await client.get(f"/linkedin/rest/organizations/{org}", headers=headers)
    assert found.json()["localizedName"] == f"Sandbox Organization {org}"
    unversioned = await client.get(
        "/linkedin/rest/organizationAcls",
        params={"q": "roleAssignee"},
        headers={"Authorization": "Bearer sandbox.Member1.x"},
    )
    assert unversioned.status_code == 426
    missing = await client.get("/linkedin/rest/organizations/abc", headers=headers)
    assert missing.status_code == 404
