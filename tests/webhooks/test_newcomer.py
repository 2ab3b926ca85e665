"""The docs' walk-through: `postpost serve`, a webhook to the docs' own receiver script, a sandbox
post, and the receiver verifying the signed post.scheduled and post.published deliveries."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from tests.conftest import SECRET
from tests.test_serve import POSTPOST, cli, free_port
from tests.webhooks.conftest import docs_block


@pytest.fixture
def served(engine_name, new_database_url, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTPOST_")}
    env.update(
        POSTPOST_DATA_DIR=str(tmp_path),
        POSTPOST_SECRET_KEY=SECRET,
        POSTPOST_PORT=str(port),
        POSTPOST_WEBHOOKS_ALLOW_PRIVATE="true",
    )
    if engine_name == "postgresql":
        env["POSTPOST_DATABASE_URL"] = new_database_url("postgresql")
    process = subprocess.Popen(
        [POSTPOST, "serve"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # a start-up on a loaded machine can take a while
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("serve did not start")
    yield base, env
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=15)


class Lines:
    """A child's stdout lines, collected by a thread."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert process.stdout is not None
        stream = process.stdout
        threading.Thread(target=lambda: self.lines.extend(iter(stream.readline, "")), daemon=True).start()

    def wait_for(self, text: str, seconds: float = 15.0) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if text in line:
                    return line
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not printed; got {self.lines}")


def test_docs_receiver_verifies_a_published_sandbox_post(served, tmp_path):
    base, env = served
    user = cli(env, "users", "create", "--email", "hooks@example.com", "--plan", "pro")
    mastodon = cli(env, "connections", "add-sandbox", "--user", user["userId"], "--platform", "mastodon")
    headers = {"x-api-key": user["apiKey"]}
    port = free_port()
    r = httpx.post(
        f"{base}/api/v1/webhooks",
        headers=headers,
        json={
            "name": "local",
            "url": f"http://127.0.0.1:{port}/hook",
            "events": ["post.scheduled", "post.published", "post.failed"],
        },
    )
    assert r.status_code == 201, r.text
    secret = r.json()["webhook"]["secret"]
    script = tmp_path / "receiver.py"
    script.write_text(docs_block("# receiver.py"))
    receiver = subprocess.Popen(
        [sys.executable, str(script)],
        env={**os.environ, "POSTPOST_WEBHOOK_SECRET": secret, "PORT": str(port), "PYTHONIOENCODING": "utf-8"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
    )
    try:
        printed = Lines(receiver)
        deadline = time.monotonic() + 60
        while True:  # the receiver is up, and refuses a wrong signature
            try:
                forged = httpx.post(
                    f"http://127.0.0.1:{port}/hook",
                    content=b'{"event":"post.published"}',
                    headers={"X-PostPost-Signature": "0" * 64},
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the docs receiver did not start"
                time.sleep(0.1)
        assert forged.status_code == 401
        created = httpx.post(
            f"{base}/api/v1/create-post",
            headers=headers,
            json={
                "content": "Hello webhooks 👋",
                "platforms": [mastodon["platformId"]],
                "scheduledTime": "2020-01-01T00:00:00Z",
            },
        )
        assert created.status_code == 200, created.text
        group_id = created.json()["postGroupId"]
        scheduled = printed.wait_for("verified post.scheduled")
        published = printed.wait_for("verified post.published")
        assert group_id in scheduled and group_id in published
        assert '"platform": "mastodon"' in published
        assert all("post.published" not in line or "verified" in line for line in printed.lines)
    finally:
        receiver.terminate()
        receiver.wait(10)
