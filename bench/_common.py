"""Shared helpers for the benchmarks: throwaway databases, server subprocesses, statistics.

Nothing here is imported by the service; the benchmarks only use the public pieces of
`postpost` (Settings, Database, upgrade, the services) like the CLI does.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = "bench-secret-key-" + "x" * 16


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes] | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server process exited early with code {proc.returncode}:\n{log_tail(proc)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on port {port} after {timeout} s")


def spawn(args: Sequence[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A child process in its own session (so stopping it never touches anything else)."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), full_env.get("PYTHONPATH", "")]))
    log = tempfile.NamedTemporaryFile(prefix="ppbench-proc-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        list(args), env=full_env, cwd=ROOT, start_new_session=True, stdout=log, stderr=subprocess.STDOUT
    )
    proc.log_path = log.name  # type: ignore[attr-defined]
    log.close()
    return proc


def log_tail(proc: subprocess.Popen[bytes], lines: int = 20) -> str:
    path = getattr(proc, "log_path", None)
    if not path or not Path(path).exists():
        return ""
    return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL, of exactly this child (by its pid)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    path = getattr(proc, "log_path", None)
    if path and os.environ.get("BENCH_KEEP_LOGS") is None:
        with contextlib.suppress(OSError):
            os.unlink(path)


@contextlib.contextmanager
def running(
    args: Sequence[str], port: int | None = None, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    proc = spawn(args, env)
    try:
        if port is not None:
            wait_for_port(port, proc)
        yield proc
    finally:
        stop(proc)


@dataclass
class ThrowawayDB:
    """A fresh database of one engine; `url` is the plain (non-async) form the CLI takes."""

    engine: str
    url: str
    name: str
    tmpdir: str | None = None

    def drop(self) -> None:
        if self.engine == "postgresql":
            _pg_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def _pg_admin(sql: str) -> None:
    import asyncio

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run()) if not _loop_running() else _run_in_thread(run)


def _loop_running() -> bool:
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _run_in_thread(factory: object) -> None:
    import asyncio
    import threading

    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(factory())  # type: ignore[operator]
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def new_database(engine: str, tag: str) -> ThrowawayDB:
    name = f"ppbench_{tag}_{secrets.token_hex(4)}"
    if engine == "sqlite":
        tmpdir = tempfile.mkdtemp(prefix="ppbench-")
        return ThrowawayDB(engine, f"sqlite:///{tmpdir}/{name}.db", name, tmpdir)
    if engine == "postgresql":
        _pg_admin(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN.rsplit("/", 1)[0]
        return ThrowawayDB(engine, f"{base}/{name}", name)
    raise ValueError(f"unknown engine {engine}")


def loadavg() -> str:
    """The 1-minute load average and the busiest foreign processes (others share this machine)."""
    try:
        one = Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"
    return one


def busy_others(exclude: set[int] | None = None, threshold: float = 20.0) -> str:
    """Processes (not ours) that used more than `threshold` % of a CPU over the last 0.5 s."""

    def ticks() -> dict[int, tuple[int, str]]:
        out = {}
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                stat = (d / "stat").read_text()
                name = stat[stat.index("(") + 1 : stat.rindex(")")]
                fields = stat[stat.rindex(")") + 2 :].split()
                out[int(d.name)] = (int(fields[11]) + int(fields[12]), name)
            except (OSError, ValueError, IndexError):
                continue
        return out

    hz = os.sysconf("SC_CLK_TCK")
    first = ticks()
    time.sleep(0.5)
    second = ticks()
    mine = exclude or set()
    busy = []
    for pid, (t, name) in second.items():
        if pid in mine or pid == os.getpid() or pid not in first:
            continue
        pct = 100 * (t - first[pid][0]) / hz / 0.5
        if pct >= threshold:
            busy.append(f"{name}[{pid}] {pct:.0f}%")
    return ", ".join(busy) or "none"


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of `values`; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.rjust(w) if n else c.ljust(w) for c, w in zip(row, widths, strict=True)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        if value != value:
            return "-"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.2f}"
    return str(value)


def python() -> str:
    return sys.executable


def pyspy() -> str | None:
    """A py-spy binary if one is installed (never part of the project's environment)."""
    return shutil.which("py-spy") or next((p for p in ("/tmp/pyspy/bin/py-spy",) if Path(p).exists()), None)


def profile_top(raw_path: str, limit: int = 15) -> list[tuple[str, float, float]]:
    """From py-spy's collapsed stacks: functions (line numbers folded) by inclusive share of samples.

    Returns (function, self %, inclusive %) for the `limit` functions with the most inclusive
    time, skipping the event-loop plumbing every sample passes through.
    """
    import re

    own: dict[str, int] = {}
    incl: dict[str, int] = {}
    total = 0
    strip = re.compile(r":\d+\)$")
    plumbing = (
        "Runner.run",
        "run_until_complete",
        "run_forever",
        "_run_once",
        "Handle._run",
        "<module>",
        "run (uvicorn",
        "main (",
        "Server.serve",
        "uvloop",
        "BaseEventLoop",
        "wrapper (uvloop",
    )
    with open(raw_path) as fh:
        for line in fh:
            stack, _, count_s = line.rstrip("\n").rpartition(" ")
            if not stack:
                continue
            count = int(count_s)
            total += count
            frames = [
                strip.sub(")", f.replace("/work/main/.venv/lib/python3.11/site-packages/", ""))
                for f in stack.split(";")
            ]
            own[frames[-1]] = own.get(frames[-1], 0) + count
            for frame in set(frames):
                incl[frame] = incl.get(frame, 0) + count
    if not total:
        return []
    ranked = sorted(incl.items(), key=lambda kv: -kv[1])
    ours = [(n, c) for n, c in ranked if "postpost/" in n and "cli.py" not in n][: limit * 2 // 3]
    selfish = sorted(own.items(), key=lambda kv: -kv[1])
    rest = [(n, incl[n]) for n, _ in selfish if not any(p in n for p in plumbing)][: limit - len(ours)]
    picked = ours + rest
    return [(name, 100 * own.get(name, 0) / total, 100 * c / total) for name, c in picked]
