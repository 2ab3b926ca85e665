"""`postpost users set-password`: the password a user signs in to the dashboard with."""

from __future__ import annotations

import re
import subprocess

import httpx

from postpost.api.app import create_app
from postpost.config import Settings, async_database_url
from postpost.db.session import Database
from tests.conftest import SECRET
from tests.test_cli import MISSING_USER, POSTPOST, Cli, cli  # noqa: F401 - `cli` is the fixture


def _set_password(cli: Cli, user: str, password: str, *extra: str) -> subprocess.CompletedProcess[str]:  # noqa: F811
    return subprocess.run(
        [str(POSTPOST), "users", "set-password", "--user", user, "--password-stdin", *extra],
        env=cli.env,
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cli.data_dir,
    )


async def _sign_in(cli: Cli, email: str, password: str) -> int:  # noqa: F811
    database = Database(async_database_url(cli.url))
    settings = Settings(database_url=cli.url, secret_key=SECRET, data_dir=cli.data_dir)  # type: ignore[arg-type]
    app = create_app(settings, database)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cli") as client:
            form = await client.get("/sign-in")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token
            data = {"csrf_token": token.group(1), "email": email, "password": password}
            return (await client.post("/sign-in", data=data)).status_code
    finally:
        await database.dispose()


async def test_set_password_then_sign_in(cli: Cli) -> None:  # noqa: F811
    user = cli.json("users", "create", "--email", "writer@example.com", "--plan", "pro")
    assert await _sign_in(cli, "writer@example.com", "a good long password") == 401  # no password yet

    done = _set_password(cli, user["userId"], "a good long password", "--json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f'{{"userId": "{user["userId"]}", "email": "writer@example.com", "passwordSet": true}}'
    )
    assert await _sign_in(cli, "writer@example.com", "a good long password") == 303

    by_email = _set_password(cli, "WRITER@example.com", "another long password")
    assert by_email.returncode == 0 and "Password set for writer@example.com" in by_email.stdout
    assert await _sign_in(cli, "writer@example.com", "a good long password") == 401
    assert await _sign_in(cli, "writer@example.com", "another long password") == 303

    short = _set_password(cli, user["userId"], "short")
    assert short.returncode == 1 and "Password must be at least 8 characters" in short.stderr
    missing = _set_password(cli, MISSING_USER, "a good long password")
    assert missing.returncode == 1 and f"User not found: {MISSING_USER}" in missing.stderr
