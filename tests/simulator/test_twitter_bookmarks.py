"""The fake X's bookmarks: seeded per account, newest first, pages, fields, expansions, limits, media."""

from __future__ import annotations

import httpx

from tests.simulator.conftest import FakeClock
from tests.simulator.test_twitter import auth

X = "/twitter"
EVERYTHING = {
    "expansions": "author_id,attachments.media_keys,referenced_tweets.id,referenced_tweets.id.author_id",
    "tweet.fields": "created_at,public_metrics,attachments,referenced_tweets,author_id",
    "media.fields": "url,preview_image_url,variants,type,duration_ms",
    "user.fields": "profile_image_url,username,name",
}


def bookmarks(account: str = "111") -> str:
    return f"{X}/2/users/{account}/bookmarks"


async def writer_token(client: httpx.AsyncClient, account: str = "111") -> dict[str, str]:
    """Authorization for `account` with bookmark.write, through the fake's OAuth flow."""
    from tests.simulator.test_twitter import authorize, exchange

    code = await authorize(
        client, scope="tweet.read users.read bookmark.read bookmark.write", sandbox_user=account
    )
    tokens = (await client.post(f"{X}/2/oauth2/token", data=exchange(code))).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def test_every_account_has_plain_english_bookmarks_with_media(
    client: httpx.AsyncClient, clock: FakeClock
):
    r = await client.get(bookmarks(), headers=auth(clock), params=EVERYTHING)
    assert r.status_code == 200
    body = r.json()
    tweets = body["data"]
    assert len(tweets) > 5 and body["meta"] == {"result_count": len(tweets)}
    assert all(t["text"].isascii() and " " in t["text"] for t in tweets)
    kinds = {m["type"] for m in body["includes"]["media"]}
    assert kinds == {"photo", "video", "animated_gif"}
    users = {u["id"]: u for u in body["includes"]["users"]}
    assert all(t["author_id"] in users for t in tweets)
    quoted = {t["id"] for t in body["includes"]["tweets"]}
    assert quoted and quoted == {r["id"] for t in tweets for r in t.get("referenced_tweets", [])}
    assert all(q["author_id"] in users for q in body["includes"]["tweets"])
    for media in body["includes"]["media"]:
        if media["type"] == "photo":
            assert media["url"].startswith("http://sim/twitter/pbs/media/")
        else:
            assert [v["content_type"] for v in media["variants"]].count("video/mp4") >= 1
    again = await client.get(bookmarks(), headers=auth(clock), params=EVERYTHING)
    assert again.json() == body  # the same account, the same bookmarks
    other = await client.get(bookmarks("222"), headers=auth(clock, "222"))
    assert {t["text"] for t in other.json()["data"]} != {t["text"] for t in tweets}


async def test_pages_newest_bookmark_first(client: httpx.AsyncClient, clock: FakeClock):
    everything = (await client.get(bookmarks(), headers=auth(clock))).json()["data"]
    seen, token = [], None
    while True:
        params = {"max_results": "7", **({"pagination_token": token} if token else {})}
        r = await client.get(bookmarks(), headers=auth(clock), params=params)
        assert r.status_code == 200
        seen += [t["id"] for t in r.json()["data"]]
        token = r.json()["meta"].get("next_token")
        if token is None:
            break
    assert seen == [t["id"] for t in everything]
    # a new bookmark comes first; a token already given still continues where it was
    first = (await client.get(bookmarks(), headers=auth(clock), params={"max_results": "2"})).json()
    posted = await client.post(f"{X}/2/tweets", json={"text": "A fresh thought"}, headers=auth(clock))
    tweet_id = posted.json()["data"]["id"]
    refused = await client.post(bookmarks(), json={"tweet_id": tweet_id}, headers=auth(clock))
    assert refused.status_code == 403  # sandbox tokens read bookmarks; writing needs bookmark.write
    writer = await writer_token(client)
    added = await client.post(bookmarks(), json={"tweet_id": tweet_id}, headers=writer)
    assert added.status_code == 200 and added.json() == {"data": {"bookmarked": True}}
    top = (await client.get(bookmarks(), headers=auth(clock), params={"max_results": "1"})).json()["data"]
    assert top[0]["id"] == tweet_id and top[0]["text"] == "A fresh thought"
    rest = await client.get(
        bookmarks(), headers=auth(clock), params={"pagination_token": first["meta"]["next_token"]}
    )
    assert [t["id"] for t in rest.json()["data"]] == [t["id"] for t in everything[2:]]
    removed = await client.delete(f"{bookmarks()}/{tweet_id}", headers=writer)
    assert removed.json() == {"data": {"bookmarked": False}}
    assert (await client.get(bookmarks(), headers=auth(clock))).json()["data"][0]["id"] == everything[0]["id"]


async def test_refusals(client: httpx.AsyncClient, clock: FakeClock):
    r = await client.get(bookmarks(), headers=auth(clock), params={"max_results": "0"})
    assert r.status_code == 400
    assert (
        r.json()["errors"][0]["message"]
        == "The `max_results` query parameter value [0] is not between 1 and 100"
    )
    r = await client.get(bookmarks(), headers=auth(clock), params={"expansions": "author"})
    assert r.status_code == 400 and "expansions" in r.json()["errors"][0]["parameters"]
    other_token = (
        await client.get(bookmarks("222"), headers=auth(clock, "222"), params={"max_results": "1"})
    ).json()
    r = await client.get(
        bookmarks(), headers=auth(clock), params={"pagination_token": other_token["meta"]["next_token"]}
    )
    assert r.status_code == 400 and "pagination_token" in r.json()["errors"][0]["message"]
    theirs = await client.get(bookmarks("222"), headers=auth(clock))
    assert theirs.status_code == 403
    assert theirs.json()["detail"] == "You are not permitted to use OAuth2 on behalf of another user."
    assert (await client.get(bookmarks(), headers={"Authorization": "Bearer nope"})).status_code == 401
    bad = await client.post(bookmarks(), json={"tweet_id": "1"}, headers=await writer_token(client))
    assert bad.status_code == 400


async def test_a_token_without_the_bookmark_scope(client: httpx.AsyncClient, clock: FakeClock):
    from tests.simulator.test_twitter import authorize, exchange

    code = await authorize(client, scope="tweet.read users.read offline.access", sandbox_user="777")
    tokens = (await client.post(f"{X}/2/oauth2/token", data=exchange(code))).json()
    r = await client.get(bookmarks("777"), headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert r.status_code == 403
    assert r.json()["detail"] == "You are not permitted to perform this action."


async def test_rate_limit_headers_and_429(client: httpx.AsyncClient, clock: FakeClock):
    r = await client.get(bookmarks(), headers=auth(clock))
    assert r.headers["x-rate-limit-limit"] == "180" and r.headers["x-rate-limit-remaining"] == "179"
    for _ in range(179):
        await client.get(bookmarks(), headers=auth(clock), params={"max_results": "1"})
    r = await client.get(bookmarks(), headers=auth(clock))
    assert r.status_code == 429 and r.headers["x-rate-limit-remaining"] == "0"
    clock.now += 901
    assert (await client.get(bookmarks(), headers=auth(clock))).status_code == 200


async def test_queued_faults_are_played_on_a_lookup(client: httpx.AsyncClient, clock: FakeClock):
    await client.post(
        "/_control/faults", json={"platform": "twitter", "account": "111", "fault": "server-error"}
    )
    assert (await client.get(bookmarks(), headers=auth(clock))).status_code == 503
    assert (await client.get(bookmarks(), headers=auth(clock))).status_code == 200


async def test_media_files_are_served(client: httpx.AsyncClient):
    picture = await client.get(f"{X}/pbs/media/3_123.jpg")
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
    assert picture.content[:2] == b"\xff\xd8"
    video = await client.get(f"{X}/video/7_123.mp4")
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    assert (await client.get(f"{X}/video/7_123.m3u8")).status_code == 404
