"""Webhook delivery benchmark: one dispatcher against a bare aiohttp loop, and delivery lag after publishing.

    .venv/bin/python bench/webhooks.py [--engines sqlite,postgresql] [--deliveries 5000]
                                       [--concurrency 16] [--rate 20] [--seconds 10]

A receiver (aiohttp, its own process on loopback) answers 200 to every POST and notes when each
arrived. Per engine, a throwaway database with one user, 10 sandbox Mastodon connections and one
webhook (`--webhooks N`: N webhooks, each subscribed to every event) pointing at the receiver;
the dispatcher runs with `--concurrency` requests in flight (POSTPOST_WEBHOOK_CONCURRENCY, and
the same per webhook, so one webhook may use every slot), private targets allowed:

* throughput: `--deliveries` events committed in one transaction (`events.emit`), drained by one
  dispatcher; then a bare aiohttp loop with the same concurrency POSTs the same bodies, signed the
  same way (`signed_headers` per request), to the same receiver. Rate = deliveries / (last
  arrival - first arrival), measured by the receiver for both. Ratio = dispatcher / bare loop.
* lag: posts due at `--rate` per second for `--seconds` (bulk-inserted ahead, as bench/engine.py
  does), published by a worker to the simulator; the webhook subscribes to post.published. Lag =
  arrival at the receiver - the event's `publishedAt` (when the platform call finished).

SQLite: a Worker and a WebhookDispatcher in this process (in-process wake-ups, as in `postpost
serve`). PostgreSQL: one `postpost worker` process (its worker and dispatcher; NOTIFY wake-ups).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    SECRET,
    busy_others,
    free_port,
    loadavg,
    percentile,
    python,
    spawn,
    stop,
    table,
    wait_for_port,
)  # noqa: E402
from bench.engine import Fixture, cpu_seconds  # noqa: E402

WEBHOOK_SECRET = "ab" * 32


# --------------------------------------------------------------------------------------------
# The receiver (its own process)
# --------------------------------------------------------------------------------------------


def serve_receiver(port: int) -> None:
    from aiohttp import web

    arrivals: list[tuple[float, str, float | None]] = []  # (arrival, event id, lag after publishedAt)

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        now = time.time()
        lag = None
        if request.headers.get("X-PostPost-Event") == "post.published":
            published = json.loads(body)["data"]["publishedAt"]
            lag = now - datetime.fromisoformat(published.replace("Z", "+00:00")).timestamp()
        arrivals.append((now, f"{request.path} {request.headers.get('X-PostPost-Event-Id', '')}", lag))
        return web.Response(text="ok")

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response({"arrivals": arrivals})

    async def reset(_request: web.Request) -> web.Response:
        arrivals.clear()
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook/{n}", hook)
    app.router.add_get("/_stats", stats)
    app.router.add_post("/_reset", reset)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


async def arrivals(http: Any, receiver: str) -> list[tuple[float, str, float | None]]:
    async with http.get(f"{receiver}/_stats") as resp:
        return [tuple(a) for a in (await resp.json())["arrivals"]]  # type: ignore[misc]


async def reset(http: Any, receiver: str) -> None:
    async with http.post(f"{receiver}/_reset") as resp:
        resp.raise_for_status()


async def wait_arrivals(
    http: Any, receiver: str, count: int, timeout: float
) -> list[tuple[float, str, float | None]]:
    deadline = time.monotonic() + timeout
    got = await arrivals(http, receiver)
    while len(got) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        got = await arrivals(http, receiver)
    return got


def rate(got: list[tuple[float, str, float | None]]) -> float:
    times = sorted(a[0] for a in got)
    return (
        (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else float("nan")
    )


# --------------------------------------------------------------------------------------------
# Set-up
# --------------------------------------------------------------------------------------------


async def add_webhook(fx: Fixture, url: str, subscribed: list[str]) -> str:
    from postpost.db.models import Webhook
    from postpost.security import SecretBox

    box = SecretBox(SECRET.encode())
    async with fx.database.session() as session:
        hook = Webhook(
            user_id=fx.user_id,
            name="bench",
            url=url,
            events=subscribed,
            secret=box.encrypt({"secret": WEBHOOK_SECRET}),
        )
        session.add(hook)
        await session.commit()
        return hook.id


async def emit_synthetic(fx: Fixture, count: int) -> float:
    """`count` post.published events in one transaction; returns seconds taken."""
    from postpost.ids import new_id
    from postpost.services import events

    started = time.perf_counter()
    now = datetime.now(UTC)
    new = [
        events.post_published(
            user_id=fx.user_id, post_id=new_id(), group_id=new_id(), platform="mastodon", published_at=now
        )
        for _ in range(count)
    ]
    async with fx.database.session() as session:
        await events.emit(session, new)
        await session.commit()
    return time.perf_counter() - started


async def stored_bodies(fx: Fixture) -> list[tuple[str, str, bytes]]:
    from sqlalchemy import select

    from postpost.db.models import Event

    async with fx.database.session() as session:
        rows = await session.execute(select(Event.id, Event.name, Event.payload).order_by(Event.seq))
        return [(event_id, name, payload.encode()) for event_id, name, payload in rows]


async def stored_times(fx: Fixture) -> dict[str, float]:
    """When each event row was written (in the recording transaction), by event id."""
    from sqlalchemy import select

    from postpost.db.models import Event

    async with fx.database.session() as session:
        rows = await session.execute(select(Event.id, Event.created_at))
        return {event_id: created.timestamp() for event_id, created in rows}


async def delivered(fx: Fixture) -> dict[str, int]:
    from sqlalchemy import func, select

    from postpost.db.models import WebhookDelivery

    async with fx.database.session() as session:
        rows = await session.execute(
            select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
        )
        return {status: n for status, n in rows}


# --------------------------------------------------------------------------------------------
# Phases
# --------------------------------------------------------------------------------------------


async def bare_loop(bodies: list[tuple[str, str, str, bytes]], concurrency: int) -> None:
    """The ceiling: POST the same signed bodies with `concurrency` senders, nothing else."""
    import aiohttp

    from postpost.services.webhook_signing import signed_headers

    queue = iter(bodies)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

        async def sender() -> None:
            for url, event_id, name, body in queue:
                headers = signed_headers(
                    event=name,
                    event_id=event_id,
                    body=body,
                    secrets=[WEBHOOK_SECRET],
                    timestamp=int(time.time()),
                )
                async with http.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    assert resp.status == 200

        await asyncio.gather(*(sender() for _ in range(concurrency)))


async def run_engine(
    engine: str, args: argparse.Namespace, http: Any, receiver: str, sim: str
) -> dict[str, Any]:
    from postpost.config import Settings
    from postpost.db import wakeup

    print(f"[{engine}] load average {loadavg()}; other busy processes: {busy_others()}", flush=True)
    fx = Fixture(engine, "wh")
    env = {
        "POSTPOST_DATABASE_URL": "",
        "POSTPOST_SECRET_KEY": SECRET,
        "POSTPOST_SANDBOX_URL": sim,
        "POSTPOST_DATA_DIR": tempfile.gettempdir() + "/ppbench-data",
        "POSTPOST_WEBHOOKS_ALLOW_PRIVATE": "true",
        "POSTPOST_WEBHOOK_CONCURRENCY": str(args.concurrency),
        "POSTPOST_WEBHOOK_CONCURRENCY_PER_WEBHOOK": str(args.concurrency),
    }
    procs: list[Any] = []
    running: list[Any] = []
    tasks: list[asyncio.Task[None]] = []
    result: dict[str, Any] = {"engine": engine}
    try:
        await fx.setup()
        for n in range(args.webhooks):
            await add_webhook(fx, f"{receiver}/hook/{n}", ["post.published"])
        env["POSTPOST_DATABASE_URL"] = fx.db.url
        if engine == "sqlite":
            from postpost.engine.webhook_delivery import WebhookDispatcher
            from postpost.engine.worker import Worker

            settings = Settings(
                database_url=fx.db.url,
                secret_key=SECRET,  # type: ignore[arg-type]
                sandbox_url=sim,
                webhooks_allow_private=True,
                webhook_concurrency=args.concurrency,
                webhook_concurrency_per_webhook=args.concurrency,
            )
            running = [
                Worker(settings, fx.database, sandbox_url=sim),
                WebhookDispatcher(settings, fx.database),
            ]
            tasks = [asyncio.create_task(r.run()) for r in running]
            cpu_pid = os.getpid()
            await asyncio.sleep(0.5)
        else:
            procs = [spawn([str(Path(python()).parent / "postpost"), "worker"], env)]
            deadline = time.monotonic() + 60
            while await fx.listeners() < 2:  # the worker's LISTEN and the dispatcher's
                if time.monotonic() > deadline or procs[0].poll() is not None:
                    raise RuntimeError("the worker process did not start listening")
                await asyncio.sleep(0.2)
            cpu_pid = procs[0].pid

        # throughput: the dispatcher
        await reset(http, receiver)
        emit_s = await emit_synthetic(fx, args.deliveries // args.webhooks)
        cpu_before = cpu_seconds(cpu_pid)
        got = await wait_arrivals(http, receiver, args.deliveries, args.deliveries / 50 + 60)
        cpu = cpu_seconds(cpu_pid) - cpu_before
        await asyncio.sleep(1.0)  # let the last attempts be recorded
        statuses = await delivered(fx)
        ids = [a[1] for a in got]
        result.update(
            dispatcher_rate=rate(got),
            received=len(got),
            duplicates=len(ids) - len(set(ids)),
            statuses=statuses,
            emit_s=emit_s,
            cpu_ms=1000 * cpu / max(1, len(got)),
        )
        print(
            f"  dispatcher: {len(got)}/{args.deliveries} in, {result['dispatcher_rate']:.0f}/s; rows {statuses}",
            flush=True,
        )

        # throughput: the bare aiohttp loop, same bodies, same receiver
        bodies = [
            (f"{receiver}/hook/{n}", *body) for body in await stored_bodies(fx) for n in range(args.webhooks)
        ]
        await reset(http, receiver)
        cpu_before = time.process_time()
        await bare_loop(bodies, args.concurrency)
        result["bare_cpu_ms"] = 1000 * (time.process_time() - cpu_before) / len(bodies)
        got = await wait_arrivals(http, receiver, len(bodies), 30)
        result["bare_rate"] = rate(got)
        print(f"  bare aiohttp loop: {result['bare_rate']:.0f}/s", flush=True)

        # lag after publishing
        await reset(http, receiver)
        count = int(args.rate * args.seconds)
        t0 = datetime.now(UTC) + timedelta(seconds=2)
        await fx.schedule([t0 + timedelta(seconds=i / args.rate) for i in range(count)], "webhooks")
        await fx.wake()
        wakeup.wake_local()
        got = await wait_arrivals(http, receiver, count * args.webhooks, args.seconds + 60)
        lags = [a[2] for a in got if a[2] is not None]
        result.update(
            lag_n=f"{len(lags)}/{count * args.webhooks}",
            lag_p50=percentile(lags, 50),
            lag_p99=percentile(lags, 99),
            lag_max=max(lags, default=float("nan")),
        )
        stored = await stored_times(fx)
        timed = [
            (a[0], a[2], stored[a[1].split()[1]])
            for a in got
            if a[2] is not None and a[1].split()[1] in stored
        ]
        recorded = [at - (arrival - lag) for arrival, lag, at in timed]
        sent = [arrival - at for arrival, _lag, at in timed]
        result.update(
            recorded_p50=percentile(recorded, 50),
            recorded_p99=percentile(recorded, 99),
            sent_p50=percentile(sent, 50),
            sent_p99=percentile(sent, 99),
        )
        print(
            f"  lag after publishing: p50 {result['lag_p50']:.3f} s, p99 {result['lag_p99']:.3f} s "
            f"(publishedAt -> event stored: p50 {result['recorded_p50']:.3f} p99 {result['recorded_p99']:.3f}; "
            f"stored -> arrival: p50 {result['sent_p50']:.3f} p99 {result['sent_p99']:.3f})",
            flush=True,
        )
    finally:
        for r in running:
            r.stop()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for proc in procs:
            stop(proc)
        await fx.close()
    return result


async def main_async(args: argparse.Namespace) -> None:
    import aiohttp

    started = time.monotonic()
    print(
        f"Webhook benchmark: {args.deliveries:,} deliveries to {args.webhooks} webhook(s) at "
        f"concurrency {args.concurrency}; "
        f"lag at {args.rate:g} posts/s x {args.seconds:g} s; {os.cpu_count()} CPUs",
        flush=True,
    )
    receiver_port, sim_port = free_port(), free_port()
    here = str(Path(__file__).resolve())
    receiver_proc = spawn([python(), here, "--serve-receiver", str(receiver_port)])
    sim_proc = spawn([python(), str(Path(here).with_name("engine.py")), "--serve-simulator", str(sim_port)])
    results = []
    try:
        wait_for_port(receiver_port, receiver_proc)
        wait_for_port(sim_port, sim_proc)
        receiver, sim = f"http://127.0.0.1:{receiver_port}", f"http://127.0.0.1:{sim_port}"
        async with aiohttp.ClientSession() as http:
            for engine in args.engines:
                results.append(await run_engine(engine, args, http, receiver, sim))
    finally:
        stop(receiver_proc)
        stop(sim_proc)
    print()
    print("== deliveries/s (receiver arrivals) and lag after publishing (arrival - publishedAt) ==")
    rows = [
        [
            r["engine"],
            f"{r['received']}/{args.deliveries}",
            r["dispatcher_rate"],
            r["bare_rate"],
            r["dispatcher_rate"] / r["bare_rate"],
            r["duplicates"],
            r["cpu_ms"],
            r["bare_cpu_ms"],
            r["lag_n"],
            r["lag_p50"],
            r["lag_p99"],
            r["lag_max"],
        ]
        for r in results
    ]
    print(
        table(
            [
                "engine",
                "delivered",
                "dispatcher/s",
                "bare loop/s",
                "ratio",
                "dupes",
                "CPU ms/delivery",
                "bare CPU ms",
                "lag n",
                "lag p50 s",
                "lag p99 s",
                "lag max s",
            ],
            rows,
        )
    )
    print()
    print("targets: dispatcher >= 0.5 x the bare loop; lag p99 < 1 s")
    for r in results:
        ratio = r["dispatcher_rate"] / r["bare_rate"]
        print(
            f"  {r['engine']}: ratio {ratio:.2f} ({'met' if ratio >= 0.5 else 'MISSED'}), "
            f"lag p99 {r['lag_p99']:.3f} s ({'met' if r['lag_p99'] < 1 else 'MISSED'}); "
            f"emitting {args.deliveries:,} events took {r['emit_s']:.2f} s"
        )
    print(f"total time {time.monotonic() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--webhooks", type=int, default=1, help="webhooks sharing the deliveries")
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--serve-receiver", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_receiver:
        serve_receiver(args.serve_receiver)
        return
    args.engines = [e for e in args.engines.split(",") if e]
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
