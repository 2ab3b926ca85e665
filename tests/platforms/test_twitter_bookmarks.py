"""Reading bookmarks through X API v2 (`platforms/_twitter_bookmarks.py`): the fake over HTTP, and
the parsing of X's answers."""

from __future__ import annotations

import aiohttp
import pytest

from postpost.platforms._twitter_bookmarks import (
    fetch_media,
    fetch_page,
    is_bad_pagination_token,
    may_fetch,
    parse_page,
)
from postpost.platforms.base import Credentials, ErrorCode, PlatformError
from tests.platforms.test_twitter import sandbox_creds

TIMEOUT = aiohttp.ClientTimeout(total=10)


@pytest.fixture
def creds(simulator_url: str) -> Credentials:
    return sandbox_creds(simulator_url)


async def page(http, creds, token=None, size=10, referenced=True):
    return await fetch_page(
        http, creds, max_results=size, pagination_token=token, referenced=referenced, client_timeout=TIMEOUT
    )


async def test_pages_through_every_bookmark(http, creds):
    first = await page(http, creds)
    assert len(first.tweets) == 10 and first.next_token
    rest = await page(http, creds, first.next_token, 100)
    assert rest.next_token is None
    everything = [*first.tweets, *rest.tweets]
    assert len({t.tweet_id for t in everything}) == len(everything) > 5
    assert all(t.author_username and t.author_name and t.created_at for t in everything)
    kinds = {m.type for t in everything for m in t.media}
    assert kinds == {"photo", "video", "animated_gif"}
    for item in (m for t in everything for m in t.media):
        assert item.download_url and may_fetch(item.download_url, creds.base_url)
        if item.type == "video":
            assert item.download_url.endswith(".mp4") and "tag=low" not in item.download_url  # the best one
            assert item.preview_url and item.preview_url.endswith(".jpg")
    quoted = [r for t in everything for r in t.referenced]
    assert quoted and all(r.text and r.author_username for r in quoted)
    plain = await page(http, creds, referenced=False)
    assert all(r.text is None for t in plain.tweets for r in t.referenced)


async def test_a_refused_token_and_a_bad_page_token(http, creds):
    with pytest.raises(PlatformError) as bad:
        await page(http, creds, "nonsense")
    assert is_bad_pagination_token(bad.value)
    expired = Credentials(
        creds.account_id, creds.endpoints, creds.secrets.merged(access_token="sandbox.1.2.x")
    )
    with pytest.raises(PlatformError) as refused:
        await page(http, expired)
    assert refused.value.code is ErrorCode.PLATFORM_AUTH_EXPIRED and refused.value.refreshable
    assert not is_bad_pagination_token(refused.value)


async def test_media_fetches(http, creds):
    data, kind = await fetch_media(
        http, f"{creds.base_url}/pbs/media/3_9.jpg", max_bytes=10**6, client_timeout=TIMEOUT
    )
    assert kind == "image/jpeg" and data[:2] == b"\xff\xd8"
    with pytest.raises(PlatformError) as big:
        await fetch_media(http, f"{creds.base_url}/video/7_9.mp4", max_bytes=100, client_timeout=TIMEOUT)
    assert big.value.code is ErrorCode.CONTENT_TOO_LARGE
    with pytest.raises(PlatformError) as missing:
        await fetch_media(http, f"{creds.base_url}/video/7_9.m3u8", max_bytes=100, client_timeout=TIMEOUT)
    assert missing.value.status == 404


def test_only_x_media_hosts_are_fetched():
    assert may_fetch("https://pbs.twimg.com/media/abc.jpg", None)
    assert may_fetch("https://video.twimg.com/ext_tw_video/1/pu/vid/720x720/a.mp4?tag=12", None)
    for url in (
        "http://pbs.twimg.com/media/abc.jpg",
        "https://pbs.twimg.com.evil.example/a.jpg",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/a.jpg",
        "file:///etc/passwd",
    ):
        assert not may_fetch(url, None), url
    assert may_fetch("http://127.0.0.1:8000/sandbox/twitter/pbs/media/a.jpg", "http://127.0.0.1:8000/sandbox")
    assert not may_fetch("http://127.0.0.1:9999/a.jpg", "http://127.0.0.1:8000/sandbox")
    assert not may_fetch("https://pbs.twimg.com/media/abc.jpg", "http://127.0.0.1:8000/sandbox")


def test_parses_x_answers_leniently():
    body = {
        "data": [
            {
                "id": "1",
                "text": "short &amp; sweet",
                "note_tweet": {"text": "the long &lt;full&gt; text"},
                "author_id": "9",
                "created_at": "2026-03-20T15:30:00.000Z",
                "public_metrics": {"like_count": 5, "retweet_count": -1, "reply_count": "x"},
                "attachments": {"media_keys": ["3_1", "7_2", "16_404"]},
                "referenced_tweets": [{"type": "quoted", "id": "2"}, {"type": "replied_to", "id": "3"}],
            },
            {"id": "4", "text": "no author"},
            {"text": "no id"},
            "junk",
        ],
        "includes": {
            "users": [
                {"id": "9", "username": "johndoe", "name": "John Doe"},
                {"id": "8", "username": "orig"},
            ],
            "media": [
                {
                    "media_key": "3_1",
                    "type": "photo",
                    "url": "https://pbs.twimg.com/media/1.jpg",
                    "alt_text": "a cat",
                },
                {
                    "media_key": "7_2",
                    "type": "video",
                    "preview_image_url": "https://pbs.twimg.com/ext_tw_video_thumb/2.jpg",
                    "variants": [
                        {"content_type": "application/x-mpegURL", "url": "https://video.twimg.com/2.m3u8"},
                        {
                            "content_type": "video/mp4",
                            "bit_rate": 2176000,
                            "url": "https://video.twimg.com/hi.mp4",
                        },
                        {
                            "content_type": "video/mp4",
                            "bit_rate": 256000,
                            "url": "https://video.twimg.com/lo.mp4",
                        },
                    ],
                },
            ],
            "tweets": [{"id": "2", "text": "the original", "author_id": "8"}],
        },
        "meta": {"result_count": 2, "next_token": "7140dibdnow9c7btw4"},
    }
    found = parse_page(body)
    assert found.next_token == "7140dibdnow9c7btw4"
    first, second = found.tweets
    assert first.text == "the long <full> text"
    assert (first.author_username, first.author_name) == ("johndoe", "John Doe")
    assert (first.like_count, first.retweet_count, first.reply_count) == (5, 0, 0)
    assert first.created_at is not None and first.created_at.isoformat() == "2026-03-20T15:30:00+00:00"
    photo, video = first.media  # the unknown media key is left out
    assert (photo.url, photo.download_url, photo.alt_text) == (
        "https://pbs.twimg.com/media/1.jpg",
        "https://pbs.twimg.com/media/1.jpg",
        "a cat",
    )
    assert (video.download_url, video.preview_url) == (
        "https://video.twimg.com/hi.mp4",
        "https://pbs.twimg.com/ext_tw_video_thumb/2.jpg",
    )
    assert [(r.type, r.id, r.text, r.author_username) for r in first.referenced] == [
        ("quoted", "2", "the original", "orig"),
        ("replied_to", "3", None, None),
    ]
    assert (second.tweet_id, second.author_username, second.media) == ("4", None, ())
    assert parse_page({}).tweets == () and parse_page({"meta": "x"}).next_token is None
