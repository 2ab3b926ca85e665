"""API benchmark: get-post and list-posts over real HTTP, against a bare-Starlette baseline.

    .venv/bin/python bench/api.py [--engines sqlite,postgresql] [--sizes 1000,100000] [--seconds 6]

For every engine and size: a throwaway database is migrated and seeded in bulk (one user, one
API key, one connection, N post groups each with one platform post), then two uvicorn servers are
started as subprocesses with identical settings (one worker process, uvloop/httptools as uvicorn
picks them, no access log):

* service:  `postpost.api.app.create_app(...)`, the real FastAPI application;
* baseline: a bare Starlette app whose handlers run the same SQL the service runs for that
            request (API-key lookup by prefix + HMAC check, user, plan; then the group + posts
            queries for get-post, or count + page + platforms + media for list-posts) on the same
            async SQLAlchemy engine (`postpost.db.session.Database`), returning the same JSON.

This process is the load generator: aiohttp at concurrency 16, a short warm-up, then a fixed
measured window. Every case stops itself; the databases are dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (  # noqa: E402
    SECRET,
    busy_others,
    free_port,
    loadavg,
    new_database,
    percentile,
    profile_top,
    pyspy,
    python,
    running,
    table,
)

CONCURRENCY = 16
USER_EMAIL = "bench@example.com"
ACCOUNT_ID = "109000000000001"


# --------------------------------------------------------------------------------------------
# Seeding (bulk, not through the API)
# --------------------------------------------------------------------------------------------


async def seed(url: str, groups: int) -> tuple[str, list[str], float]:
    """Migrate, create user/key/connection, bulk-insert `groups` groups; (api key, ids, seconds)."""
    from postpost.config import async_database_url
    from postpost.db.migrate import upgrade
    from postpost.db.models import Post, PostGroup
    from postpost.db.session import Database
    from postpost.ids import new_id
    from postpost.security import KeyHasher, SecretBox
    from postpost.services import accounts, connections

    database = Database(async_database_url(url))
    try:
        await upgrade(database)
        async with database.session() as session:
            user = await accounts.create_user(session, USER_EMAIL, plan="premium")
            key = await accounts.create_key(session, KeyHasher(SECRET.encode()), user.id)
            conn = await connections.add_connection(
                session,
                SecretBox(SECRET.encode()),
                user_id=user.id,
                platform="mastodon",
                account_id=ACCOUNT_ID,
                username="@bench",
                base_url="https://mastodon.example",
                secrets={"access_token": "bench-token"},
            )
            await session.commit()
            user_id, connection_id = user.id, conn.id

        started = time.perf_counter()
        base = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=groups)
        ids: list[str] = []
        group_rows: list[dict[str, Any]] = []
        post_rows: list[dict[str, Any]] = []
        statuses = ("published", "published", "published", "scheduled", "draft", "failed")
        for i in range(groups):
            gid = new_id()
            ids.append(gid)
            created = base + timedelta(seconds=i)
            status = statuses[i % len(statuses)]
            content = f"Benchmark post number {i}: a short status with a link https://example.com/{i} #bench"
            group_rows.append(
                {
                    "id": gid,
                    "user_id": user_id,
                    "content": content,
                    "platforms": [f"mastodon-{ACCOUNT_ID}"],
                    "status": status,
                    "processing_status": "finished" if status in ("published", "failed") else "pending",
                    "scheduled_time": created + timedelta(minutes=5) if status != "draft" else None,
                    "platform_settings": {},
                    "created_at": created,
                    "updated_at": created,
                }
            )
            published = status == "published"
            post_rows.append(
                {
                    "id": new_id(),
                    "group_id": gid,
                    "user_id": user_id,
                    "connection_id": connection_id,
                    "platform": "mastodon",
                    "account_id": ACCOUNT_ID,
                    "content": content,
                    "status": status,
                    "thread_index": 0,
                    "head_post_id": None,
                    "due_at": created + timedelta(minutes=5) if status == "scheduled" else None,
                    "lease_token": None,
                    "lease_expires_at": None,
                    "attempts": 1 if status != "draft" else 0,
                    "retry_count": 0,
                    "idempotency_key": new_id() + new_id()[16:],
                    "posted_id": str(110_000_000_000_000_000 + i) if published else None,
                    "posted_url": f"https://mastodon.example/@bench/{i}" if published else None,
                    "remote_ref": None,
                    "error": {
                        "code": "INVALID_CONTENT",
                        "message": "Mastodon rejected the status: x",
                        "platformStatusCode": 422,
                        "platformError": "x",
                        "failedAt": "2026-01-01T00:00:00.000Z",
                        "retryable": False,
                    }
                    if status == "failed"
                    else None,
                    "published_at": created + timedelta(minutes=5) if published else None,
                    "created_at": created,
                    "updated_at": created,
                }
            )
        chunk = 10_000
        async with database.engine.begin() as conn_:
            for start in range(0, groups, chunk):
                await conn_.execute(PostGroup.__table__.insert(), group_rows[start : start + chunk])
            for start in range(0, groups, chunk):
                await conn_.execute(Post.__table__.insert(), post_rows[start : start + chunk])
        if database.is_sqlite:
            async with database.engine.begin() as conn_:
                await conn_.exec_driver_sql("ANALYZE")
        else:
            async with database.engine.connect() as conn_:
                conn_ = await conn_.execution_options(isolation_level="AUTOCOMMIT")
                await conn_.exec_driver_sql("VACUUM ANALYZE")
        return key.raw, ids, time.perf_counter() - started
    finally:
        await database.dispose()


# --------------------------------------------------------------------------------------------
# The two servers (run in a subprocess: `bench/api.py --serve service|baseline`)
# --------------------------------------------------------------------------------------------


def baseline_app(settings: Any, database: Any) -> Any:
    """Bare Starlette: the same SQL as the service, on the same engine, the same JSON out."""
    from sqlalchemy import desc, func, select
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from postpost.db.models import ApiKey, Media, Plan, Post, PostGroup, User
    from postpost.ids import is_object_id, iso
    from postpost.security import KeyHasher, key_prefix

    hasher = KeyHasher(settings.resolved_secret_key)
    ak, users, plans = ApiKey.__table__, User.__table__, Plan.__table__
    groups_t, posts_t, media_t = PostGroup.__table__, Post.__table__, Media.__table__

    async def authenticate(conn: Any, request: Request) -> str | JSONResponse:
        raw = request.headers.get("x-api-key")
        if not raw:
            return JSONResponse({"success": False, "error": "API key is required"}, 401)
        rows = (
            await conn.execute(
                select(ak).where(ak.c.key_prefix == key_prefix(raw), ak.c.revoked_at.is_(None)).limit(20)
            )
        ).all()
        key = next((r for r in rows if hasher.verify(raw, r.key_hash)), None)
        if key is None:
            return JSONResponse({"success": False, "error": "Invalid API key"}, 401)
        user = (await conn.execute(select(users).where(users.c.id == key.user_id))).first()
        if user is None:
            return JSONResponse({"success": False, "error": "Invalid API key owner"}, 401)
        plan = (await conn.execute(select(plans).where(plans.c.key == user.plan_key))).first()
        entitlements = dict(plan.entitlements) if plan else {}
        entitlements.update(user.entitlements or {})
        if not entitlements.get("apiAccess"):
            return JSONResponse(
                {"success": False, "error": "API access is not enabled for this account"}, 403
            )
        return str(user.id)

    async def get_post(request: Request) -> JSONResponse:
        async with database.engine.connect() as conn:
            user_id = await authenticate(conn, request)
            if isinstance(user_id, JSONResponse):
                return user_id
            group_id = request.path_params["gid"]
            if not is_object_id(group_id):
                return JSONResponse({"success": False, "error": "Post group not found"}, 404)
            group = (
                await conn.execute(
                    select(groups_t).where(groups_t.c.id == group_id.lower(), groups_t.c.user_id == user_id)
                )
            ).first()
            if group is None:
                return JSONResponse({"success": False, "error": "Post group not found"}, 404)
            posts = (await conn.execute(select(posts_t).where(posts_t.c.group_id == group.id))).all()
        order = {pid: i for i, pid in enumerate(group.platforms)}
        ordered = sorted(posts, key=lambda p: (order.get(f"{p.platform}-{p.account_id}", 0), p.thread_index))
        views = []
        for p in ordered:
            view: dict[str, Any] = {
                "_id": p.id,
                "platform": p.platform,
                "platformId": p.account_id,
                "content": p.content,
                "status": p.status,
            }
            if p.posted_id is not None:
                view["postedId"] = p.posted_id
            if p.error:
                view["error"] = dict(p.error)
            views.append(view)
        return JSONResponse(
            {
                "success": True,
                "postGroupId": group.id,
                "status": group.status,
                "processingStatus": group.processing_status,
                "content": group.content,
                "scheduledTime": iso(group.scheduled_time),
                "posts": views,
            }
        )

    async def list_posts(request: Request) -> JSONResponse:
        page, limit = 1, 20  # the benchmark asks for the defaults only
        async with database.engine.connect() as conn:
            user_id = await authenticate(conn, request)
            if isinstance(user_id, JSONResponse):
                return user_id
            where = groups_t.c.user_id == user_id
            total = await conn.scalar(select(func.count()).select_from(groups_t).where(where)) or 0
            groups = (
                await conn.execute(
                    select(groups_t)
                    .where(where)
                    .order_by(desc(groups_t.c.created_at), desc(groups_t.c.id))
                    .offset((page - 1) * limit)
                    .limit(limit)
                )
            ).all()
            ids = [g.id for g in groups]
            platforms: dict[str, list[dict[str, str]]] = {gid: [] for gid in ids}
            media: dict[str, list[str]] = {gid: [] for gid in ids}
            if ids:
                for gid, platform, account_id, status in await conn.execute(
                    select(
                        posts_t.c.group_id, posts_t.c.platform, posts_t.c.account_id, posts_t.c.status
                    ).where(posts_t.c.group_id.in_(ids), posts_t.c.thread_index == 0)
                ):
                    platforms[gid].append(
                        {"platformId": f"{platform}-{account_id}", "platform": platform, "status": status}
                    )
                for gid, url in await conn.execute(
                    select(media_t.c.group_id, media_t.c.url)
                    .where(media_t.c.group_id.in_(ids))
                    .order_by(media_t.c.created_at, media_t.c.id)
                ):
                    media[gid].append(url)
        items = []
        for g in groups:
            order = {pid: i for i, pid in enumerate(g.platforms)}
            items.append(
                {
                    "postGroupId": g.id,
                    "content": g.content,
                    "status": g.status,
                    "scheduledTime": iso(g.scheduled_time),
                    "createdAt": iso(g.created_at),
                    "updatedAt": iso(g.updated_at),
                    "platforms": sorted(
                        platforms[g.id], key=lambda e: order.get(e["platformId"], len(order))
                    ),
                    "mediaUrls": media[g.id],
                }
            )
        pages = -(-total // limit)
        return JSONResponse(
            {
                "success": True,
                "posts": items,
                "pagination": {
                    "page": page,
                    "limit": limit,
                    "totalItems": total,
                    "totalPages": pages,
                    "hasNextPage": page < pages,
                    "hasPrevPage": page > 1,
                },
            }
        )

    return Starlette(
        routes=[
            Route("/api/v1/get-post/{gid}", get_post, methods=["GET"]),
            Route("/api/v1/list-posts", list_posts, methods=["GET"]),
        ]
    )


def serve(kind: str, url: str, port: int) -> None:
    import uvicorn

    from postpost.api.app import create_app
    from postpost.config import Settings
    from postpost.db.session import Database

    settings = Settings(database_url=url, secret_key=SECRET, sandbox=False, workers=0)  # type: ignore[arg-type]
    database = Database(settings.resolved_database_url, pool_size=settings.db_pool_size)
    app = (
        create_app(settings, database, own_database=True)
        if kind == "service"
        else baseline_app(settings, database)
    )
    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="warning", workers=1)


# --------------------------------------------------------------------------------------------
# Load generator
# --------------------------------------------------------------------------------------------


async def load(
    port: int, endpoint: str, api_key: str, ids: list[str], seconds: float, warmup: float
) -> dict[str, Any]:
    import aiohttp

    base = f"http://127.0.0.1:{port}/api/v1"
    headers = {"x-api-key": api_key}
    rng = random.Random(42)

    def target() -> str:
        if endpoint == "get-post":
            return f"{base}/get-post/{ids[rng.randrange(len(ids))]}"
        return f"{base}/list-posts"

    latencies: list[float] = []
    errors: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=CONCURRENCY, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as http:
        # correctness probe: a 200 with the expected shape
        async with http.get(target(), headers=headers) as resp:
            body = await resp.json()
            if resp.status != 200 or not body.get("success"):
                raise RuntimeError(f"{endpoint} on port {port} answered {resp.status}: {body}")

        async def client(until: float, record: bool) -> None:
            while True:
                t0 = time.perf_counter()
                if t0 >= until:
                    return
                async with http.get(target(), headers=headers) as resp:
                    await resp.read()
                    status = resp.status
                t1 = time.perf_counter()
                if record and t1 <= until:
                    if status == 200:
                        latencies.append(t1 - t0)
                    else:
                        errors[status] = errors.get(status, 0) + 1

        await asyncio.gather(*(client(time.perf_counter() + warmup, False) for _ in range(CONCURRENCY)))
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(*(client(until, True) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return {
        "rps": len(latencies) / elapsed,
        "p50": percentile(latencies, 50) * 1000,
        "p99": percentile(latencies, 99) * 1000,
        "n": len(latencies),
        "errors": errors,
    }


def profile_start(pid: int, seconds: float, out: str) -> subprocess.Popen[bytes] | None:
    spy = pyspy()
    if spy is None:
        print(
            "  (py-spy not found; install it with `python3 -m venv /tmp/pyspy && /tmp/pyspy/bin/pip install"
            " py-spy`)"
        )
        return None
    return subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            out,
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def run_case(engine: str, size: int, args: argparse.Namespace) -> list[list[Any]]:
    print(
        f"[{engine} {size:,} groups] load average {loadavg()}; other busy processes: {busy_others()}",
        flush=True,
    )
    db = new_database(engine, f"api{size}")
    rows: list[list[Any]] = []
    try:
        api_key, ids, seed_seconds = await seed(db.url, size)
        print(f"[{engine} {size:,} groups] seeded in {seed_seconds:.1f} s", flush=True)
        sport, bport = free_port(), free_port()
        script = str(Path(__file__).resolve())
        with (
            running(
                [python(), script, "--serve", "service", "--url", db.url, "--port", str(sport)], sport
            ) as svc,
            running([python(), script, "--serve", "baseline", "--url", db.url, "--port", str(bport)], bport),
        ):
            for endpoint in args.endpoints:
                spy = None
                raw = ""
                if args.profile:
                    raw = tempfile.mktemp(prefix="ppbench-spy-", suffix=".txt")
                    spy = profile_start(svc.pid, args.warmup + args.seconds, raw)
                service = await load(sport, endpoint, api_key, ids, args.seconds, args.warmup)
                if spy is not None:
                    spy.wait(30)
                    print(
                        f"  py-spy, service {engine} {size:,} {endpoint}: postpost functions by inclusive time, then top self-time "
                        "(self %, inclusive %)"
                    )
                    for name, own, incl in profile_top(raw, 26):
                        print(f"    {own:5.1f}% {incl:5.1f}%  {name}")
                    os.unlink(raw)
                baseline = await load(bport, endpoint, api_key, ids, args.seconds, args.warmup)
                ratio = service["rps"] / baseline["rps"] if baseline["rps"] else float("nan")
                errs = service["errors"] or baseline["errors"]
                row = [
                    engine,
                    f"{size:,}",
                    endpoint,
                    service["rps"],
                    service["p50"],
                    service["p99"],
                    baseline["rps"],
                    baseline["p50"],
                    baseline["p99"],
                    f"{ratio:.2f}",
                ]
                rows.append(row)
                print(
                    f"  {endpoint}: service {service['rps']:.0f} req/s p50 {service['p50']:.1f} ms "
                    f"p99 {service['p99']:.1f} ms | baseline {baseline['rps']:.0f} req/s "
                    f"p50 {baseline['p50']:.1f} p99 {baseline['p99']:.1f} | ratio {ratio:.2f}"
                    + (f" | non-200: {errs}" if errs else ""),
                    flush=True,
                )
    finally:
        db.drop()
    return rows


HEADERS = [
    "engine",
    "groups",
    "endpoint",
    "req/s",
    "p50 ms",
    "p99 ms",
    "base req/s",
    "base p50",
    "base p99",
    "ratio",
]


async def main_async(args: argparse.Namespace) -> None:
    print(
        f"API benchmark: concurrency {CONCURRENCY}, {args.warmup:g} s warm-up + {args.seconds:g} s per case, "
        f"{os.cpu_count()} CPUs, python {sys.version.split()[0]}"
    )
    all_rows: list[list[Any]] = []
    for engine in args.engines:
        for size in args.sizes:
            rows = await run_case(engine, size, args)
            all_rows.extend(rows)
            print()
            print(table(HEADERS, rows))
            print(flush=True)
    print("== summary (targets: ratio >= 0.6; list-posts p99 < 50 ms at 100k groups) ==")
    print(table(HEADERS, all_rows))
    for row in all_rows:
        verdicts = []
        if float(row[9]) < 0.6:
            verdicts.append(f"ratio {row[9]} < 0.6")
        if row[2] == "list-posts" and row[1] == "100,000" and row[5] >= 50:
            verdicts.append(f"p99 {row[5]:.1f} ms >= 50 ms")
        if verdicts:
            print(f"  MISSED {row[0]} {row[1]} {row[2]}: " + "; ".join(verdicts))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--endpoints", default="get-post,list-posts")
    parser.add_argument("--seconds", type=float, default=6.0, help="measured seconds per case")
    parser.add_argument("--warmup", type=float, default=1.5, help="warm-up seconds per case")
    parser.add_argument("--profile", action="store_true", help="py-spy the service during its runs")
    parser.add_argument("--serve", choices=["service", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.url, args.port)
        return
    args.engines = [e for e in args.engines.split(",") if e]
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    args.endpoints = [e for e in args.endpoints.split(",") if e]
    try:
        import uvloop

        uvloop.run(main_async(args))
    except ImportError:
        asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
