"""The `postpost` command line: the composition root that builds settings, database and app.

Every command honours POSTPOST_DATABASE_URL and migrates an empty database itself. With
`--json` a command prints exactly one JSON object on stdout and nothing else there.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from postpost.config import Settings
from postpost.db.migrate import upgrade
from postpost.db.session import Database
from postpost.errors import PostpostError
from postpost.ids import iso
from postpost.security import KeyHasher, SecretBox
from postpost.services import accounts, connections

app = typer.Typer(
    help="postpost: self-hostable social media publishing (PostPost v1 API).", no_args_is_help=True
)
users_app = typer.Typer(help="Create users.", no_args_is_help=True)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
connections_app = typer.Typer(help="Add connected social accounts.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(connections_app, name="connections")
app.add_typer(db_app, name="db")

err = Console(stderr=True)
out = Console()
T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


def _run(work: Callable[[Settings, Database], Awaitable[T]]) -> T:
    """Build settings and a migrated database, run `work`, map domain errors to exit code 1."""
    settings = Settings()

    async def main() -> T:
        database = Database(settings.resolved_database_url)
        try:
            await upgrade(database)
            return await work(settings, database)
        finally:
            await database.dispose()

    try:
        return asyncio.run(main())
    except PostpostError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
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
    settings = Settings(**overrides)  # type: ignore[arg-type]
    database = Database(settings.resolved_database_url, pool_size=settings.db_pool_size)
    asyncio.run(_migrate_then_release(database))
    err.print(f"postpost serving on [bold]{settings.base_url()}[/bold] (database: {_describe(settings)})")
    err.print(f"API docs: {settings.base_url()}/docs")
    if settings.sandbox:
        err.print(f"sandbox platforms: {settings.resolved_sandbox_url()} (see docs/sandbox.md)")
    uvicorn.run(build_server(settings, database), host=settings.host, port=settings.port, log_level="info")


async def _migrate_then_release(database: Database) -> None:
    """Migrate, then drop pooled connections: they belong to this loop, not the server's."""
    await upgrade(database)
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
    """Run publishing workers and a webhook dispatcher (any number, on any host, sharing one PostgreSQL)."""
    import signal

    from postpost.engine.webhook_delivery import WebhookDispatcher
    from postpost.engine.worker import Worker

    settings = Settings()

    async def main() -> None:
        database = Database(settings.resolved_database_url, pool_size=settings.db_pool_size)
        await upgrade(database)
        running: list[Worker | WebhookDispatcher] = [
            Worker(settings, database, sandbox_url=settings.resolved_sandbox_url()) for _ in range(processes)
        ]
        running.append(WebhookDispatcher(settings, database))

        def stop_all() -> None:
            for running_worker in running:
                running_worker.stop()

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop_all)
        err.print(f"postpost worker: {processes} worker(s) on {_describe(settings)}")
        try:
            await asyncio.gather(*(w.run() for w in running))
        finally:
            await database.dispose()

    _event_loop_runner()(main())


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
    platform: Annotated[str, typer.Option(help="mastodon or bluesky.")],
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


def main() -> None:
    app()
