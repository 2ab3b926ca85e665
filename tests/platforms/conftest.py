"""Adapter-test fixtures: control of the live simulator (`simulator_url` is in tests/conftest.py)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from postpost.platforms.base import (
    Credentials,
    InProgress,
    MediaFile,
    PlatformAdapter,
    PostPart,
    Published,
    PublishJob,
    ReplyTo,
    Secrets,
)

# Seconds an adapter waits in tests that expect it to give up on a stalled answer: far more than
# an answer takes on a loaded machine, far less than the simulators' stall (tests/conftest.py).
HASTY = 1.5


class BytesSource:
    """A `MediaSource` over bytes in memory (the engine reads from media storage instead)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def read(self) -> bytes:
        return self.data

    async def chunks(self, *, offset: int = 0, chunk_size: int = 4 * 1024 * 1024) -> AsyncIterator[bytes]:
        for start in range(offset, len(self.data), chunk_size):
            yield self.data[start : start + chunk_size]


def media_file(
    data: bytes,
    mime_type: str,
    *,
    width: int | None = None,
    height: int | None = None,
    duration: float | None = None,
    alt_text: str | None = None,
    fetch_url: str | None = None,
    media_id: str = "m1",
) -> MediaFile:
    """A media item as an adapter receives it."""
    return MediaFile(
        id=media_id,
        kind="video" if mime_type.startswith("video/") else "image",
        mime_type=mime_type,
        size=len(data),
        source=BytesSource(data),
        width=width,
        height=height,
        duration=duration,
        alt_text=alt_text,
        fetch_url=fetch_url,
    )


def creds_of(
    account_id: str, url: str, secrets: Mapping[str, str], username: str | None = None
) -> Credentials:
    """Credentials whose every endpoint is `url`."""
    return Credentials(account_id, {"api": url}, Secrets(secrets), username)


async def publish(
    adapter: PlatformAdapter, text: str, creds: Credentials, key: str, reply_to: ReplyTo | None = None
) -> Published:
    """One text part through `adapter.publish`, which must finish in one step."""
    result = await adapter.publish(PublishJob(PostPart(text), creds, key, reply_to=reply_to))
    assert not isinstance(result, InProgress)
    return result


async def find(adapter: PlatformAdapter, creds: Credentials, key: str) -> Published | None:
    return await adapter.find_published(PublishJob(PostPart(""), creds, key))


async def ready(adapter: PlatformAdapter, creds: Credentials) -> Credentials:
    """What the credential store does before publishing: refresh when the adapter asks."""
    if adapter.needs_refresh(creds, datetime.now(UTC)):
        return await adapter.refresh(creds)
    return creds


def control(simulator_url: str, method: str, path: str, body: Any = None) -> Any:
    """Call the simulator control API synchronously."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        f"{simulator_url}/_control{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


class Sim:
    """Test handle on the simulator control API."""

    def __init__(self, url: str) -> None:
        self.url = url

    def posts(self, platform: str | None = None) -> list[dict[str, Any]]:
        posts: list[dict[str, Any]] = control(self.url, "GET", "/posts")["posts"]
        for post in posts:
            assert post.pop("at").endswith("Z")  # when the platform accepted it
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
