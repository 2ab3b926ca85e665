"""The secret key: required on PostgreSQL, fingerprinted in the database, a key file created atomically.

Processes are the real `postpost` console script; refusals exit with code 2 before doing anything.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from postpost.config import Settings, async_database_url, read_or_create_key_file
from postpost.db.migrate import current_revision
from postpost.db.session import Database

pytestmark = pytest.mark.slow  # real processes, many of them: handed out first in parallel runs

POSTPOST = str(Path(sys.executable).with_name("postpost"))


def base_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTPOST_")}
    env.update(COLUMNS="300", NO_COLOR="1", **values)
    return env


def run(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [POSTPOST, *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def refused(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    return " ".join(done.stderr.split())


@pytest.fixture
def pg_url(new_database_url: Callable[[str], str]) -> str:
    return new_database_url("postgresql")


async def test_postgresql_refuses_to_start_without_a_key(pg_url: str, tmp_path: Path) -> None:
    env = base_env(POSTPOST_DATABASE_URL=pg_url, POSTPOST_DATA_DIR=str(tmp_path / "data"))
    for command in (
        ("users", "list", "--json"),
        ("users", "create", "--email", "a@example.com"),
        ("db", "upgrade"),
        ("serve",),
        ("worker",),
    ):
        message = refused(run(env, *command))
        assert "POSTPOST_SECRET_KEY is not set" in message, command
        assert "secrets.token_urlsafe(32)" in message and "every host" in message
    doctor = run(env, "doctor")  # the doctor reports it (exit 1) instead of refusing to start
    assert doctor.returncode == 1 and "POSTPOST_SECRET_KEY is not set" in doctor.stdout, doctor.stderr
    assert not (tmp_path / "data").exists()
    database = Database(async_database_url(pg_url))
    try:
        assert await current_revision(database) is None  # refused before touching the database
    finally:
        await database.dispose()
    assert run({**env, "POSTPOST_SECRET_KEY": "a-key"}, "users", "list", "--json").returncode == 0


def test_another_key_is_refused_by_every_process(
    engine_name: str, new_database_url: Callable[[str], str], tmp_path: Path
) -> None:
    env = base_env(
        POSTPOST_DATABASE_URL=new_database_url(engine_name),
        POSTPOST_DATA_DIR=str(tmp_path),
        POSTPOST_SECRET_KEY="the-first-key",
        POSTPOST_PORT="1",  # never reached: serve must refuse before binding
    )
    assert run(env, "users", "create", "--email", "first@example.com", "--json").returncode == 0
    other = {**env, "POSTPOST_SECRET_KEY": "another-hosts-key"}
    for command in (("users", "list"), ("keys", "create", "--user", "0" * 24), ("serve",), ("worker",)):
        message = refused(run(other, *command))
        assert "The secret key (POSTPOST_SECRET_KEY) is not the key this database was set up with" in message
        assert "set POSTPOST_SECRET_KEY to it" in message
    listing = run(env, "users", "list", "--json")  # the original key still works
    assert listing.returncode == 0 and "first@example.com" in listing.stdout


def test_lost_key_file_is_detected_on_sqlite(tmp_path: Path) -> None:
    env = base_env(POSTPOST_DATA_DIR=str(tmp_path / "data"))
    assert run(env, "users", "create", "--email", "me@example.com").returncode == 0
    key_file = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    original = key_file.read_bytes()
    key_file.unlink()
    message = refused(run(env, "users", "list"))
    assert f"The secret key (key file {key_file}) is not the key this database was set up with" in message
    assert key_file.read_bytes() != original  # a new key was generated, and refused
    key_file.write_bytes(original)  # restore the original
    done = run(env, "users", "list", "--json")
    assert done.returncode == 0 and "me@example.com" in done.stdout, done.stderr


def test_key_file_is_private_from_the_start_and_concurrent_creators_agree(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "secret.key"
    start = threading.Barrier(16)
    keys: list[bytes] = []

    def create() -> None:
        start.wait()
        keys.append(read_or_create_key_file(path))

    threads = [threading.Thread(target=create) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(keys) == 16 and len(set(keys)) == 1
    assert path.read_bytes().strip() == keys[0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret.key"]  # no draft left behind


def test_key_file_created_by_concurrent_processes(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    code = "import sys; from pathlib import Path; from postpost.config import read_or_create_key_file as r; "
    code += "print(r(Path(sys.argv[1])).decode())"
    processes = [
        subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    keys = {p.communicate(timeout=60)[0].strip() for p in processes}
    assert all(p.returncode == 0 for p in processes)
    assert keys == {path.read_text().strip()}


def test_key_from_the_environment_wins_and_writes_no_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="from-env")  # type: ignore[arg-type]
    assert settings.resolved_secret_key == b"from-env"
    assert settings.key_source == "POSTPOST_SECRET_KEY"
    assert list(tmp_path.iterdir()) == []


def test_default_data_dir_does_not_depend_on_the_working_directory(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = base_env(HOME=str(home), XDG_DATA_HOME=str(home / ".local" / "share"))
    first_cwd, second_cwd = tmp_path / "one", tmp_path / "two"
    first_cwd.mkdir()
    second_cwd.mkdir()
    assert run(env, "users", "create", "--email", "here@example.com", cwd=first_cwd).returncode == 0
    done = run(env, "users", "list", "--json", cwd=second_cwd)
    assert done.returncode == 0 and "here@example.com" in done.stdout, done.stderr
    assert list(first_cwd.iterdir()) == [] and list(second_cwd.iterdir()) == []

    data = json.loads(run(env, "doctor", "--json", cwd=second_cwd).stdout)
    data_dir = Path(data["dataDir"])
    assert data_dir == home / ".local" / "share" / "postpost"
    assert data["database"] == {"engine": "sqlite", "location": str(data_dir / "postpost.db")}
    assert (data_dir / "postpost.db").is_file() and (data_dir / "secret.key").is_file()
