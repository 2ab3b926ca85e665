"""GET /api/v1/x-bookmarks, /:id and /export: filters, sorts, full-text search, rules, limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, text, update

from postpost.db.models import XBookmark
from tests.x_bookmarks.conftest import API, BASE_TIME, bookmark_row, store

DOCUMENTED = {
    "tweetId",
    "text",
    "authorUsername",
    "authorName",
    "tweetCreatedAt",
    "publicMetrics",
    "media",
    "referencedTweets",
}


async def listed(client, member, **params):
    r = await client.get(API, headers=member.headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def texts(body) -> list[str]:
    return [b["text"] for b in body["bookmarks"]]


async def test_newest_first_with_pagination(client, make_member, database):
    member = await make_member(connect=False)
    await store(database, [bookmark_row(member.id, n, f"note {n}") for n in range(25)])
    body = await listed(client, member)
    assert texts(body) == [f"note {n}" for n in range(24, 4, -1)]
    assert body["pagination"] == {
        "page": 1,
        "limit": 20,
        "totalItems": 25,
        "totalPages": 2,
        "hasNextPage": True,
        "hasPrevPage": False,
    }
    second = await listed(client, member, page="2")
    assert texts(second) == [f"note {n}" for n in range(4, -1, -1)]
    assert second["pagination"]["hasNextPage"] is False and second["pagination"]["hasPrevPage"] is True
    first = second["bookmarks"][-1]
    assert set(first) == DOCUMENTED | {"_id", "syncedAt", "createdAt", "updatedAt"}
    assert first["tweetCreatedAt"] == "2026-03-01T00:00:00.000Z"
    assert first["publicMetrics"] == {"likeCount": 0, "retweetCount": 0, "replyCount": 0, "quoteCount": 0}
    clamped = await listed(client, member, limit="1000", page="0")
    assert clamped["pagination"]["limit"] == 100 and clamped["pagination"]["page"] == 1
    assert (await listed(client, member, page="9999"))["pagination"]["page"] == 500


async def test_sorts(client, make_member, database):
    member = await make_member(connect=False)
    await store(
        database,
        [
            bookmark_row(
                member.id, 1, "a", like_count=5, retweet_count=1, synced_at=BASE_TIME + timedelta(days=3)
            ),
            bookmark_row(
                member.id, 2, "b", like_count=9, retweet_count=0, synced_at=BASE_TIME + timedelta(days=1)
            ),
            bookmark_row(
                member.id, 3, "c", like_count=1, retweet_count=7, synced_at=BASE_TIME + timedelta(days=2)
            ),
        ],
    )
    assert texts(await listed(client, member, sort="tweet_date")) == ["c", "b", "a"]
    assert texts(await listed(client, member, sort="synced_at")) == ["a", "c", "b"]
    assert texts(await listed(client, member, sort="likes")) == ["b", "a", "c"]
    assert texts(await listed(client, member, sort="retweets")) == ["c", "a", "b"]


async def test_filters(client, make_member, database):
    member = await make_member(connect=False)
    photo = [{"mediaKey": "3_1", "type": "photo", "url": "https://pbs.twimg.com/media/1.jpg"}]
    video = [{"mediaKey": "7_1", "type": "video", "url": "https://video.twimg.com/1.mp4"}]
    gif = [{"mediaKey": "16_1", "type": "animated_gif", "url": "https://video.twimg.com/2.mp4"}]
    await store(
        database,
        [
            bookmark_row(member.id, 1, "plain", author_username="Ada_Codes"),
            bookmark_row(member.id, 2, "photo", author_username="brewlab", media_kinds=1, media=photo),
            bookmark_row(member.id, 3, "video", author_username="brewlab", media_kinds=2, media=video),
            bookmark_row(
                member.id, 4, "both", author_username="orbit%notes", media_kinds=5, media=photo + gif
            ),
        ],
    )
    assert texts(await listed(client, member, author="ADA")) == ["plain"]
    assert texts(await listed(client, member, author="@brew")) == ["video", "photo"]
    assert texts(await listed(client, member, author="%")) == ["both"]  # a literal, not a wildcard
    assert texts(await listed(client, member, has_media="true")) == ["both", "video", "photo"]
    assert texts(await listed(client, member, has_media="false")) == ["plain"]
    assert texts(await listed(client, member, media_type="photo")) == ["both", "photo"]
    assert texts(await listed(client, member, media_type="animated_gif")) == ["both"]
    assert texts(await listed(client, member, media_type="video", has_media="true")) == ["video"]
    assert texts(await listed(client, member, **{"from": "2026-03-01T02:00:00Z"})) == [
        "both",
        "video",
        "photo",
    ]
    assert texts(await listed(client, member, to="2026-03-01T03:00:00+00:00")) == ["photo", "plain"]
    body = await listed(client, member, **{"from": "2026-03-01", "to": "2026-03-01T02:30:00"})
    assert texts(body) == ["photo", "plain"]
    assert body["pagination"]["totalItems"] == 2


SEARCH_ROWS = [
    (1, "Cold brew coffee: coffee beans, coffee grinder and patience"),
    (2, "I had coffee and tea with friends"),
    (3, "Green tea is lovely in the afternoon"),
    (4, "Brewing coffee at home, a beginner's guide"),
    (5, "Nothing to see here"),
]


@pytest.fixture
async def searchable(make_member, database):
    member = await make_member(connect=False)
    await store(database, [bookmark_row(member.id, n, words) for n, words in SEARCH_ROWS])
    stranger = await make_member(connect=False)
    await store(database, [bookmark_row(stranger.id, 9, "coffee coffee coffee everywhere")])
    return member


async def test_search_is_sorted_by_relevance(client, searchable):
    body = await listed(client, searchable, q="coffee")
    assert texts(body)[0] == SEARCH_ROWS[0][1]  # the most mentions first, although the oldest
    assert set(texts(body)) == {SEARCH_ROWS[i][1] for i in (0, 1, 3)}  # nobody else's
    assert body["pagination"]["totalItems"] == 3
    assert texts(await listed(client, searchable, q="coffee tea")) == [SEARCH_ROWS[1][1]]  # every word
    assert set(texts(await listed(client, searchable, q="brew"))) == {SEARCH_ROWS[0][1], SEARCH_ROWS[3][1]}
    assert texts(await listed(client, searchable, q='"Green" (tea): -afternoon!')) == [SEARCH_ROWS[2][1]]
    by_author = await listed(client, searchable, q="someone")  # the author's name is searched too
    assert sorted(texts(by_author)) == sorted(texts(await listed(client, searchable)))
    assert (await listed(client, searchable, q="elephant"))["pagination"]["totalItems"] == 0
    page = await listed(client, searchable, q="coffee", limit="2", page="2")
    assert len(page["bookmarks"]) == 1 and page["pagination"]["totalPages"] == 2


async def test_equally_relevant_results_are_newest_first(client, make_member, database):
    member = await make_member(connect=False)
    await store(database, [bookmark_row(member.id, n, "the same sentence about kites") for n in range(4)])
    body = await listed(client, member, q="kites")
    assert [b["tweetCreatedAt"][11:13] for b in body["bookmarks"]] == ["03", "02", "01", "00"]


async def test_search_with_filters(client, searchable, database):
    async with database.session() as session:
        await session.execute(
            update(XBookmark)
            .where(XBookmark.user_id == searchable.id, XBookmark.text.like("Brewing%"))
            .values(media_kinds=2, author_username="homebarista")
        )
        await session.commit()
    assert texts(await listed(client, searchable, q="coffee", has_media="true")) == [SEARCH_ROWS[3][1]]
    assert texts(await listed(client, searchable, q="coffee", media_type="video")) == [SEARCH_ROWS[3][1]]
    assert texts(await listed(client, searchable, q="coffee", author="barista")) == [SEARCH_ROWS[3][1]]
    body = await listed(client, searchable, q="coffee", **{"from": "2026-03-01T01:30:00Z"})
    assert texts(body) == [SEARCH_ROWS[1][1], SEARCH_ROWS[3][1]] or texts(body) == [
        SEARCH_ROWS[3][1],
        SEARCH_ROWS[1][1],
    ]
    assert body["pagination"]["totalItems"] == 2


async def test_the_index_follows_changes(client, searchable, database, engine_name):
    async with database.session() as session:
        await session.execute(
            update(XBookmark)
            .where(XBookmark.user_id == searchable.id, XBookmark.text.like("Green%"))
            .values(text="Rooibos is lovely too")
        )
        await session.commit()
    assert texts(await listed(client, searchable, q="rooibos")) == ["Rooibos is lovely too"]
    assert texts(await listed(client, searchable, q="green")) == []
    async with database.session() as session:
        await session.execute(delete(XBookmark).where(XBookmark.user_id == searchable.id))
        await session.commit()
        if engine_name == "sqlite":
            left = await session.scalar(
                text("SELECT count(*) FROM x_bookmarks_fts WHERE x_bookmarks_fts MATCH :m"),
                {"m": f'owner : "u{searchable.id}0"'},
            )
            assert left == 0
    assert (await listed(client, searchable, q="coffee"))["pagination"]["totalItems"] == 0


async def problem(client, member, path: str = API, **params):
    r = await client.get(path, headers=member.headers, params=params)
    assert r.status_code == 400, r.text
    return r.json()


async def test_the_rules(client, make_member):
    member = await make_member(connect=False)
    for path in (API, f"{API}/export"):
        assert await problem(client, member, path, q="coffee", sort="likes") == {
            "error": "Search results are sorted by relevance: 'sort' cannot be used with 'q'",
            "code": "CONFLICTING_PARAMS",
        }
        assert (await problem(client, member, path, q="coffee", sort="tweet_date"))[
            "code"
        ] == "CONFLICTING_PARAMS"
        assert await problem(client, member, path, q="coffee", has_media="false") == {
            "error": "'has_media=false' cannot be combined with 'q'",
            "code": "CONFLICTING_FILTERS",
        }
        assert await problem(client, member, path, has_media="false", media_type="photo") == {
            "error": "'has_media=false' cannot be combined with 'media_type'",
            "code": "CONFLICTING_FILTERS",
        }
        assert await problem(client, member, path, q="a" * 201) == {
            "error": "Search query must be at most 200 characters",
            "code": "SEARCH_QUERY_TOO_LONG",
        }
        for empty in ("", "   ", "!!! ()"):
            assert await problem(client, member, path, q=empty) == {
                "error": "Search query is empty after removing special characters",
                "code": "EMPTY_QUERY",
            }
        assert await problem(client, member, path, **{"from": "yesterday"}) == {
            "error": "Invalid 'from' date: use ISO 8601, e.g. 2026-03-01",
            "code": "INVALID_DATE",
        }
        assert (await problem(client, member, path, to="2026-13-01"))["code"] == "INVALID_DATE"
        assert await problem(client, member, path, media_type="gif") == {
            "error": "media_type must be one of photo, video, animated_gif",
            "code": "INVALID_MEDIA_TYPE",
        }
        assert await problem(client, member, path, sort="oldest") == {
            "error": "sort must be one of tweet_date, synced_at, likes, retweets",
            "code": "INVALID_SORT",
        }
        assert await problem(client, member, path, has_media="yes") == {
            "error": "Query parameter 'has_media' must be 'true' or 'false'",
            "code": "INVALID_PARAM_TYPE",
        }
        for name in ("q", "sort", "page", "author"):
            r = await client.get(f"{path}?{name}=a&{name}=b", headers=member.headers)
            assert r.status_code == 400
            assert r.json() == {
                "error": f"Query parameter '{name}' must be a single string",
                "code": "INVALID_PARAM_TYPE",
            }
    ok = await client.get(API, headers=member.headers, params={"q": "a" * 200})
    assert ok.status_code == 200


async def test_get_one_by_tweet_id_or_own_id(client, make_member, database):
    member = await make_member(connect=False)
    stranger = await make_member(connect=False)
    mine, theirs = bookmark_row(member.id, 1, "mine"), bookmark_row(stranger.id, 2, "theirs")
    await store(database, [mine, theirs])
    for ident in (mine["tweet_id"], mine["id"], mine["id"].upper()):
        r = await client.get(f"{API}/{ident}", headers=member.headers)
        assert r.status_code == 200, ident
        assert r.json()["success"] is True and r.json()["bookmark"]["text"] == "mine"
        assert r.json()["bookmark"]["_id"] == mine["id"]
    for ident in (theirs["tweet_id"], theirs["id"], "0" * 24, "123"):
        r = await client.get(f"{API}/{ident}", headers=member.headers)
        assert r.status_code == 404
        assert r.json() == {"error": "Bookmark not found", "code": "BOOKMARK_NOT_FOUND"}


async def test_export(client, make_member, database):
    member = await make_member(connect=False)
    media = [{"mediaKey": "3_1", "type": "photo", "url": "https://pbs.twimg.com/media/1.jpg"}]
    rows = [bookmark_row(member.id, n, f"kite {n}") for n in range(210)]
    rows[0].update(media=media, media_kinds=1)
    await store(database, rows)
    r = await client.get(f"{API}/export", headers=member.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True and body["count"] == 200 == len(body["bookmarks"])
    assert all(set(b) == DOCUMENTED for b in body["bookmarks"])
    r = await client.get(
        f"{API}/export", headers=member.headers, params={"has_media": "true", "limit": "500"}
    )
    only = r.json()["bookmarks"]
    assert len(only) == 1 and only[0]["media"] == [
        {"mediaKey": "3_1", "type": "photo", "url": media[0]["url"], "previewImageUrl": None, "s3Url": None}
    ]
    r = await client.get(f"{API}/export", headers=member.headers, params={"q": "kite", "limit": "5"})
    assert r.json()["count"] == 5


async def test_five_exports_per_fifteen_minutes(client, make_member):
    member, other = await make_member(connect=False), await make_member(connect=False)
    assert (
        await client.get(f"{API}/export", headers=member.headers, params={"sort": "bad"})
    ).status_code == 400
    for _ in range(5):
        assert (await client.get(f"{API}/export", headers=member.headers)).status_code == 200
    r = await client.get(f"{API}/export", headers=member.headers)
    assert r.status_code == 429
    body = r.json()
    assert body["code"] == "EXPORT_RATE_LIMITED" and body["error"] == "At most 5 exports per 15 minutes"
    assert isinstance(body["retryAfter"], int) and 800 < body["retryAfter"] <= 900
    assert (await client.get(API, headers=member.headers)).status_code == 200  # listing is not limited
    assert (await client.get(f"{API}/export", headers=other.headers)).status_code == 200
