"""What targeted platforms accept, checked at create-post and update-post with a 400 naming the platform."""

from __future__ import annotations

import asyncio

import pytest

from postpost.platforms.base import Credentials, Secrets
from postpost.platforms.splitting import split_into_parts
from postpost.platforms.text import Graphemes

TOO_LONG_BLUESKY = (
    "Content is too long for Bluesky: it would be split into more than 25 posts (at most 25 are allowed)"
)


async def create(client, user, platforms, content, **extra):
    body = {"content": content, "platforms": platforms, **extra}
    return await client.post("/api/v1/create-post", headers=user.headers, json=body)


async def test_a_one_megabyte_body_is_refused_fast_and_the_server_keeps_answering(
    client, make_user, make_connection
):
    user = await make_user()
    bluesky = await make_connection(user, "bluesky", "did:plc:big")
    huge = "é" * 1_000_000  # 2 MB of UTF-8 would be refused by the body limit; this is 1 M characters
    content = "word " * 200_000  # 1 MB
    big, listing = await asyncio.gather(
        create(client, user, [bluesky], content),
        client.get("/api/v1/list-posts", headers=user.headers),
    )
    assert big.status_code == 400 and big.json() == {"error": TOO_LONG_BLUESKY}
    assert listing.status_code == 200
    assert (await create(client, user, [bluesky], huge)).status_code == 413


async def test_thread_length_bounds_name_the_platform_and_parts(client, make_user, make_connection):
    user = await make_user()
    mastodon = await make_connection(user)
    bluesky = await make_connection(user, "bluesky", "did:plc:parts")
    # ~7,400 characters: more than 25 parts on Bluesky (at most 290 each), 16 on Mastodon (490 each)
    sentence = "This sentence repeats to make a long post. "
    text = sentence * (7400 // len(sentence))
    parts = len(split_into_parts(text, 300, Graphemes()))
    assert parts > 25
    r = await create(client, user, [mastodon, bluesky], text)
    assert r.status_code == 400
    expected = (
        f"Content is too long for Bluesky: it would be split into {parts} posts (at most 25 are allowed)"
    )
    assert r.json() == {"error": expected}
    assert (await create(client, user, [mastodon], text)).status_code == 200
    # up to 25 parts is fine
    fits = sentence * (20 * 250 // len(sentence))
    assert len(split_into_parts(fits, 300, Graphemes())) <= 25
    assert (await create(client, user, [bluesky], fits)).status_code == 200


async def test_draft_scheduled_later_is_checked_again(client, make_user, make_connection):
    user = await make_user()
    bluesky = await make_connection(user, "bluesky", "did:plc:later")
    draft = await create(client, user, [bluesky], "ok")
    group = draft.json()["postGroupId"]
    r = await client.put(
        f"/api/v1/update-post/{group}", headers=user.headers, json={"altTexts": ["x" * 2001]}
    )
    assert r.status_code == 400
    assert r.json() == {"error": "Alt text 1 is too long for Bluesky: 2001 characters, the limit is 2000"}


async def test_alt_texts_are_stored_and_returned(client, make_user, make_connection):
    user = await make_user()
    pid = await make_connection(user)
    r = await create(client, user, [pid], "with pictures", altTexts=["A red bicycle", None])
    assert r.status_code == 200, r.text
    group = r.json()["postGroupId"]
    got = (await client.get(f"/api/v1/get-post/{group}", headers=user.headers)).json()
    assert got["altTexts"] == ["A red bicycle", None]
    r = await client.put(
        f"/api/v1/update-post/{group}", headers=user.headers, json={"altTexts": ["A blue bicycle"]}
    )
    assert r.status_code == 200, r.text
    got = (await client.get(f"/api/v1/get-post/{group}", headers=user.headers)).json()
    assert got["altTexts"] == ["A blue bicycle"] and got["status"] == "draft"
    for bad in ("nope", [1], {"a": "b"}):
        r = await create(client, user, [pid], "x", altTexts=bad)
        assert r.status_code == 400 and r.json() == {"error": "altTexts must be an array of strings"}
    r = await create(client, user, [pid], "x", altTexts=["y" * 1501])
    assert r.json() == {"error": "Alt text 1 is too long for Mastodon: 1501 characters, the limit is 1500"}


@pytest.mark.parametrize("platform", ["pinterest"])
async def test_connections_only_for_platforms_that_can_publish(database, make_user, platform):
    from postpost.errors import InvalidInput
    from postpost.security import SecretBox
    from postpost.services import connections

    user = await make_user()
    async with database.session() as session:
        with pytest.raises(InvalidInput) as info:
            await connections.add_connection(
                session, SecretBox(b"k"), user_id=user.id, platform=platform, account_id="1"
            )
    assert str(info.value).startswith(f"Unknown platform: {platform}. Must be one of: twitter, linkedin")


def test_decrypted_secrets_never_show_in_a_repr():
    creds = Credentials("1", {"api": "https://example.social"}, Secrets({"access_token": "s3cr3t-value"}))
    assert "s3cr3t-value" not in repr(creds) and "s3cr3t-value" not in str(creds)
    assert "access_token" in repr(creds)
    assert creds.secrets["access_token"] == "s3cr3t-value"
