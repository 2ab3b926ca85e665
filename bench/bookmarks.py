"""X bookmarks search benchmark: 1,000,000 stored bookmarks, the service against a bare handler.

    .venv/bin/python bench/bookmarks.py [--engines sqlite,postgresql] [--rows 1000000] [--seconds 6]

Per engine: a throwaway database is migrated and seeded in bulk with `--rows` bookmarks of
`--heavy` users holding 20,000 each (a year of Premium's 2,000 a month, the most a user can
gather) and light users holding 100 each. Texts are 8-18 Zipf-distributed words with chosen
shares of searchable words: each COMMON word in ~5% of bookmarks, each MEDIUM word in ~0.5%,
each rare word in ~0.003%. Then two uvicorn servers run as subprocesses
with identical settings:

* service:  `postpost.api.app.create_app(...)`, `GET /api/v1/x-bookmarks?q=…`;
* baseline: a bare Starlette handler doing the same work with the same SQL on the same engine:
            API-key lookup + HMAC check, user, plan, the user's flag, then the very statements the
            service builds (`listing.search_statement`, the media query) through a plain connection,
            and the same JSON.

This process is the load generator: aiohttp, concurrency 8, warm-up, then a fixed window per
case. Both servers get the same request sequence. The databases are dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import sqlite3
import sys
import time
from datetime import datetime, timedelta
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
    python,
    running,
    table,
)

CONCURRENCY = 8
HEAVY_SIZE = 20_000
LIGHT_SIZE = 100
CHUNK = 20_000
COPIERS = 2  # concurrent COPY connections when seeding PostgreSQL
STOPWORDS = str.split(
    "the to and of a in is for on that with this you it be are at as your how new we can from just"
)
COMMON = ["learning", "python", "coffee", "design", "garden", "travel"]  # each in ~5% of bookmarks
MEDIUM = ["kubernetes", "latency", "benchmark", "recipe", "privacy", "telescope"]  # each in ~0.5%
COMMON_SHARE, MEDIUM_SHARE = 0.05, 0.005
RARE_WORDS = 30_000  # one per bookmark: each in ~0.003%
SYLLABLES = str.split("ka lo mi ren tu sa vel dor pin qua be ti nor ash el gru fi mon ta zel")


# --------------------------------------------------------------------------------------------
# Seeding
# --------------------------------------------------------------------------------------------


def text_pool(rng: random.Random, count: int = 20_000) -> list[str]:
    """Tweet-like texts: 8-18 words, Zipf-distributed over stop words and 3,000 made-up words,
    plus each COMMON and MEDIUM word with its share. Rows reuse these and add one rare word."""
    fillers = sorted({"".join(rng.choices(SYLLABLES, k=rng.randint(2, 3))) for _ in range(4000)})[:3000]
    words = STOPWORDS + fillers
    cumulative = list(itertools.accumulate(1.0 / (rank + 2) for rank in range(len(words))))
    pool = []
    for _ in range(count):
        text = rng.choices(words, cum_weights=cumulative, k=rng.randint(8, 18))
        for word in COMMON:
            if rng.random() < COMMON_SHARE:
                text.insert(rng.randrange(len(text) + 1), word)
        for word in MEDIUM:
            if rng.random() < MEDIUM_SHARE:
                text.insert(rng.randrange(len(text) + 1), word)
        pool.append(" ".join(text).capitalize())
    return pool


def rare_word(n: int) -> str:
    return f"zx{n:05d}q"


async def make_users(url: str, heavy: int, light: int) -> list[dict[str, Any]]:
    """Premium users with the beta switched on, each with an API key (rows added in bulk)."""
    from postpost.config import Settings, async_database_url
    from postpost.db.migrate import upgrade
    from postpost.db.models import ApiKey, User
    from postpost.db.session import Database
    from postpost.security import KeyHasher, generate_api_key, key_prefix

    settings = Settings(database_url=url, secret_key=SECRET)  # type: ignore[arg-type]
    database = Database(async_database_url(url))
    await upgrade(database)
    hasher = KeyHasher(settings.resolved_secret_key)
    users = []
    async with database.session() as session:
        for n in range(heavy + light):
            user = User(email=f"reader{n}@example.com", plan_key="premium", x_bookmarks_enabled=True)
            raw = generate_api_key()
            session.add(user)
            await session.flush()
            session.add(ApiKey(user_id=user.id, key_prefix=key_prefix(raw), key_hash=hasher.hash(raw)))
            users.append({"id": user.id, "key": raw, "size": HEAVY_SIZE if n < heavy else LIGHT_SIZE})
        await session.commit()
    await database.dispose()
    return users


def rows_for(users: list[dict[str, Any]], total: int, rng: random.Random, *, text_times: bool) -> Any:
    """Bookmark rows (tuples in COLUMNS order), user after user, `total` in all, in chunks.

    Times are datetimes, or (`text_times`, for SQLite) the text SQLAlchemy stores there.
    """
    from postpost.ids import new_id

    pool = text_pool(rng)
    base = datetime(2025, 1, 1)
    synced = base + timedelta(days=400)

    def when(moment: datetime) -> Any:
        return moment.isoformat(" ", "microseconds") if text_times else moment

    made = 0
    for user in users:
        count = min(user["size"], total - made)
        if count <= 0:
            return
        for start in range(0, count, CHUNK):
            size = min(CHUNK, count - start)
            texts = rng.choices(pool, k=size)
            rare = rng.choices(range(RARE_WORDS), k=size)
            out = []
            for i in range(size):
                n = made + start + i
                stamp = when(synced + timedelta(seconds=n))
                out.append(
                    (
                        new_id(),
                        user["id"],
                        str(1_800_000_000_000_000_000 + n),
                        f"{texts[i]} {rare_word(rare[i])}.",
                        str(1000 + n % 5000),
                        f"author{n % 5000}",
                        f"Author {n % 5000}",
                        when(base + timedelta(minutes=n)),
                        n * 7919 % 5000,
                        n * 104_729 % 500,
                        n * 1_299_709 % 100,
                        n * 15_485_863 % 50,
                        (0, 0, 0, 1, 2, 4)[n % 6],
                        "[]",
                        "[]",
                        stamp,
                        stamp,
                        stamp,
                    )
                )
            yield out
        made += count


COLUMNS = [
    "id",
    "user_id",
    "tweet_id",
    "text",
    "author_id",
    "author_username",
    "author_name",
    "tweet_created_at",
    "like_count",
    "retweet_count",
    "reply_count",
    "quote_count",
    "media_kinds",
    "media",
    "referenced_tweets",
    "synced_at",
    "created_at",
    "updated_at",
]


async def seed_postgresql(url: str, users: list[dict[str, Any]], total: int) -> None:
    """COPY on two connections at once (computing the generated tsvector is the costly part)
    into the table without its secondary indexes, then build them in bulk exactly as the
    migration defines them."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'x_bookmarks' AND indexname LIKE 'ix_%'"
        )
        for index in indexes:
            await conn.execute(f"DROP INDEX {index['indexname']}")
        t0 = time.perf_counter()
        batches: asyncio.Queue[list[tuple[Any, ...]] | None] = asyncio.Queue(maxsize=2)

        async def copier() -> None:
            other = await asyncpg.connect(url)
            try:
                while (batch := await batches.get()) is not None:
                    await other.copy_records_to_table("x_bookmarks", records=batch, columns=COLUMNS)
            finally:
                await other.close()

        copiers = [asyncio.create_task(copier()) for _ in range(COPIERS)]
        for batch in rows_for(users, total, random.Random(7), text_times=False):
            await batches.put(batch)
        for _ in copiers:
            await batches.put(None)
        await asyncio.gather(*copiers)
        t1 = time.perf_counter()
        await conn.execute("SET maintenance_work_mem = '256MB'")
        for index in indexes:
            await conn.execute(index["indexdef"])
        t2 = time.perf_counter()
        await conn.execute("VACUUM ANALYZE x_bookmarks")
        print(
            f"  seeding: copy {t1 - t0:.1f} s, indexes {t2 - t1:.1f} s, "
            f"vacuum analyze {time.perf_counter() - t2:.1f} s",
            flush=True,
        )
    finally:
        await conn.close()


def seed_sqlite(path: str, users: list[dict[str, Any]], total: int) -> None:
    """executemany without the FTS triggers and secondary indexes, then the FTS5 rows in one
    INSERT … SELECT (what the insert trigger writes), the indexes, and the triggers again."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        saved = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'x_bookmarks' "
            "AND type IN ('trigger', 'index') AND sql IS NOT NULL"
        ).fetchall()
        for kind, name, _sql in saved:
            conn.execute(f"DROP {kind.upper()} {name}")
        marks = ", ".join("?" for _ in COLUMNS)
        statement = f"INSERT INTO x_bookmarks ({', '.join(COLUMNS)}) VALUES ({marks})"
        for batch in rows_for(users, total, random.Random(7), text_times=True):
            conn.executemany(statement, batch)
        conn.execute(
            "INSERT INTO x_bookmarks_fts (rowid, owner, body, author) SELECT seq, 'u' || user_id || '0', "
            "coalesce(text, ''), coalesce(author_username, '') || ' ' || coalesce(author_name, '') "
            "FROM x_bookmarks"
        )
        for _kind, _name, sql in saved:
            conn.execute(sql)
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------
# The two servers (subprocesses: `bench/bookmarks.py --serve service|baseline`)
# --------------------------------------------------------------------------------------------


def baseline_app(settings: Any, database: Any) -> Any:
    """Bare Starlette: the same statements as the service on the same engine, the same JSON."""
    from sqlalchemy import select
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from postpost.db.models import ApiKey, Plan, User, XBookmarkMedia
    from postpost.ids import iso
    from postpost.security import KeyHasher, key_prefix
    from postpost.services.x_bookmarks.listing import count_statement, search_statement
    from postpost.services.x_bookmarks.query import parse_query

    hasher = KeyHasher(settings.resolved_secret_key)
    ak, users, plans, media_t = ApiKey.__table__, User.__table__, Plan.__table__, XBookmarkMedia.__table__
    dialect = "postgresql" if not settings.is_sqlite else "sqlite"

    async def search(request: Request) -> JSONResponse:
        query = parse_query(request.query_params.multi_items())
        async with database.engine.connect() as conn:
            raw = request.headers.get("x-api-key", "")
            keys = (
                await conn.execute(
                    select(ak).where(ak.c.key_prefix == key_prefix(raw), ak.c.revoked_at.is_(None)).limit(20)
                )
            ).all()
            key = next((k for k in keys if hasher.verify(raw, k.key_hash)), None)
            if key is None:
                return JSONResponse({"error": "Invalid API key"}, 401)
            user = (await conn.execute(select(users).where(users.c.id == key.user_id))).first()
            plan = (await conn.execute(select(plans).where(plans.c.key == user.plan_key))).first()
            if not (plan.entitlements.get("apiAccess") and plan.entitlements.get("xBookmarks")):
                return JSONResponse({"error": "forbidden"}, 403)
            enabled = await conn.scalar(select(users.c.x_bookmarks_enabled).where(users.c.id == user.id))
            if not enabled:
                return JSONResponse({"error": "forbidden"}, 403)
            rows = (await conn.execute(search_statement(dialect, user.id, query))).all()
            total = rows[0].total if rows else 0
            if not rows and query.page > 1:
                total = await conn.scalar(count_statement(dialect, user.id, query)) or 0
            if rows:
                await conn.execute(select(media_t).where(media_t.c.bookmark_seq.in_([r.seq for r in rows])))
        bookmarks = [
            {
                "_id": r.id,
                "tweetId": r.tweet_id,
                "text": r.text,
                "authorUsername": r.author_username,
                "authorName": r.author_name,
                "tweetCreatedAt": iso(r.tweet_created_at),
                "publicMetrics": {
                    "likeCount": r.like_count,
                    "retweetCount": r.retweet_count,
                    "replyCount": r.reply_count,
                    "quoteCount": r.quote_count,
                },
                "media": [],
                "referencedTweets": [],
                "syncedAt": iso(r.synced_at),
                "createdAt": iso(r.created_at),
                "updatedAt": iso(r.updated_at),
            }
            for r in rows
        ]
        pages = -(-total // query.limit)
        return JSONResponse(
            {
                "success": True,
                "bookmarks": bookmarks,
                "pagination": {
                    "page": query.page,
                    "limit": query.limit,
                    "totalItems": total,
                    "totalPages": pages,
                    "hasNextPage": query.page < pages,
                    "hasPrevPage": query.page > 1,
                },
            }
        )

    return Starlette(routes=[Route("/api/v1/x-bookmarks", search, methods=["GET"])])


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
# Load
# --------------------------------------------------------------------------------------------

CASES = {
    "common word": lambda rng: {"q": rng.choice(COMMON)},
    "medium word": lambda rng: {"q": rng.choice(MEDIUM)},
    "rare word": lambda rng: {"q": rare_word(rng.randrange(RARE_WORDS))},
    "two words + media": lambda rng: {
        "q": " ".join(rng.sample(COMMON, 2)),
        "has_media": "true",
    },
}


async def load(
    port: int, users: list[dict[str, Any]], case: str, seconds: float, warmup: float
) -> dict[str, Any]:
    import aiohttp

    base = f"http://127.0.0.1:{port}/api/v1/x-bookmarks"
    rng = random.Random(42)
    make = CASES[case]

    def target() -> tuple[dict[str, str], dict[str, str]]:
        user = rng.choice(users)
        return {"x-api-key": user["key"]}, make(rng)

    latencies: list[float] = []
    errors: dict[int, int] = {}
    found: list[int] = []
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as http:
        headers, params = target()
        async with http.get(base, headers=headers, params=params) as resp:
            body = await resp.json()
            if resp.status != 200 or not body.get("success"):
                raise RuntimeError(f"{case} on port {port} answered {resp.status}: {body}")

        async def client(until: float, record: bool) -> None:
            while True:
                headers, params = target()
                t0 = time.perf_counter()
                if t0 >= until:
                    return
                async with http.get(base, headers=headers, params=params) as resp:
                    body = await resp.read()
                    status = resp.status
                t1 = time.perf_counter()
                if record and t1 <= until:
                    if status == 200:
                        latencies.append(t1 - t0)
                        found.append(json.loads(body)["pagination"]["totalItems"])
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
        "matches": sum(found) / len(found) if found else 0.0,
        "errors": errors,
    }


async def run_engine(engine: str, args: argparse.Namespace) -> list[list[Any]]:
    db = new_database(engine, "bookmarks")
    rows: list[list[Any]] = []
    try:
        heavy = min(args.heavy, args.rows // HEAVY_SIZE)
        light = max(0, (args.rows - heavy * HEAVY_SIZE) // LIGHT_SIZE)
        t0 = time.perf_counter()
        users = await make_users(db.url, heavy, light)
        t1 = time.perf_counter()
        if engine == "postgresql":
            await seed_postgresql(db.url, users, args.rows)
        else:
            seed_sqlite(db.url.split(":///", 1)[1], users, args.rows)
        t2 = time.perf_counter()
        print(
            f"{engine}: {len(users)} users ({heavy} x {HEAVY_SIZE:,}, {light} x {LIGHT_SIZE}) in {t1 - t0:.1f} s; "
            f"{args.rows:,} bookmarks seeded in {t2 - t1:.1f} s ({args.rows / (t2 - t1):,.0f} rows/s)",
            flush=True,
        )
        groups = {"heavy": users[:heavy], "light": users[heavy:]}
        script = str(Path(__file__).resolve())
        sport, bport = free_port(), free_port()
        with (
            running([python(), script, "--serve", "service", "--url", db.url, "--port", str(sport)], sport),
            running([python(), script, "--serve", "baseline", "--url", db.url, "--port", str(bport)], bport),
        ):
            for who in ("heavy", "light"):
                for case in CASES:
                    if who == "light" and case != "common word":
                        continue
                    service = await load(sport, groups[who], case, args.seconds, args.warmup)
                    baseline = await load(bport, groups[who], case, args.seconds, args.warmup)
                    ratio = service["rps"] / baseline["rps"] if baseline["rps"] else float("nan")
                    row = [
                        engine,
                        f"{who}: {case}",
                        service["matches"],
                        service["rps"],
                        service["p50"],
                        service["p99"],
                        baseline["rps"],
                        baseline["p50"],
                        baseline["p99"],
                        ratio,
                    ]
                    rows.append(row)
                    errs = service["errors"] or baseline["errors"]
                    print(
                        f"  {who}: {case}: ~{service['matches']:.0f} matches | service {service['rps']:.0f} req/s "
                        f"p50 {service['p50']:.1f} p99 {service['p99']:.1f} ms | baseline {baseline['rps']:.0f} "
                        f"req/s p50 {baseline['p50']:.1f} p99 {baseline['p99']:.1f} | ratio {ratio:.2f}"
                        + (f" | errors {errs}" if errs else ""),
                        flush=True,
                    )
    finally:
        db.drop()
    return rows


async def main_async(args: argparse.Namespace) -> None:
    print(f"load average {loadavg()}; busy others: {busy_others()}", flush=True)
    results: list[list[Any]] = []
    for engine in args.engines.split(","):
        results += await run_engine(engine, args)
    print()
    print(
        table(
            [
                "engine",
                "case",
                "matches",
                "svc req/s",
                "svc p50",
                "svc p99",
                "base req/s",
                "base p50",
                "base p99",
                "ratio",
            ],
            results,
        )
    )
    print(f"\nload average {loadavg()}; busy others: {busy_others()}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--heavy", type=int, default=40, help="users with 20,000 bookmarks each")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--warmup", type=float, default=1.5)
    parser.add_argument("--serve", choices=["service", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.url, args.port)
        return
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
