"""The `postpost` command line: the composition root that builds settings, database and app.

Every command honours POSTPOST_DATABASE_URL, migrates the database itself and checks the secret
key before doing anything (exit code 2 when it must not start). With `--json` a command prints
exactly one JSON object on stdout and nothing else there.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from postpost.config import Settings
from postpost.db.migrate import upgrade
from postpost.db.session import Database
from postpost.errors import Misconfigured, PostpostError
from postpost.ids import iso
from postpost.security import KeyHasher, SecretBox
from postpost.services import accounts, connections, dashboard_auth, instance

app = typer.Typer(
    help="postpost: self-hostable social media publishing (PostPost v1 API).", no_args_is_help=True
)
users_app = typer.Typer(help="Create, change and list users.", no_args_is_help=True)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
connections_app = typer.Typer(help="Add, list and remove connected social accounts.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
posts_app = typer.Typer(help="Inspect post groups and their publishing.", no_args_is_help=True)
workspace_app = typer.Typer(help="Workspace owners and their managed users.", no_args_is_help=True)
workspace_users_app = typer.Typer(help="Managed users.", no_args_is_help=True)
workspace_app.add_typer(workspace_users_app, name="users")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(connections_app, name="connections")
app.add_typer(db_app, name="db")
app.add_typer(posts_app, name="posts")
app.add_typer(workspace_app, name="workspace")

err = Console(stderr=True)
out = Console()
T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


def _settings(**overrides: Any) -> Settings:
    """The settings from the environment; invalid ones stop the command (exit code 2)."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        _refuse(f"invalid configuration: {exc}")


def _refuse(message: str) -> NoReturn:
    """Stop before doing anything: the process must not run with this configuration."""
    err.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(2)


async def _prepare(settings: Settings, database: Database) -> None:
    """What every process does first: require the key, migrate (one process at a time), check the key."""
    key = settings.resolved_secret_key
    await upgrade(database)
    async with database.session() as session:
        await instance.verify_secret_key(session, key, source=settings.key_source)


def _run(work: Callable[[Settings, Database], Awaitable[T]]) -> T:
    """Build settings and a prepared database, run `work`; domain errors exit 1, refusals exit 2."""
    settings = _settings()

    async def main() -> T:
        database = Database(settings.resolved_database_url)
        try:
            await _prepare(settings, database)
            return await work(settings, database)
        finally:
            await database.dispose()

    try:
        return asyncio.run(main())
    except Misconfigured as exc:
        _refuse(exc.message)
    except PostpostError as exc:
        err.print(f"[red]error:[/red] {escape(exc.message)}")
        raise typer.Exit(1) from None


def _emit(as_json: bool, data: dict[str, Any], human: Callable[[], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data) + "\n")
    else:
        human()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
) -> None:
    """Serve the API on one process (SQLite file by default)."""
    import uvicorn

    from postpost.server import build_server

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = _settings(**overrides)
    database = Database(settings.resolved_database_url, pool_size=settings.db_pool_size)
    try:
        asyncio.run(_prepare_then_release(settings, database))
    except Misconfigured as exc:
        _refuse(exc.message)
    err.print(f"postpost serving on [bold]{settings.base_url()}[/bold] (database: {_describe(settings)})")
    signup = "sign up there" if settings.signup else "sign-up is off: `postpost users set-password`"
    err.print(f"dashboard: {settings.base_url()}/ ({signup})")
    err.print(f"API docs: {settings.base_url()}/docs")
    if settings.sandbox:
        err.print(f"sandbox platforms: {settings.resolved_sandbox_url()} (see docs/sandbox.md)")
    uvicorn.run(build_server(settings, database), host=settings.host, port=settings.port, log_level="info")


async def _prepare_then_release(settings: Settings, database: Database) -> None:
    """Prepare, then drop pooled connections: they belong to this loop, not the server's."""
    try:
        await _prepare(settings, database)
    finally:
        await database.dispose()


def _event_loop_runner() -> Callable[[Coroutine[Any, Any, None]], None]:
    """uvloop's runner when it is installed (it is with uvicorn[standard]), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


def _describe(settings: Settings) -> str:
    if settings.is_sqlite:
        return settings.resolved_database_url.split(":///", 1)[-1]
    return settings.resolved_database_url.split("@")[-1]


@app.command()
def worker(
    processes: Annotated[int, typer.Option(help="Workers to run in this process.")] = 1,
) -> None:
    """Run publishing workers and the background jobs (webhooks, token upkeep, X bookmarks)."""
    import signal

    from postpost.engine.webhook_delivery import WebhookDispatcher
    from postpost.engine.worker import Worker
    from postpost.server import BackgroundJob
    from postpost.services.token_upkeep import TokenUpkeep
    from postpost.services.x_bookmarks.jobs import XBookmarkJobs
    from postpost.storage import open_storage

    settings = _settings()

    async def main() -> None:
        database = Database(settings.resolved_database_url, pool_size=settings.db_pool_size)
        storage = open_storage(settings)
        try:
            await _prepare(settings, database)
            sandbox_url = settings.resolved_sandbox_url()
            running: list[BackgroundJob] = [
                Worker(settings, database, sandbox_url=sandbox_url) for _ in range(processes)
            ]
            running.append(WebhookDispatcher(settings, database))
            running.append(TokenUpkeep(settings, database, sandbox_url=sandbox_url))
            running.append(XBookmarkJobs(settings, database, storage, sandbox_url=sandbox_url))

            def stop_all() -> None:
                for job in running:
                    job.stop()

            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop_all)
            err.print(f"postpost worker: {processes} worker(s) on {_describe(settings)}")
            await asyncio.gather(*(job.run() for job in running))
        finally:
            await storage.close()
            await database.dispose()

    try:
        _event_loop_runner()(main())
    except Misconfigured as exc:
        _refuse(exc.message)


@db_app.command("upgrade")
def db_upgrade(as_json: JsonOpt = False) -> None:
    """Apply all migrations (a no-op when the schema is current)."""

    async def work(settings: Settings, _db: Database) -> None:
        return None

    _run(work)
    _emit(as_json, {"upgraded": True}, lambda: err.print("[green]database is at the latest schema[/green]"))


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="The user's e-mail address.")],
    plan: Annotated[str, typer.Option(help="starter, pro or premium.")] = "starter",
    workspace: Annotated[bool, typer.Option("--workspace", help="Allow acting for managed users.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a user and its first API key (shown once)."""

    async def work(settings: Settings, database: Database) -> dict[str, Any]:
        async with database.session() as session:
            user = await accounts.create_user(session, email, plan=plan, workspace=workspace)
            key = await accounts.create_key(session, KeyHasher(settings.resolved_secret_key), user.id)
            await session.commit()
            return {"userId": user.id, "email": user.email, "plan": user.plan_key, "apiKey": key.raw}

    data = _run(work)

    def human() -> None:
        out.print(f"Created user [bold]{data['userId']}[/bold] ({data['email']}, plan {data['plan']})")
        out.print(f"API key (shown once): [bold yellow]{data['apiKey']}[/bold yellow]")

    _emit(as_json, data, human)


@users_app.command("set")
def users_set(
    user: Annotated[str, typer.Option(help="User id.")],
    x_bookmarks: Annotated[
        str | None, typer.Option("--x-bookmarks", help="on or off: the X bookmarks beta.")
    ] = None,
    plan: Annotated[str | None, typer.Option(help="starter, pro or premium.")] = None,
    workspace: Annotated[str | None, typer.Option(help="on or off: acting for managed users.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a user's plan, workspace permission or X bookmarks flag."""
    switches = {
        name: _on_off(name, value)
        for name, value in (("--x-bookmarks", x_bookmarks), ("--workspace", workspace))
    }

    async def work(_settings: Settings, database: Database) -> dict[str, Any]:
        async with database.session() as session:
            found = await accounts.update_user(
                session,
                user,
                plan=plan,
                workspace=switches["--workspace"],
                x_bookmarks=switches["--x-bookmarks"],
            )
            await session.commit()
            return {
                "userId": found.id,
                "email": found.email,
                "plan": found.plan_key,
                "workspace": found.workspaces_enabled,
                "xBookmarks": found.x_bookmarks_enabled,
            }

    data = _run(work)

    def human() -> None:
        flags = {True: "on", False: "off"}
        out.print(
            f"User [bold]{data['userId']}[/bold] ({data['email']}): plan {data['plan']}, "
            f"workspace {flags[data['workspace']]}, X bookmarks {flags[data['xBookmarks']]}"
        )

    _emit(as_json, data, human)


@users_app.command("set-password")
def users_set_password(
    user: Annotated[str, typer.Option(help="User id or e-mail address.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Set the password a user signs in to the dashboard with (asked twice, or read from stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True, err=True)

    async def work(_settings: Settings, database: Database) -> dict[str, Any]:
        async with database.session() as session:
            found = await dashboard_auth.set_password(session, user, password)
            return {"userId": found.id, "email": found.email, "passwordSet": True}

    data = _run(work)
    _emit(
        as_json, data, lambda: out.print(f"Password set for [bold]{data['email']}[/bold] ({data['userId']})")
    )


def _on_off(option: str, value: str | None) -> bool | None:
    if value is None:
        return None
    if value.lower() not in ("on", "off"):
        err.print(f"[red]error:[/red] {option} must be on or off")
        raise typer.Exit(2)
    return value.lower() == "on"


@users_app.command("list")
def users_list(as_json: JsonOpt = False) -> None:
    """List every user, oldest first."""

    async def work(_settings: Settings, database: Database) -> list[dict[str, Any]]:
        async with database.session() as session:
            return [
                {
                    "userId": u.id,
                    "email": u.email,
                    "plan": u.plan_key,
                    "role": u.role,
                    "parentUserId": u.parent_user_id,
                    "createdAt": iso(u.created_at),
                }
                for u in await accounts.list_users(session)
            ]

    users = _run(work)

    def human() -> None:
        table = Table("id", "email", "plan", "role", "parent", "created")
        for u in users:
            table.add_row(
                u["userId"], u["email"], u["plan"], u["role"], u["parentUserId"] or "-", u["createdAt"]
            )
        out.print(table)

    _emit(as_json, {"users": users}, human)


@keys_app.command("create")
def keys_create(
    user: Annotated[str, typer.Option(help="User id.")],
    name: Annotated[str, typer.Option(help="A label for the key.")] = "Default",
    as_json: JsonOpt = False,
) -> None:
    """Issue another API key for a user (at most 10 active)."""

    async def work(settings: Settings, database: Database) -> dict[str, Any]:
        async with database.session() as session:
            key = await accounts.create_key(session, KeyHasher(settings.resolved_secret_key), user, name)
            await session.commit()
            return {"keyId": key.id, "userId": key.user_id, "name": key.name, "apiKey": key.raw}

    data = _run(work)
    _emit(
        as_json,
        data,
        lambda: out.print(f"API key {data['keyId']} (shown once): [bold yellow]{data['apiKey']}"),
    )


@keys_app.command("list")
def keys_list(user: Annotated[str, typer.Option(help="User id.")], as_json: JsonOpt = False) -> None:
    """List a user's keys (prefixes only; keys themselves are never stored)."""

    async def work(_settings: Settings, database: Database) -> list[dict[str, Any]]:
        async with database.session() as session:
            return [
                {
                    "keyId": k.id,
                    "name": k.name,
                    "keyPrefix": k.key_prefix,
                    "createdAt": iso(k.created_at),
                    "lastUsedAt": iso(k.last_used_at),
                    "revokedAt": iso(k.revoked_at),
                }
                for k in await accounts.list_keys(session, user)
            ]

    keys = _run(work)

    def human() -> None:
        table = Table("id", "name", "prefix", "created", "last used", "revoked")
        for k in keys:
            table.add_row(
                k["keyId"],
                k["name"],
                k["keyPrefix"],
                k["createdAt"],
                k["lastUsedAt"] or "-",
                k["revokedAt"] or "-",
            )
        out.print(table)

    _emit(as_json, {"keys": keys}, human)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="Key id.")], as_json: JsonOpt = False) -> None:
    """Revoke a key; it stops working at once."""

    async def work(_settings: Settings, database: Database) -> dict[str, Any]:
        async with database.session() as session:
            key = await accounts.revoke_key(session, key_id)
            await session.commit()
            return {"keyId": key.id, "revokedAt": iso(key.revoked_at)}

    data = _run(work)
    _emit(as_json, data, lambda: out.print(f"Revoked key {data['keyId']}"))


@connections_app.command("add-sandbox")
def connections_add_sandbox(
    user: Annotated[str, typer.Option(help="User id.")],
    platform: Annotated[str, typer.Option(help="A platform name, e.g. mastodon (see docs/sandbox.md).")],
    as_json: JsonOpt = False,
) -> None:
    """Add a sandbox connection: it publishes to the simulator served at /sandbox."""
    from postpost.sandbox import add_sandbox_connection

    async def work(settings: Settings, database: Database) -> dict[str, Any]:
        async with database.session() as session:
            await accounts.get_user(session, user)
            connection = await add_sandbox_connection(
                session, SecretBox(settings.resolved_secret_key), user, platform
            )
            await session.commit()
            return {"platformId": connection.compound_id, "username": connection.username}

    data = _run(work)
    _emit(
        as_json,
        {"platformId": data["platformId"]},
        lambda: out.print(
            f"Connected sandbox account [bold]{data['platformId']}[/bold] ({data['username']})"
        ),
    )


@connections_app.command("add")
def connections_add(
    user: Annotated[str, typer.Option(help="User id.")],
    platform: Annotated[str, typer.Option(help="Platform name, e.g. mastodon.")],
    account_id: Annotated[str, typer.Option("--account-id", help="The platform's raw account id.")],
    username: Annotated[str | None, typer.Option(help="Display username.")] = None,
    access_token: Annotated[str | None, typer.Option("--access-token", help="Stored encrypted.")] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="Instance / PDS URL.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a connected account for a user (its token is encrypted at rest)."""

    async def work(settings: Settings, database: Database) -> dict[str, Any]:
        async with database.session() as session:
            await accounts.get_user(session, user)
            connection = await connections.add_connection(
                session,
                SecretBox(settings.resolved_secret_key),
                user_id=user,
                platform=platform,
                account_id=account_id,
                username=username,
                base_url=base_url,
                secrets={"access_token": access_token} if access_token else None,
            )
            await session.commit()
            return {"platformId": connection.compound_id}

    data = _run(work)
    _emit(as_json, data, lambda: out.print(f"Connected [bold]{data['platformId']}[/bold]"))


@posts_app.command("list")
def posts_list(
    user: Annotated[str, typer.Option(help="User id.")],
    status: Annotated[
        str | None, typer.Option(help="draft, scheduled, published, failed, partially_published.")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first (at most 100).")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """A user's post groups, newest first."""
    from postpost import wire
    from postpost.services import post_admin

    async def work(_settings: Settings, database: Database) -> dict[str, Any]:
        async with database.session() as session:
            page = await post_admin.user_posts(session, user, status=status, limit=limit)
            return wire.post_page(page)

    data = _run(work)

    def human() -> None:
        table = Table("group", "status", "scheduled", "platforms", "content")
        for group in data["posts"]:
            platforms = ", ".join(f"{p['platformId']} ({p['status']})" for p in group["platforms"])
            content = group["content"] if len(group["content"]) <= 40 else group["content"][:39] + "…"
            table.add_row(
                group["postGroupId"], group["status"], group["scheduledTime"] or "-", platforms, content
            )
        out.print(table)
        out.print(f"{data['pagination']['totalItems']} group(s) in all")

    _emit(as_json, {"posts": data["posts"], "total": data["pagination"]["totalItems"]}, human)


@posts_app.command("show")
def posts_show(
    group_id: Annotated[str, typer.Argument(help="Post group id.")], as_json: JsonOpt = False
) -> None:
    """One post group: its platform posts, their errors, and the publishing timeline."""
    from postpost import wire
    from postpost.services import post_admin

    async def work(_settings: Settings, database: Database) -> dict[str, Any]:
        async with database.session() as session:
            report = await post_admin.group_report(session, group_id)
            return {
                "userId": report.user_id,
                "group": wire.post_group(report.detail),
                "logs": [wire.post_log(entry) for entry in report.logs],
            }

    data = _run(work)

    def human() -> None:
        group = data["group"]
        out.print(
            f"[bold]{group['postGroupId']}[/bold] of user {data['userId']}: {group['status']} "
            f"({group['processingStatus']}), scheduled {group['scheduledTime'] or '-'}"
        )
        table = Table("platform", "account", "status", "posted id", "error")
        for post in group["posts"]:
            error = post.get("error")
            shown = f"{error['code']}: {error['message']}" if error else "-"
            table.add_row(
                post["platform"], post["platformId"], post["status"], post.get("postedId", "-"), shown
            )
        out.print(table)
        timeline = Table("at", "event", "platform", "detail")
        for entry in data["logs"]:
            detail = entry.get("error") or json.dumps(entry.get("metadata") or {})
            timeline.add_row(entry["createdAt"], entry["event"], entry.get("platform", "-"), detail)
        out.print(timeline)

    _emit(as_json, data, human)


@workspace_users_app.command("list")
def workspace_users_list(
    owner: Annotated[str, typer.Option(help="The workspace owner's user id.")], as_json: JsonOpt = False
) -> None:
    """The users a workspace owner manages (as GET /api/v1/workspace/users answers)."""
    from postpost import wire
    from postpost.services import workspace
    from postpost.services.connect_links import LinkSigner

    async def work(settings: Settings, database: Database) -> dict[str, Any]:
        async with database.session() as session:
            user = await accounts.get_user(session, owner)
            links = LinkSigner(settings.resolved_secret_key, settings.base_url())
            rows = await workspace.managed_users(session, user.id, links)
            return {"users": [wire.managed_user(u) for u in rows]}

    data = _run(work)

    def human() -> None:
        table = Table("id", "username", "display name", "connect page until")
        for u in data["users"]:
            table.add_row(
                u["_id"], u["username"], u["displayName"], u["connectionsPageTokenExpiresAt"] or "-"
            )
        out.print(table)

    _emit(as_json, data, human)


@connections_app.command("link")
def connections_link(
    user: Annotated[str, typer.Option(help="User id.")],
    expires_in_days: Annotated[
        float, typer.Option("--expires-in-days", help="Validity (fractions allowed).")
    ] = 90.0,
    rotate: Annotated[bool, typer.Option("--rotate", help="Replace a link that is still valid.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """A link to the user's own connect page, where they connect their social accounts."""
    from postpost.services.connect_links import LinkSigner

    if expires_in_days <= 0:
        err.print("[red]error:[/red] --expires-in-days must be a positive number")
        raise typer.Exit(2)

    async def work(settings: Settings, database: Database) -> dict[str, Any]:
        async with database.session() as session:
            found = await accounts.get_user(session, user)
            links = LinkSigner(settings.resolved_secret_key, settings.base_url())
            link = await links.issue(session, found, days=expires_in_days, rotate=rotate)
            await session.commit()
            return {"url": link.url, "expiresAt": iso(link.expires_at)}

    data = _run(work)
    _emit(as_json, data, lambda: out.print(f"{data['url']}\n(valid until {data['expiresAt']})"))


@connections_app.command("list")
def connections_list(user: Annotated[str, typer.Option(help="User id.")], as_json: JsonOpt = False) -> None:
    """List a user's connected accounts with their token health (never their secrets)."""
    from postpost import wire

    async def work(_settings: Settings, database: Database) -> list[dict[str, Any]]:
        async with database.session() as session:
            await accounts.get_user(session, user)
            infos = await connections.list_connections(session, user)
        return [{**wire.connection(info), "sandbox": info.is_sandbox} for info in infos]

    found = _run(work)

    def human() -> None:
        table = Table("platformId", "username", "token", "sandbox", "last error")
        for c in found:
            error = (c["lastError"] or {}).get("message") or "-"
            table.add_row(
                c["platformId"],
                c["username"] or "-",
                c["tokenStatus"],
                "yes" if c["sandbox"] else "no",
                error,
            )
        out.print(table)

    _emit(as_json, {"connections": found}, human)


@connections_app.command("remove")
def connections_remove(
    user: Annotated[str, typer.Option(help="User id.")],
    platform_id: Annotated[str, typer.Option("--platform-id", help="e.g. mastodon-123.")],
    as_json: JsonOpt = False,
) -> None:
    """Remove a user's connected account; its unpublished posts will fail with "Connection not found"."""

    async def work(_settings: Settings, database: Database) -> connections.Removal:
        async with database.session() as session:
            await accounts.get_user(session, user)
            return await connections.remove_connection(session, user, platform_id)

    removal = _run(work)
    data = {
        "platformId": removal.platform_id,
        "removed": True,
        "queuedPosts": removal.queued_posts,
        "draftPosts": removal.draft_posts,
    }

    def human() -> None:
        out.print(f"Removed [bold]{removal.platform_id}[/bold]")
        if removal.queued_posts or removal.draft_posts:
            out.print(
                f"{removal.queued_posts} scheduled and {removal.draft_posts} draft platform post(s) used it: "
                'they will fail with "Connection not found" when their time comes.'
            )

    _emit(as_json, data, human)


@app.command()
def doctor(as_json: JsonOpt = False) -> None:
    """Check the configuration, database, secret key, sandbox and platform reachability; say what to fix."""
    from postpost.services.doctor import diagnose

    report = asyncio.run(diagnose(Settings))

    def human() -> None:
        marks = {"ok": "[green]✓[/green]", "warning": "[yellow]![/yellow]", "failed": "[red]✗[/red]"}
        table = Table("", "check", "result")
        for check in report.checks:
            table.add_row(marks[check.status], check.name, escape(check.detail))
        out.print(table)
        for check in report.checks:
            if check.fix and check.status != "ok":
                out.print(f"{marks[check.status]} {check.name}: {escape(check.fix)}")
        verdict = "[green]all checks passed[/green]" if report.ok else "[red]some checks failed[/red]"
        out.print(verdict)

    _emit(as_json, report.as_json(), human)
    if not report.ok:
        raise typer.Exit(1)


@app.command("mcp")
def mcp_stdio(
    api_key: Annotated[
        str,
        typer.Option(
            "--api-key", envvar="POSTPOST_MCP_API_KEY", help="Your API key (sk_…); or POSTPOST_MCP_API_KEY."
        ),
    ],
) -> None:
    """Serve MCP over stdio for a desktop AI client (see docs/mcp.md); stdout carries the protocol."""
    from postpost.mcp.deps import McpDeps
    from postpost.mcp.stdio import check_key, serve_stdio
    from postpost.storage import open_storage

    settings = _settings()

    async def main() -> None:
        database = Database(settings.resolved_database_url)
        storage = open_storage(settings)
        try:
            await _prepare(settings, database)
            deps = McpDeps.build(settings, database, storage, sandbox_url=settings.resolved_sandbox_url())
            await check_key(deps, api_key)
            await serve_stdio(deps, api_key)
        finally:
            await storage.close()
            await database.dispose()

    try:
        asyncio.run(main())
    except Misconfigured as exc:
        _refuse(exc.message)
    except PostpostError as exc:
        err.print(f"[red]error:[/red] {escape(exc.message)}")
        raise typer.Exit(1) from None


def main() -> None:
    app()
