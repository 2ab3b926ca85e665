"""Plan limits and the LimitExceededError body (§3.5, §3.6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from postpost.ids import iso
from postpost.services.limits import month_period

STARTER_API = {"apiAccess": True}
BASE_FIELDS = {
    "error",
    "code",
    "metric",
    "message",
    "limit",
    "used",
    "requested",
    "remaining",
    "periodStart",
    "periodEnd",
    "planName",
}


def at(**delta) -> str:
    return iso(datetime.now(UTC) + timedelta(**delta))


async def create(client, user, platforms, when=None, headers=None):
    body = {"content": "limits", "platforms": platforms}
    if when is not None:
        body["scheduledTime"] = when
    return await client.post("/api/v1/create-post", headers=headers or user.headers, json=body)


def limit_body(response, code):
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["code"] == code, body
    assert body.keys() >= BASE_FIELDS, body
    assert isinstance(body["error"], str) and isinstance(body["message"], str)
    return body


async def ok(response):
    assert response.status_code == 200, response.text
    return response.json()


# --- PLATFORM_NOT_AVAILABLE ----------------------------------------------------------------------------


async def test_platform_not_available_even_for_drafts(client, make_user, make_connection):
    user = await make_user("starter", entitlements=STARTER_API)
    twitter = await make_connection(user, "twitter")
    mastodon = await make_connection(user, "mastodon")
    for when in (None, at(hours=1)):
        body = limit_body(await create(client, user, [mastodon, twitter], when), "PLATFORM_NOT_AVAILABLE")
        assert body["error"] == "Platform not available"
        assert body["metric"] == "posts.platform_monthly"
        assert body["planName"] == "Starter"
        assert body["message"] == "Platform not available on your Starter plan."
        assert body["disallowedPlatforms"] == ["twitter"]
        assert "twitter" not in body["allowedPlatforms"] and "mastodon" in body["allowedPlatforms"]
    await ok(await create(client, user, [mastodon]))
    # Nothing was stored for the refused requests.
    listed = (await client.get("/api/v1/list-posts", headers=user.headers)).json()
    assert listed["pagination"]["totalItems"] == 1


async def test_custom_allow_list(client, make_user, make_connection):
    user = await make_user(entitlements={"allowedPlatforms": ["bluesky"]})
    mastodon = await make_connection(user, "mastodon")
    body = limit_body(await create(client, user, [mastodon]), "PLATFORM_NOT_AVAILABLE")
    assert body["disallowedPlatforms"] == ["mastodon"] and body["allowedPlatforms"] == ["bluesky"]
    assert body["planName"] == "Pro"


# --- SCHEDULED_POST_LIMIT_REACHED ------------------------------------------------------------------------


async def test_scheduled_limit_account_scope(client, make_user, make_connection):
    user = await make_user("starter", entitlements=STARTER_API)
    a = await make_connection(user)
    b = await make_connection(user)
    for _ in range(3):
        await create(client, user, [a])  # drafts do not count
    await ok(await create(client, user, [a], at(days=1)))
    await ok(await create(client, user, [a, b], at(days=2)))
    body = limit_body(await create(client, user, [b], at(days=3)), "SCHEDULED_POST_LIMIT_REACHED")
    assert body["error"] == "Scheduled post limit reached"
    assert body["metric"] == "posts.scheduled_active"
    assert body["scope"] == "account"
    assert (body["limit"], body["used"], body["requested"], body["remaining"]) == (3, 3, 1, 0)
    assert body["planName"] == "Starter"
    assert body["message"] == "Scheduled post limit reached. Your Starter plan allows 3 scheduled posts."
    assert body["periodStart"] is None and body["periodEnd"] is None
    # A draft is still fine.
    await ok(await create(client, user, [b]))


async def test_scheduled_limit_connection_scope(client, make_user, make_connection):
    user = await make_user(entitlements={"scheduledPosts": 2})
    a = await make_connection(user)
    b = await make_connection(user)
    await ok(await create(client, user, [a], at(hours=1)))
    await ok(await create(client, user, [a, b], at(hours=2)))
    body = limit_body(await create(client, user, [a, b], at(hours=3)), "SCHEDULED_POST_LIMIT_REACHED")
    assert body["scope"] == "connection"
    assert body["used"] is None and body["remaining"] is None
    assert body["limit"] == 2 and body["requested"] == 2
    assert body["blockedPlatforms"] == [{"platformSelection": a, "used": 2, "remaining": 0}]
    assert body["planName"] == "Pro"
    # `b` has its own budget: one more fits there.
    await ok(await create(client, user, [b], at(hours=4)))
    body = limit_body(await create(client, user, [b], at(hours=5)), "SCHEDULED_POST_LIMIT_REACHED")
    assert body["blockedPlatforms"] == [{"platformSelection": b, "used": 2, "remaining": 0}]


async def test_deleting_frees_scheduled_budget(client, make_user, make_connection):
    user = await make_user(entitlements={"scheduledPosts": 1})
    a = await make_connection(user)
    gid = (await ok(await create(client, user, [a], at(hours=1))))["postGroupId"]
    limit_body(await create(client, user, [a], at(hours=2)), "SCHEDULED_POST_LIMIT_REACHED")
    await ok(await client.delete(f"/api/v1/delete-post/{gid}", headers=user.headers))
    await ok(await create(client, user, [a], at(hours=2)))


# --- update-post checks limits too ---------------------------------------------------------------------


async def test_update_to_scheduled_checks_limits(client, make_user, make_connection):
    user = await make_user("starter", entitlements=STARTER_API)
    a = await make_connection(user)
    scheduled = [(await ok(await create(client, user, [a], at(days=1))))["postGroupId"] for _ in range(3)]
    draft = (await ok(await create(client, user, [a])))["postGroupId"]

    r = await client.put(
        f"/api/v1/update-post/{draft}",
        headers=user.headers,
        json={"status": "scheduled", "scheduledTime": at(days=2)},
    )
    body = limit_body(r, "SCHEDULED_POST_LIMIT_REACHED")
    assert (body["used"], body["requested"], body["remaining"]) == (3, 1, 0)
    got = (await client.get(f"/api/v1/get-post/{draft}", headers=user.headers)).json()
    assert got["status"] == "draft" and got["posts"][0]["status"] == "draft"

    # Rescheduling an already scheduled group does not count it twice.
    r = await client.put(
        f"/api/v1/update-post/{scheduled[0]}", headers=user.headers, json={"scheduledTime": at(days=3)}
    )
    await ok(r)
    # Beyond the horizon is refused on update as well.
    r = await client.put(
        f"/api/v1/update-post/{scheduled[0]}", headers=user.headers, json={"scheduledTime": at(days=8)}
    )
    limit_body(r, "SCHEDULE_HORIZON_REACHED")
    # Moving one back to draft frees a slot for the other draft.
    await ok(
        await client.put(
            f"/api/v1/update-post/{scheduled[1]}", headers=user.headers, json={"status": "draft"}
        )
    )
    r = await client.put(
        f"/api/v1/update-post/{draft}",
        headers=user.headers,
        json={"status": "scheduled", "scheduledTime": at(days=2)},
    )
    assert (await ok(r))["postGroup"]["status"] == "scheduled"


# --- POST_LIMIT_REACHED --------------------------------------------------------------------------------


async def test_monthly_limit_connection_scope(client, make_user, make_connection):
    user = await make_user(entitlements={"monthlyPosts": 2})
    a = await make_connection(user)
    when = datetime.now(UTC) + timedelta(minutes=30)
    await ok(await create(client, user, [a], iso(when)))
    await ok(await create(client, user, [a], iso(when + timedelta(minutes=1))))
    body = limit_body(await create(client, user, [a], iso(when + timedelta(minutes=2))), "POST_LIMIT_REACHED")
    start, end = month_period(when + timedelta(minutes=2))
    assert body["error"] == "Post limit reached"
    assert body["metric"] == "posts.platform_monthly"
    assert body["message"] == "Monthly post limit reached. Your Pro plan allows 2 platform posts per month."
    assert body["limit"] == 2 and body["requested"] == 1
    assert body["used"] is None and body["remaining"] is None
    assert body["scope"] == "connection"
    assert body["blockedPlatforms"] == [{"platformSelection": a, "used": 2, "remaining": 0}]
    assert body["periodStart"] == iso(start) and body["periodEnd"] == iso(end)
    assert body["periodStart"].endswith("-01T00:00:00.000Z") and body["periodEnd"].endswith(
        "-01T00:00:00.000Z"
    )


async def test_monthly_limit_account_scope(client, make_user, make_connection):
    user = await make_user(
        "starter", entitlements={"apiAccess": True, "monthlyPosts": 2, "scheduledPosts": 10}
    )
    a = await make_connection(user)
    b = await make_connection(user)
    when = datetime.now(UTC) + timedelta(minutes=30)
    await ok(await create(client, user, [a], iso(when)))
    body = limit_body(await create(client, user, [a, b], iso(when)), "POST_LIMIT_REACHED")
    assert body["scope"] == "account"
    assert (body["limit"], body["used"], body["requested"], body["remaining"]) == (2, 1, 2, 1)
    assert (
        body["message"] == "Monthly post limit reached. Your Starter plan allows 2 platform posts per month."
    )
    start, end = month_period(when)
    assert (body["periodStart"], body["periodEnd"]) == (iso(start), iso(end))


def test_month_period_edges():
    assert month_period(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert month_period(datetime(2026, 3, 1, tzinfo=UTC)) == (
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 4, 1, tzinfo=UTC),
    )


# --- SCHEDULE_HORIZON_REACHED ----------------------------------------------------------------------------


async def test_schedule_horizon(client, make_user, make_connection):
    user = await make_user("starter", entitlements=STARTER_API)
    a = await make_connection(user)
    before = datetime.now(UTC)
    wanted = before + timedelta(days=8)
    body = limit_body(await create(client, user, [a], iso(wanted)), "SCHEDULE_HORIZON_REACHED")
    after = datetime.now(UTC)
    assert body["error"] == "Schedule horizon reached"
    assert body["metric"] == "posts.schedule_horizon_days"
    assert body["limit"] == 7
    assert body["message"] == "Scheduled time exceeds your Starter plan's 7-day scheduling horizon."
    for field in ("used", "requested", "remaining", "periodStart", "periodEnd"):
        assert body[field] is None, field
    assert body["scheduledTime"] == iso(wanted)
    latest = datetime.fromisoformat(body["maxScheduledDate"].replace("Z", "+00:00"))
    assert before + timedelta(days=7) - timedelta(seconds=1) <= latest <= after + timedelta(days=7)
    await ok(await create(client, user, [a], iso(before + timedelta(days=6, hours=23))))
    # Paid plans have no horizon.
    pro = await make_user()
    p = await make_connection(pro)
    await ok(await create(client, pro, [p], at(days=400)))


# --- CONNECTIONS_OVER_LIMIT -----------------------------------------------------------------------------


async def test_connections_over_limit(client, make_user, make_connection):
    user = await make_user(entitlements={"connections": 1})
    a = await make_connection(user)
    await ok(await create(client, user, [a], at(hours=1)))
    await make_connection(user)
    body = limit_body(await create(client, user, [a], at(hours=2)), "CONNECTIONS_OVER_LIMIT")
    assert body["error"] == "Account over channel limit"
    assert body["metric"] == "connections.total"
    assert body["overLimitBy"] == 1
    assert body["limit"] == 1 and body["used"] == 2
    assert body["planName"] == "Pro"
    # Drafts are not blocked by count limits.
    await ok(await create(client, user, [a]))


# --- workspace pool ----------------------------------------------------------------------------------


async def test_managed_usage_counts_against_owner_pool(client, make_user, make_connection):
    owner = await make_user("starter", workspace=True, entitlements=STARTER_API)
    child = await make_user(parent=owner)
    owner_pid = await make_connection(owner)
    child_pid = await make_connection(child)
    as_child = {**owner.headers, "x-postpost-user-id": child.id}
    await ok(await create(client, owner, [owner_pid], at(days=1)))
    await ok(await create(client, child, [child_pid], at(days=1)))
    await ok(await create(client, owner, [child_pid], at(days=1), headers=as_child))
    for who, pid, headers in (
        (owner, owner_pid, None),
        (child, child_pid, None),
        (owner, child_pid, as_child),
    ):
        body = limit_body(
            await create(client, who, [pid], at(days=2), headers=headers), "SCHEDULED_POST_LIMIT_REACHED"
        )
        assert (body["limit"], body["used"], body["remaining"]) == (3, 3, 0)
        assert body["planName"] == "Starter"
    # The managed user's own horizon is the owner's (starter: 7 days) although its row says pro.
    limit_body(await create(client, child, [child_pid], at(days=8)), "SCHEDULE_HORIZON_REACHED")


async def test_other_tenants_do_not_share_the_pool(client, make_user, make_connection):
    first = await make_user("starter", entitlements=STARTER_API)
    second = await make_user("starter", entitlements=STARTER_API)
    a = await make_connection(first)
    b = await make_connection(second)
    for _ in range(3):
        await ok(await create(client, first, [a], at(days=1)))
    await ok(await create(client, second, [b], at(days=1)))
