#!/usr/bin/env python3
"""Set-up-free entry point: `python3 dev.py serve` or `python3 dev.py test`.

Creates `.venv` next to this file on first use (and again when pyproject.toml changes),
installs the project into it, then runs the service or the whole test suite.
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
    return subprocess.call([str(BIN / "python"), "-m", "pytest", *rest], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
