"""linkedin-reactions and linkedin-comments (POST and DELETE): validation, URN translation, LinkedIn's
errors in `details`, forwarded 403/429, body or query-string fields."""

from __future__ import annotations

from typing import Any

import httpx

from postpost.simulator._linkedin_insights import post_figures
from tests.api import linkedin_fixtures as fx
from tests.api.linkedin_fixtures import Account, set_secrets

live, fake, sandbox_linkedin, age_cache = fx.live, fx.fake, fx.sandbox_linkedin, fx.age_cache

SHARE = "urn:li:share:7123456789012345678"
ACTIVITY = "urn:li:activity:7123456789012345679"
UGC = "urn:li:ugcPost:7123456789012345679"
REACTION_TYPES = "LIKE, PRAISE, EMPATHY, INTEREST, APPRECIATION, ENTERTAINMENT"
URN_MESSAGE = "postedId must be a valid LinkedIn URN"


def error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    message: str = r.json()["error"]
    return message


async def react(client: httpx.AsyncClient, account: Account, **body: Any) -> httpx.Response:
    body = {"postedId": SHARE, "reactionType": "LIKE", "platformId": account.platform_id, **body}
    return await client.post("/api/v1/linkedin-reactions", headers=account.user.headers, json=body)


async def unreact(
    client: httpx.AsyncClient, account: Account, body: Any = None, **params: str
) -> httpx.Response:
    return await client.request(
        "DELETE", "/api/v1/linkedin-reactions", headers=account.user.headers, json=body, params=params
    )


async def comment(client: httpx.AsyncClient, account: Account, **body: Any) -> httpx.Response:
    body = {"postedId": SHARE, "message": "Great post!", "platformId": account.platform_id, **body}
    return await client.post("/api/v1/linkedin-comments", headers=account.user.headers, json=body)


async def uncomment(
    client: httpx.AsyncClient, account: Account, body: Any = None, **params: str
) -> httpx.Response:
    return await client.request(
        "DELETE", "/api/v1/linkedin-comments", headers=account.user.headers, json=body, params=params
    )


# ----- reactions -------------------------------------------------------------------------


async def test_reaction_validation(live, sandbox_linkedin):
    account = await sandbox_linkedin()
    pid = account.platform_id
    required = "postedId, reactionType, and platformId are required"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"postedId": None}, required),
        ({"reactionType": ""}, required),
        ({"platformId": 0}, required),
        ({"platformId": 42}, "platformId must be a string"),
        ({"postedId": "7123456789"}, URN_MESSAGE),
        ({"postedId": "urn:li:person:abc"}, URN_MESSAGE),
        ({"postedId": "urn:li:share:12a"}, URN_MESSAGE),
        ({"postedId": ["urn:li:share:1"]}, URN_MESSAGE),
        ({"reactionType": "LOVE"}, f"reactionType must be one of: {REACTION_TYPES}"),
        ({"reactionType": 1}, f"reactionType must be one of: {REACTION_TYPES}"),
        ({"platformId": "linkedin-"}, "Invalid platformId"),
    ]
    for change, message in cases:
        body = {"postedId": SHARE, "reactionType": "LIKE", "platformId": pid, **change}
        r = await live.post("/api/v1/linkedin-reactions", headers=account.user.headers, json=body)
        assert error(r, 400) == message, change
    delete_cases: list[tuple[dict[str, Any], str]] = [
        ({"platformId": pid}, "postedId and platformId are required"),
        ({"postedId": SHARE}, "postedId and platformId are required"),
        ({"postedId": SHARE, "platformId": 3}, "platformId must be a string"),
        ({"postedId": "urn:li:comment:1", "platformId": pid}, URN_MESSAGE),
        ({"postedId": SHARE, "platformId": "linkedin- x"}, "Invalid platformId"),
    ]
    for body, message in delete_cases:
        assert error(await unreact(live, account, body), 400) == message, body
    assert (
        error(await react(live, account, platformId="linkedin-nobody"), 404)
        == "LinkedIn connection not found"
    )
    r = await unreact(live, account, postedId=SHARE, platformId="linkedin-nobody")
    assert error(r, 404) == "LinkedIn connection not found"


async def test_react_and_remove(live, fake, sandbox_linkedin):
    account = await sandbox_linkedin()
    author = f"urn:li:person:{account.member}"
    r = await react(live, account, reactionType="praise")
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"success", "reaction"} and body["success"] is True
    assert body["reaction"]["id"] == f"urn:li:reaction:({author},{SHARE})"
    assert body["reaction"]["reactionType"] == "PRAISE" and body["reaction"]["root"] == SHARE
    r = await react(live, account, postedId=ACTIVITY, reactionType="Empathy")
    assert r.status_code == 201
    assert r.json()["urnTranslated"] == {"from": ACTIVITY, "to": UGC}
    assert r.json()["reaction"]["root"] == UGC
    stored = await fake.stored()
    assert sorted(x["root"] for x in stored["reactions"]) == sorted([SHARE, UGC])
    # removal: fields from the query string, or the body (which wins)
    r = await unreact(live, account, postedId=ACTIVITY, platformId=account.platform_id)
    assert r.status_code == 200
    assert r.json() == {"success": True, "reaction": None, "urnTranslated": {"from": ACTIVITY, "to": UGC}}
    r = await unreact(
        live, account, {"postedId": SHARE, "platformId": account.platform_id}, postedId="urn:li:share:1"
    )
    assert r.json() == {"success": True, "reaction": None}
    assert (await fake.stored())["reactions"] == []


async def test_linkedins_refusals_are_in_details(live, fake, sandbox_linkedin, database):
    account = await sandbox_linkedin()
    assert (await react(live, account)).status_code == 201
    r = await react(live, account, reactionType="LIKE")
    assert r.status_code == 500
    assert r.json() == {
        "error": "Failed to create LinkedIn reaction",
        "details": {
            "status": 409,
            "code": "DUPLICATE_REACTION",
            "message": f"urn:li:person:{account.member} has already reacted to {SHARE}",
        },
        "status": 409,
    }
    r = await unreact(live, account, postedId="urn:li:share:5", platformId=account.platform_id)
    assert error(r, 500) == "Failed to delete LinkedIn reaction"
    assert r.json()["status"] == 404 and r.json()["details"]["code"] == "NOT_FOUND"
    await fake.fault(account.member, "REACTIONS", "forbidden", times=1)
    r = await react(live, account, postedId="urn:li:share:6")
    assert error(r, 403) == "Failed to create LinkedIn reaction"
    assert r.json()["status"] == 403 and r.json()["details"]["code"] == "ACCESS_DENIED"
    token = "revoked-token-do-not-echo-0123456789"
    await set_secrets(database, account, {"access_token": token})
    r = await react(live, account, postedId="urn:li:share:7")
    assert error(r, 500) == "Failed to create LinkedIn reaction"
    assert r.json()["status"] == 401 and token not in r.text


async def test_reaction_rate_limit_is_passed_on_and_held(live, fake, sandbox_linkedin):
    account = await sandbox_linkedin()
    await fake.fault(account.member, "REACTIONS", "rate-limited", times=1)
    r = await react(live, account)
    assert error(r, 429) == "Failed to create LinkedIn reaction"
    assert r.headers["Retry-After"] == "1" and r.json()["status"] == 429
    calls = await fake.calls("/rest/reactions")
    r = await react(live, account)
    assert r.status_code == 429 and r.json()["details"] == {
        "message": "LinkedIn rate limit reached; waiting for its reset"
    }
    assert await fake.calls("/rest/reactions") == calls
    # comments are another of LinkedIn's limits: not held
    assert (await comment(live, account)).status_code == 201


# ----- comments --------------------------------------------------------------------------


async def test_comment_validation(live, sandbox_linkedin):
    account = await sandbox_linkedin()
    pid = account.platform_id
    required = "postedId, message, and platformId are required"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"postedId": ""}, required),
        ({"message": ""}, required),
        ({"message": None}, required),
        ({"platformId": None}, required),
        ({"platformId": 1.5}, "platformId must be a string"),
        ({"postedId": "share:123"}, URN_MESSAGE),
        ({"message": "   \n"}, "message cannot be empty"),
        ({"message": 12}, "message cannot be empty"),
        ({"message": "x" * 1251}, "message cannot exceed 1250 characters"),
        ({"parentComment": "urn:li:share:1"}, "parentComment must be a valid LinkedIn URN"),
        (
            {"parentComment": "urn:li:comment:(urn:li:activity:1,abc)"},
            "parentComment must be a valid LinkedIn URN",
        ),
        ({"platformId": "linkedin-"}, "Invalid platformId"),
    ]
    for change, message in cases:
        body = {"postedId": SHARE, "message": "hi", "platformId": pid, **change}
        r = await live.post("/api/v1/linkedin-comments", headers=account.user.headers, json=body)
        assert error(r, 400) == message, change
    delete_required = "postedId, commentId, and platformId are required"
    delete_cases: list[tuple[dict[str, Any], str]] = [
        ({"postedId": SHARE, "platformId": pid}, delete_required),
        ({"postedId": SHARE, "commentId": 0, "platformId": pid}, delete_required),
        ({"postedId": SHARE, "commentId": "1", "platformId": ["x"]}, "platformId must be a string"),
        ({"postedId": "nope", "commentId": "1", "platformId": pid}, URN_MESSAGE),
        (
            {"postedId": SHARE, "commentId": "12a", "platformId": pid},
            "commentId must be a valid LinkedIn URN or numeric ID",
        ),
        (
            {"postedId": SHARE, "commentId": -4, "platformId": pid},
            "commentId must be a valid LinkedIn URN or numeric ID",
        ),
        ({"postedId": SHARE, "commentId": "1", "platformId": "linkedin-"}, "Invalid platformId"),
    ]
    for body, message in delete_cases:
        assert error(await uncomment(live, account, body), 400) == message, body
    assert (
        error(await comment(live, account, platformId="linkedin-zz"), 404) == "LinkedIn connection not found"
    )


async def test_comment_reply_and_delete(live, fake, sandbox_linkedin, age_cache):
    account = await sandbox_linkedin()
    author = f"urn:li:person:{account.member}"
    text = "é" * 1250  # the limit counts characters
    r = await comment(live, account, message=text)
    assert r.status_code == 201, r.text
    created = r.json()["comment"]
    cid = created["id"]
    number = SHARE.rsplit(":", 1)[1]
    assert cid.isdigit()
    assert created["commentUrn"] == f"urn:li:comment:(urn:li:activity:{number},{cid})"
    assert created["message"] == text  # the text sent, not LinkedIn's message object
    assert created["actor"] == author and created["object"] == f"urn:li:activity:{number}"
    assert isinstance(created["created"]["time"], int)
    r = await comment(live, account, message="Thanks!", parentComment=created["commentUrn"])
    assert r.status_code == 201 and r.json()["comment"]["parentComment"] == created["commentUrn"]
    reply_id = r.json()["comment"]["id"]
    r = await live.post(
        "/api/v1/linkedin-post-statistics",
        headers=account.user.headers,
        json={"postedId": SHARE, "platformId": account.platform_id, "queryType": "COMMENT"},
    )
    assert r.json()["count"] == post_figures(number)["COMMENT"] + 2
    r = await uncomment(live, account, postedId=SHARE, commentId=cid, platformId=account.platform_id)
    assert r.json() == {"success": True, "deleted": cid}
    r = await uncomment(
        live, account, {"postedId": SHARE, "commentId": int(reply_id), "platformId": account.platform_id}
    )
    assert r.json() == {"success": True, "deleted": int(reply_id)}
    assert (await fake.stored())["comments"] == []


async def test_comment_deleted_by_urn_and_failures(live, fake, sandbox_linkedin):
    account = await sandbox_linkedin()
    created = (await comment(live, account, postedId=ACTIVITY)).json()["comment"]
    body = {"postedId": ACTIVITY, "commentId": created["commentUrn"], "platformId": account.platform_id}
    r = await uncomment(live, account, body)
    assert r.json() == {"success": True, "deleted": created["commentUrn"]}
    r = await uncomment(live, account, body)
    assert r.status_code == 500
    assert r.json() == {
        "error": "Failed to delete LinkedIn comment",
        "details": f"Comment {created['id']} does not exist on {ACTIVITY}",
    }
    await fake.fault(account.member, "COMMENTS", "server-error", times=1)
    r = await comment(live, account)
    assert r.status_code == 500 and r.json() == {"error": "Failed to create LinkedIn comment"}
    await fake.fault(account.member, "COMMENTS", "forbidden", times=1)
    assert error(await comment(live, account), 403) == "Failed to create LinkedIn comment"
    await fake.fault(account.member, "COMMENTS", "rate-limited", times=1)
    r = await comment(live, account)
    assert error(r, 429) == "Failed to create LinkedIn comment" and r.headers["Retry-After"] == "1"
    r = await uncomment(live, account, {**body, "commentId": "123"})
    assert error(r, 429) == "Failed to delete LinkedIn comment"  # held
    assert r.json()["details"] == "LinkedIn rate limit reached; waiting for its reset"
