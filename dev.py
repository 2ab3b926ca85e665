#!/usr/bin/env python3
"""Set-up-free entry point: `python3 dev.py serve` or `python3 dev.py test`.

Creates `.venv` next to this file on first use (and again when pyproject.toml changes),
installs the project into it, then runs the service or the whole test suite. The suite runs in
parallel worker processes (pytest-xdist) unless the pytest options say otherwise (see `test_args`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def ensure_env(extras: str) -> None:
    """Create the virtualenv and install the project with `extras`, unless already done."""
    stamp = VENV / f".installed-{extras or 'base'}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    if not (BIN / "python").exists():
        print("dev.py: creating .venv", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    target = f".[{extras}]" if extras else "."
    print(f"dev.py: installing {target} into .venv", file=sys.stderr)
    subprocess.run([str(BIN / "python"), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run(
        [str(BIN / "python"), "-m", "pip", "install", "--quiet", "-e", target], check=True, cwd=ROOT
    )
    stamp.write_text(digest)


def ensure_browser() -> None:
    """Install Debian's Chromium for the browser tests when it is missing and apt can install it.

    Nothing is downloaded by a test tool; without Chromium the browser tests are skipped.
    """
    if shutil.which("chromium") or not shutil.which("apt-get") or os.geteuid() != 0:
        return
    print("dev.py: installing Debian's chromium for the browser tests", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        if subprocess.run(step, check=False, stdout=subprocess.DEVNULL, env=env).returncode != 0:
            print("dev.py: chromium could not be installed: browser tests will be skipped", file=sys.stderr)
            return


# Parallel test processes per CPU: the tests mostly wait on sockets, databases and subprocesses,
# so more processes than cores keep the cores busy; more than two per CPU cost CPU time of their
# own and PostgreSQL connections (see docs/testing.md).
WORKERS_PER_CPU = 2
# Options after which the user's arguments go to pytest unchanged: they choose the parallelism
# themselves, or need the tests in this one process (a debugger, a trace, printed output).
AS_GIVEN = ("-n", "--numprocesses", "--pdb", "--trace", "-s", "--capture=no", "--co", "--collect-only")


def test_args(user_args: list[str]) -> list[str]:
    """pytest's arguments: the user's, plus `-n <workers>` unless they name single tests
    (`path::name`, run in one process), use an option of AS_GIVEN (or `-n4`), or `-p no:xdist`.

    POSTPOST_TEST_WORKERS sets the number of worker processes (0: no workers).
    """
    pairs = zip(user_args, user_args[1:], strict=False)
    if any(
        arg.split("=", 1)[0] in AS_GIVEN or (arg.startswith("-n") and len(arg) > 2) or "::" in arg
        for arg in user_args
    ) or any(pair == ("-p", "no:xdist") for pair in pairs):
        return user_args
    workers = os.environ.get("POSTPOST_TEST_WORKERS") or str(WORKERS_PER_CPU * (os.cpu_count() or 1))
    return ["-n", workers, "--dist", "loadgroup", *user_args]


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"serve", "test"}:
        print("usage: python3 dev.py serve [postpost serve options] | test [pytest options]", file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "serve":
        ensure_env("")
        return subprocess.call([str(BIN / "postpost"), "serve", *rest], cwd=ROOT)
    ensure_env("test")
    ensure_browser()
    return subprocess.call([str(BIN / "python"), "-m", "pytest", *test_args(rest)], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
