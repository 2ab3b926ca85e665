"""`postpost serve` end to end for X bookmarks: a sandbox X account's bookmarks synced over HTTP,
their media downloaded by the in-process jobs and served from the media storage."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx

from tests.test_serve import cli, served  # noqa: F401 - `served` is the fixture


def test_sync_search_and_media_downloads(served):  # noqa: F811
    base, env, _process = served
    user = cli(env, "users", "create", "--email", "reader@example.com", "--plan", "premium")
    cli(env, "users", "set", "--user", user["userId"], "--x-bookmarks", "on")
    cli(env, "connections", "add-sandbox", "--user", user["userId"], "--platform", "twitter")
    headers = {"x-api-key": user["apiKey"]}
    synced = httpx.post(
        f"{base}/api/v1/x-bookmarks/sync", headers=headers, json={"maxTweets": 12}, timeout=30
    )
    assert synced.status_code == 200, synced.text
    assert synced.json()["synced"]["inserted"] == 12
    found = httpx.get(f"{base}/api/v1/x-bookmarks", headers=headers, params={"q": "the"}).json()
    assert found["success"] is True
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        stats = httpx.get(f"{base}/api/v1/x-bookmarks/user/media-stats", headers=headers).json()["mediaStats"]
        if stats["total"] and stats["completed"] == stats["total"]:
            break
        time.sleep(0.2)
    assert stats["total"] > 0 and stats["completed"] == stats["total"], stats
    listed = httpx.get(f"{base}/api/v1/x-bookmarks", headers=headers, params={"has_media": "true"}).json()
    item = listed["bookmarks"][0]["media"][0]
    assert urlsplit(item["url"]).path.startswith("/sandbox/twitter/")
    copy = httpx.get(item["s3Url"])
    assert copy.status_code == 200 and copy.content
