"""Adapter-test fixtures: control of the live simulator (`simulator_url` is in tests/conftest.py)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest


def control(simulator_url: str, method: str, path: str, body: Any = None) -> Any:
    """Call the simulator control API synchronously."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        f"{simulator_url}/_control{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


class Sim:
    """Test handle on the simulator control API."""

    def __init__(self, url: str) -> None:
        self.url = url

    def posts(self, platform: str | None = None) -> list[dict[str, Any]]:
        posts: list[dict[str, Any]] = control(self.url, "GET", "/posts")["posts"]
        return [p for p in posts if platform is None or p["platform"] == platform]

    def fault(self, platform: str, account: str, fault: str, times: int = 1) -> None:
        control(
            self.url,
            "POST",
            "/faults",
            {"platform": platform, "account": account, "fault": fault, "times": times},
        )


@pytest.fixture(autouse=True)
def sim(simulator_url: str) -> Sim:
    """Reset the simulator before every test and hand out its control API."""
    control(simulator_url, "POST", "/reset")
    return Sim(simulator_url)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
