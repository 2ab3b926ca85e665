"""`/auth/api-keys` (INVENTORY §1.9: exact bodies and messages) and the `/app/keys` page."""

from __future__ import annotations

import re

from tests.dashboard.conftest import Dash, DashUser, SignedInClient

MISSING = "0123456789abcdef01234567"


async def test_list_create_rename_revoke(
    dash: Dash, dash_user: DashUser, signed_in_client: SignedInClient
) -> None:
    http, headers = signed_in_client.http, signed_in_client.json_headers
    listed = (await http.get("/auth/api-keys")).json()["apiKeys"]
    assert len(listed) == 1 and set(listed[0]) == {"_id", "name", "keyPrefix", "createdAt", "lastUsedAt"}
    assert listed[0]["name"] == "Default" and dash_user.api_key.startswith(listed[0]["keyPrefix"] + ".")

    r = await http.post("/auth/api-keys", json={"name": "  <b>Zapier</b> "}, headers=headers)
    assert r.status_code == 201
    body = r.json()
    assert body["message"] == "API key created successfully"
    key = body["apiKey"]
    assert set(key) == {"_id", "name", "keyPrefix", "createdAt", "lastUsedAt", "rawKey"}
    assert key["name"] == "Zapier" and key["lastUsedAt"] is None
    assert re.fullmatch(r"sk_[0-9a-z]+_[0-9a-f]{16}\.[0-9a-f]{40}", key["rawKey"])
    assert key["rawKey"].split(".")[0] == key["keyPrefix"]

    async with dash.client() as api:  # the new key works on the API at once
        r = await api.get("/api/v1/platform-connections", headers={"x-api-key": key["rawKey"]})
        assert r.status_code == 200
    listed = (await http.get("/auth/api-keys")).json()["apiKeys"]
    assert [k["name"] for k in listed] == ["Default", "Zapier"] and "rawKey" not in listed[1]
    assert listed[1]["lastUsedAt"] is not None

    r = await http.post("/auth/api-keys", json={}, headers=headers)
    assert r.json()["apiKey"]["name"] == "Default"

    r = await http.patch(f"/auth/api-keys/{key['_id']}", json={"name": "Make"}, headers=headers)
    assert r.status_code == 200 and r.json()["message"] == "API key updated successfully"
    assert r.json()["apiKey"]["name"] == "Make" and "rawKey" not in r.json()["apiKey"]

    r = await http.delete(f"/auth/api-keys/{key['_id']}", headers=headers)
    assert (r.status_code, r.json()) == (200, {"message": "API key revoked successfully"})
    async with dash.client() as api:
        r = await api.get("/api/v1/platform-connections", headers={"x-api-key": key["rawKey"]})
        assert (r.status_code, r.json()["error"]) == (401, "Invalid API key")
    r = await http.delete(f"/auth/api-keys/{key['_id']}", headers=headers)
    assert (r.status_code, r.json()) == (404, {"error": "API key not found"})


async def test_key_errors(dash: Dash, signed_in_client: SignedInClient) -> None:
    http, headers = signed_in_client.http, signed_in_client.json_headers
    cases = [
        (
            "post",
            "/auth/api-keys",
            {"name": "x" * 101},
            400,
            "Name must be a string with maximum 100 characters",
        ),
        ("post", "/auth/api-keys", {"name": 5}, 400, "Name must be a string with maximum 100 characters"),
        ("patch", f"/auth/api-keys/{MISSING}", {}, 400, "Name is required"),
        ("patch", f"/auth/api-keys/{MISSING}", {"name": "  "}, 400, "Name is required"),
        (
            "patch",
            f"/auth/api-keys/{MISSING}",
            {"name": "x" * 101},
            400,
            "Name must be maximum 100 characters",
        ),
        ("patch", "/auth/api-keys/nope", {"name": "x"}, 400, "Invalid key ID format"),
        ("patch", f"/auth/api-keys/{MISSING}", {"name": "x"}, 404, "API key not found"),
        ("delete", "/auth/api-keys/nope", None, 400, "Invalid key ID format"),
        ("delete", f"/auth/api-keys/{MISSING}", None, 404, "API key not found"),
    ]
    for method, path, body, status, message in cases:
        r = await http.request(method.upper(), path, json=body, headers=headers)
        assert (r.status_code, r.json()) == (status, {"error": message}), (method, path, body)
    r = await http.post(
        "/auth/api-keys", content=b"{not json", headers={**headers, "content-type": "application/json"}
    )
    assert (r.status_code, r.json()) == (400, {"error": "Invalid JSON body"})

    for n in range(9):  # the user already has one
        assert (await http.post("/auth/api-keys", json={"name": f"k{n}"}, headers=headers)).status_code == 201
    r = await http.post("/auth/api-keys", json={"name": "eleventh"}, headers=headers)
    assert (r.status_code, r.json()) == (400, {"error": "Maximum of 10 active API keys allowed"})


async def test_keys_of_another_user_are_not_found(dash: Dash, signed_in_client: SignedInClient) -> None:
    other = await dash.make_user()
    theirs = await dash.signed_in_client(other)
    their_key = (await theirs.http.get("/auth/api-keys")).json()["apiKeys"][0]["_id"]
    await theirs.http.aclose()
    r = await signed_in_client.http.delete(
        f"/auth/api-keys/{their_key}", headers=signed_in_client.json_headers
    )
    assert (r.status_code, r.json()) == (404, {"error": "API key not found"})


async def test_a_plan_without_api_access_cannot_create_keys(dash: Dash) -> None:
    starter = await dash.make_user(plan="starter")
    signed = await dash.signed_in_client(starter)
    r = await signed.http.post("/auth/api-keys", json={"name": "x"}, headers=signed.json_headers)
    assert (r.status_code, r.json()) == (403, {"error": "Your current plan does not include API access"})
    page = await signed.form("/app/keys", {"name": "x"})
    assert page.status_code == 403 and "Your current plan does not include API access" in page.text
    await signed.http.aclose()


async def test_keys_page_shows_the_raw_key_once_and_renames_and_revokes(
    signed_in_client: SignedInClient,
) -> None:
    http = signed_in_client.http
    created = await signed_in_client.form("/app/keys", {"name": "Page key"})
    assert created.status_code == 201 and "shown only once" in created.text
    raw = re.search(r'<code class="secret" id="new-key">([^<]+)</code>', created.text)
    assert raw and raw.group(1).startswith("sk_") and 'data-copy="#new-key"' in created.text
    page = await http.get("/app/keys")
    assert "Page key" in page.text and raw.group(1) not in page.text  # never shown again
    key_id = (await http.get("/auth/api-keys")).json()["apiKeys"][-1]["_id"]

    r = await signed_in_client.form(f"/app/keys/{key_id}/rename", {"name": "Renamed"})
    assert (r.status_code, r.headers["location"]) == (303, "/app/keys?done=renamed")
    assert "Renamed" in (await http.get("/app/keys?done=renamed")).text
    r = await signed_in_client.form(f"/app/keys/{key_id}/rename", {"name": ""})
    assert r.status_code == 400 and "Name is required" in r.text
    r = await signed_in_client.form(f"/app/keys/{key_id}/revoke")
    assert r.headers["location"] == "/app/keys?done=revoked"
    assert [k["_id"] for k in (await http.get("/auth/api-keys")).json()["apiKeys"]].count(key_id) == 0
    r = await signed_in_client.form(f"/app/keys/{key_id}/revoke")
    assert r.status_code == 404 and "API key not found" in r.text
