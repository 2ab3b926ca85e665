"""Sign-up, sign-in, sign-out, sessions, CSRF, the sign-in rate limit and the sign-up setting,
over HTTP against the live server (and one ASGI app with sign-up turned off)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from postpost.api.app import create_app
from postpost.config import Settings
from postpost.db.models import SignInFailure, User
from postpost.db.session import Database
from postpost.ids import utcnow
from postpost.services import dashboard_auth
from postpost.web.dashboard.session import CSRF_COOKIE, SESSION_COOKIE
from tests.dashboard.conftest import PASSWORD, Dash, DashUser, SignedInClient, csrf_of


async def _sign_in(client: httpx.AsyncClient, email: str, password: str, **extra: str) -> httpx.Response:
    form = await client.get("/sign-in")
    data = {"csrf_token": csrf_of(form.text), "email": email, "password": password, **extra}
    return await client.post("/sign-in", data=data)


async def test_home_and_pages_send_strangers_to_sign_in(dash: Dash) -> None:
    async with dash.client() as client:
        r = await client.get("/")
        assert (r.status_code, r.headers["location"]) == (303, "/sign-in")
        r = await client.get("/app/keys?x=1")
        assert (r.status_code, r.headers["location"]) == (303, "/sign-in?next=%2Fapp%2Fkeys%3Fx%3D1")
        r = await client.get("/auth/api-keys")
        assert (r.status_code, r.json()) == (401, {"error": "Unauthorized"})
        r = await client.get("/webhooks")
        assert (r.status_code, r.json()) == (401, {"error": "Unauthorized"})
        page = await client.get("/sign-in")
        assert page.status_code == 200 and page.headers["x-frame-options"] == "DENY"
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert CSRF_COOKIE in page.cookies and 'name="csrf_token"' in page.text
        css = await client.get("/static/dashboard/app.css")
        assert css.status_code == 200 and ":focus-visible" in css.text


async def test_sign_in_sets_a_signed_http_only_lax_cookie_and_goes_to_next(
    dash: Dash, dash_user: DashUser
) -> None:
    async with dash.client() as client:
        r = await _sign_in(client, dash_user.email.upper(), PASSWORD, next="/app/webhooks")
        assert (r.status_code, r.headers["location"]) == (303, "/app/webhooks")
        cookie = next(
            v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith(SESSION_COOKIE)
        )
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie  # http URL
        assert (await client.get("/")).headers["location"] == "/app/posts"
        page = await client.get("/app/keys")
        assert page.status_code == 200 and dash_user.email in page.text

        client.cookies.set(SESSION_COOKIE, client.cookies[SESSION_COOKIE][:-2] + "xx")  # tampered
        assert (await client.get("/app/keys")).status_code == 303


async def test_next_never_leaves_the_site(dash: Dash, dash_user: DashUser) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        async with dash.client() as client:
            r = await _sign_in(client, dash_user.email, PASSWORD, next=target)
            assert r.headers["location"] == "/app/posts", target


async def test_wrong_password_and_unknown_email_get_the_same_answer(dash: Dash, dash_user: DashUser) -> None:
    async with dash.client() as client:
        wrong = await _sign_in(client, dash_user.email, "not the password")
        unknown = await _sign_in(client, "nobody-" + dash_user.email, PASSWORD)
    for r in (wrong, unknown):
        assert r.status_code == 401 and "Invalid email or password" in r.text
        assert SESSION_COOKIE not in r.cookies
    assert f'value="{dash_user.email}"' in wrong.text  # the form keeps the email, never the password


async def test_sign_in_is_rate_limited_per_email_and_address(dash: Dash) -> None:
    user = await dash.make_user()
    other = await dash.make_user()
    async with dash.client() as client:
        for _ in range(dash.settings.sign_in_max_failures):
            assert (await _sign_in(client, user.email, "wrong password")).status_code == 401
        limited = await _sign_in(client, user.email, PASSWORD)  # even the right password now
        assert limited.status_code == 429
        assert "Too many failed sign-in attempts. Try again in 15 minutes." in limited.text
        assert 850 <= int(limited.headers["retry-after"]) <= 900
        assert (await _sign_in(client, other.email, PASSWORD)).status_code == 303  # another email


async def test_sign_up_creates_an_account_with_a_hashed_password(dash: Dash, dash_database: Database) -> None:
    email = f"Fresh-{secrets.token_hex(4)}@Example.com"
    async with dash.client() as client:
        form = await client.get("/sign-up")
        data = {"csrf_token": csrf_of(form.text), "email": email, "password": "long password"}
        r = await client.post("/sign-up", data={**data, "password_confirm": "other password"})
        assert r.status_code == 400 and "The two passwords do not match" in r.text
        r = await client.post("/sign-up", data={**data, "password": "short", "password_confirm": "short"})
        assert r.status_code == 400 and "Password must be at least 8 characters" in r.text
        r = await client.post("/sign-up", data={**data, "password_confirm": "long password"})
        assert (r.status_code, r.headers["location"]) == (303, "/app/posts")
        assert (await client.get("/app/keys")).status_code == 200
    async with dash.client() as client:
        form = await client.get("/sign-up")
        data["csrf_token"] = csrf_of(form.text)
        again = await client.post("/sign-up", data={**data, "password_confirm": "long password"})
        assert again.status_code == 409 and f"A user with email {email.lower()} already exists" in again.text
    async with dash_database.session() as session:
        row = await session.scalar(select(User).where(User.email == email.lower()))
    assert row is not None and row.plan_key == "pro"
    assert row.password_hash is not None and row.password_hash.startswith("$argon2id$")


async def test_sign_up_can_be_turned_off(settings: Settings, dash_database: Database) -> None:
    closed = create_app(settings.model_copy(update={"signup": False}), dash_database)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=closed), base_url="http://test") as client:
        r = await client.get("/sign-up")
        assert r.status_code == 403 and "Sign-up is turned off on this server" in r.text
        page = await client.get("/sign-in")
        assert "/sign-up" not in page.text
        data = {"csrf_token": csrf_of(page.text), "email": "x@example.com", "password": "long password"}
        r = await client.post("/sign-up", data={**data, "password_confirm": "long password"})
        assert r.status_code == 403 and "Sign-up is turned off on this server" in r.text


async def test_forms_without_the_csrf_token_are_refused(dash: Dash, signed_in_client: SignedInClient) -> None:
    http = signed_in_client.http
    r = await http.post("/app/keys", data={"name": "x"})
    assert (
        r.status_code == 403 and "Invalid CSRF token" in r.text and "text/html" in r.headers["content-type"]
    )
    r = await http.post("/app/keys", data={"name": "x", "csrf_token": "forged"})
    assert r.status_code == 403 and "Invalid CSRF token" in r.text
    r = await http.post("/auth/api-keys", json={"name": "x"})
    assert (r.status_code, r.json()) == (403, {"error": "Invalid CSRF token"})
    r = await http.post("/sign-out")
    assert r.status_code == 403
    async with dash.client() as stranger:  # before sign-in too: the anonymous cookie's token
        r = await stranger.post("/sign-in", data={"email": "a@example.com", "password": "x"})
        assert r.status_code == 403 and "Invalid CSRF token" in r.text


async def test_sign_out_ends_the_session(signed_in_client: SignedInClient) -> None:
    r = await signed_in_client.form("/sign-out")
    assert (r.status_code, r.headers["location"]) == (303, "/sign-in")
    assert 'postpost_session=""' in r.headers["set-cookie"]  # the browser forgets it
    assert (await signed_in_client.http.get("/app/keys")).status_code == 303  # and it is dead anyway


async def test_changing_the_password_ends_other_sessions(dash: Dash, dash_database: Database) -> None:
    user = await dash.make_user()
    signed = await dash.signed_in_client(user)
    async with dash_database.session() as session:
        await dashboard_auth.set_password(session, user.email, "a brand new password")
    assert (await signed.http.get("/app/keys")).status_code == 303
    await signed.http.aclose()


async def test_workspace_owner_switches_to_a_managed_user_only(dash: Dash) -> None:
    owner = await dash.make_user(workspace=True)
    managed = await dash.make_user(parent=owner)
    stranger = await dash.make_user()
    signed = await dash.signed_in_client(owner)
    http = signed.http
    page = await http.get("/app/keys")
    assert f'<option value="{managed.id}"' in page.text and stranger.id not in page.text

    r = await signed.form("/app/workspace", {"user_id": managed.id, "next": "/app/keys"})
    assert (r.status_code, r.headers["location"]) == (303, "/app/keys")
    keys: Any = (await http.get("/auth/api-keys")).json()["apiKeys"]
    assert [k["_id"] for k in keys] != [] and "as " + managed.email in (await http.get("/app/keys")).text

    r = await signed.form("/app/workspace", {"user_id": stranger.id})
    assert r.status_code == 404 and "User not found" in r.text
    r = await signed.form("/app/workspace", {"user_id": ""})
    assert r.status_code == 303
    assert "as " + managed.email not in (await http.get("/app/keys")).text
    await http.aclose()


async def test_unknown_dashboard_pages_are_pages_and_api_errors_stay_json(
    signed_in_client: SignedInClient,
) -> None:
    http = signed_in_client.http
    r = await http.get("/app/nowhere")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "There is no such page." in r.text and 'aria-current="page"' not in r.text
    r = await http.get("/app/nowhere", headers={"accept": "application/json"})
    assert (r.status_code, r.json()) == (404, {"error": "Not found"})
    r = await http.get("/api/v1/nowhere")
    assert (r.status_code, r.json()) == (404, {"error": "Not found"})


async def test_the_session_cookie_is_secure_behind_https(
    settings: Settings, dash_database: Database, dash: Dash
) -> None:
    user = await dash.make_user()
    secure_settings = settings.model_copy(update={"public_url": "https://posts.example.com"})
    secure = create_app(secure_settings, dash_database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=secure), base_url="https://posts.example.com"
    ) as client:
        r = await _sign_in(client, user.email, PASSWORD)
        assert r.status_code == 303
        cookie = next(
            v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith(SESSION_COOKIE)
        )
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    await secure.state.services.adapters.close()


async def test_failures_of_an_ended_window_do_not_count(dash: Dash, dash_database: Database) -> None:
    user = await dash.make_user()
    async with dash.client() as client:
        for _ in range(dash.settings.sign_in_max_failures):
            await _sign_in(client, user.email, "wrong password")
        assert (await _sign_in(client, user.email, PASSWORD)).status_code == 429
        async with dash_database.session() as session:  # the window ends
            ended = utcnow() - timedelta(seconds=dash.settings.sign_in_window_seconds + 1)
            await session.execute(update(SignInFailure).values(window_started_at=ended))
            await session.commit()
        assert (await _sign_in(client, user.email, "wrong password")).status_code == 401  # counts from 1
        assert (await _sign_in(client, user.email, PASSWORD)).status_code == 303
