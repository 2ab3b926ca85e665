"""The fake LinkedIn's analytics, followers, reactions, comments and their injected faults, over ASGI."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from postpost.simulator._linkedin_insights import (
    METRICS,
    daily_figure,
    follower_gain,
    follower_total,
    lifetime_figure,
    parse_restli,
    post_figures,
)
from tests.simulator.test_linkedin import AUTHOR, MEMBER, ORG, assert_li_error, headers

SHARE = "urn:li:share:7123456789012345678"
UGC = "urn:li:ugcPost:7000000000000000001"
ANALYTICS = "/linkedin/rest/memberCreatorPostAnalytics"


def enc(value: str) -> str:
    return quote(value, safe="")


def span(start: date, end: date) -> str:
    def day(d: date) -> str:
        return f"(day:{d.day},month:{d.month},year:{d.year})"

    return f"(start:{day(start)},end:{day(end)})"


def ms(d: date) -> int:
    return int(datetime.combine(d, datetime.min.time(), UTC).timestamp() * 1000)


async def get(client: httpx.AsyncClient, path: str) -> httpx.Response:
    return await client.get(path, headers=headers())


async def elements(client: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    r = await get(client, path)
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["elements"]
    assert r.json()["paging"]["total"] == len(found)
    return found


async def rule(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post("/_control/linkedin/insights", json={"account": MEMBER, **body})


def test_restli_values_parse() -> None:
    assert parse_restli("(start:(day:1,month:2,year:2026),end:(day:3,month:2,year:2026))") == {
        "start": {"day": "1", "month": "2", "year": "2026"},
        "end": {"day": "3", "month": "2", "year": "2026"},
    }
    assert parse_restli("List(urn%3Ali%3Ashare%3A1,urn%3Ali%3Ashare%3A2)") == [
        "urn:li:share:1",
        "urn:li:share:2",
    ]
    assert parse_restli("(share:urn%3Ali%3Ashare%3A1)") == {"share": "urn:li:share:1"}
    for bad in ("(a:1", "(share:urn:li:share:1)", "(a:1))"):
        with pytest.raises(ValueError):
            parse_restli(bad)


# ----- member post analytics -------------------------------------------------------------


async def test_one_posts_totals_are_its_figures(client: httpx.AsyncClient) -> None:
    for urn, kind in ((SHARE, "share"), (UGC, "ugc")):
        number = urn.rsplit(":", 1)[1]
        for metric in METRICS:
            query = f"?q=entity&entity=({kind}:{enc(urn)})&queryType={metric}&aggregation=TOTAL"
            [element] = await elements(client, ANALYTICS + query)
            assert element == {"count": post_figures(number)[metric], "metricType": metric}
    figures = post_figures("42")
    assert figures["MEMBERS_REACHED"] <= figures["IMPRESSION"]
    assert figures["COMMENT"] <= figures["REACTION"]


async def test_a_daily_series_has_one_entry_per_day(client: httpx.AsyncClient) -> None:
    start, end = date(2026, 5, 1), date(2026, 5, 11)
    query = f"?q=me&queryType=IMPRESSION&aggregation=DAILY&dateRange={span(start, end)}"
    found = await elements(client, ANALYTICS + query)
    days = [start + timedelta(days=n) for n in range(10)]
    assert [e["dateRange"]["start"] for e in found] == [
        {"day": d.day, "month": d.month, "year": d.year} for d in days
    ]
    assert [e["dateRange"]["end"]["day"] for e in found] == [d.day + 1 for d in days]
    assert [e["count"] for e in found] == [daily_figure(MEMBER, "IMPRESSION", d) for d in days]
    assert all(e["count"] >= 0 for e in found)
    total = f"?q=me&queryType=IMPRESSION&aggregation=TOTAL&dateRange={span(start, end)}"
    [summed] = await elements(client, ANALYTICS + total)
    assert summed["count"] == sum(daily_figure(MEMBER, "IMPRESSION", d) for d in days)
    [lifetime] = await elements(client, ANALYTICS + "?q=me&queryType=COMMENT&aggregation=TOTAL")
    assert lifetime["count"] == lifetime_figure(MEMBER, "COMMENT")


async def test_malformed_queries_are_refused(client: httpx.AsyncClient) -> None:
    bad = [
        "?q=me&queryType=MEMBERS_REACHED&aggregation=DAILY&dateRange="
        + span(date(2026, 5, 1), date(2026, 5, 2)),
        "?q=me&queryType=IMPRESSION&aggregation=DAILY",  # no dateRange
        f"?q=entity&entity=(share:{SHARE})&queryType=IMPRESSION",  # URN not encoded
        f"?q=entity&entity=(share:{enc(UGC)})&queryType=IMPRESSION",  # a ugcPost is (ugc:…)
        "?q=me&queryType=CLICKS",
        "?q=everyone&queryType=IMPRESSION",
        "?q=me&queryType=IMPRESSION&dateRange=" + span(date(2026, 5, 2), date(2026, 5, 2)),
    ]
    for query in bad:
        assert_li_error(await get(client, ANALYTICS + query), 400, code="ILLEGAL_ARGUMENT")
    unversioned = await client.get(ANALYTICS + "?q=me&queryType=IMPRESSION", headers=headers(version=None))
    assert_li_error(unversioned, 426, code="VERSION_MISSING")


async def test_followers_lifetime_and_daily(client: httpx.AsyncClient) -> None:
    [total] = await elements(client, "/linkedin/rest/memberFollowersCount?q=me")
    assert total == {"memberFollowersCount": follower_total(MEMBER)}
    start = date(2026, 4, 28)
    found = await elements(
        client, f"/linkedin/rest/memberFollowersCount?q=dateRange&dateRange={span(start, date(2026, 5, 3))}"
    )
    assert len(found) == 5
    assert [e["memberFollowersCount"] for e in found] == [
        follower_gain(MEMBER, start + timedelta(days=n)) for n in range(5)
    ]


# ----- organisations ---------------------------------------------------------------------


async def test_organization_share_and_follower_statistics(client: httpx.AsyncClient) -> None:
    org_id = ORG.rsplit(":", 1)[1]
    base = (
        "/linkedin/rest/organizationalEntityShareStatistics?q=organizationalEntity"
        f"&organizationalEntity={enc(ORG)}"
    )
    [lifetime] = await elements(client, base)
    assert lifetime["totalShareStatistics"]["impressionCount"] == lifetime_figure(org_id, "IMPRESSION")
    [one] = await elements(client, base + f"&ugcPosts=List({enc(UGC)})")
    figures = post_figures(UGC.rsplit(":", 1)[1])
    assert one["ugcPost"] == UGC
    assert one["totalShareStatistics"] == {
        "impressionCount": figures["IMPRESSION"],
        "uniqueImpressionsCount": figures["MEMBERS_REACHED"],
        "shareCount": figures["RESHARE"],
        "likeCount": figures["REACTION"],
        "commentCount": figures["COMMENT"],
    }
    start = date(2026, 5, 1)
    intervals = f"(timeRange:(start:{ms(start)},end:{ms(start + timedelta(days=3))}),timeGranularityType:DAY)"
    daily = await elements(client, base + f"&timeIntervals={intervals}")
    assert [d["timeRange"]["start"] for d in daily] == [ms(start + timedelta(days=n)) for n in range(3)]
    assert [d["totalShareStatistics"]["commentCount"] for d in daily] == [
        daily_figure(org_id, "COMMENT", start + timedelta(days=n)) for n in range(3)
    ]
    size = await get(client, f"/linkedin/rest/networkSizes/{enc(ORG)}?edgeType=COMPANY_FOLLOWED_BY_MEMBER")
    assert size.json() == {"firstDegreeSize": follower_total(org_id)}
    gains = await elements(
        client,
        "/linkedin/rest/organizationalEntityFollowerStatistics?q=organizationalEntity"
        f"&organizationalEntity={enc(ORG)}&timeIntervals={intervals}",
    )
    assert [g["followerGains"]["organicFollowerGain"] for g in gains] == [
        follower_gain(org_id, start + timedelta(days=n)) for n in range(3)
    ]
    assert_li_error(await get(client, base + f"&shares=List({enc(UGC)})"), 400)


# ----- injected faults -------------------------------------------------------------------


async def test_without_faults_every_figure_is_non_negative(client: httpx.AsyncClient) -> None:
    for n in range(1, 40):
        urn = f"urn:li:share:{n * 7919}"
        for metric in METRICS:
            query = f"?q=entity&entity=(share:{enc(urn)})&queryType={metric}"
            [element] = await elements(client, ANALYTICS + query)
            assert element["count"] >= 0


async def test_faults_per_metric_post_and_count(client: httpx.AsyncClient) -> None:
    def query(metric: str, urn: str = SHARE) -> str:
        return ANALYTICS + f"?q=entity&entity=(share:{enc(urn)})&queryType={metric}"

    assert (await rule(client, target="REACTION", fault="unavailable")).status_code == 201
    assert (
        await rule(client, target="IMPRESSION", fault="server-error", post=SHARE, times=1)
    ).status_code == 201
    assert (await rule(client, target="COMMENT", fault="rate-limited")).status_code == 201
    assert (await rule(client, target="RESHARE", fault="forbidden")).status_code == 201
    [reaction] = await elements(client, query("REACTION"))
    assert reaction["count"] == -1
    [other_post] = await elements(client, query("IMPRESSION", "urn:li:share:5"))
    assert other_post["count"] == post_figures("5")["IMPRESSION"]
    assert_li_error(await get(client, query("IMPRESSION")), 500)
    [again] = await elements(client, query("IMPRESSION"))  # the counted rule is used up
    assert again["count"] == post_figures(SHARE.rsplit(":", 1)[1])["IMPRESSION"]
    limited = await get(client, query("COMMENT"))
    assert_li_error(limited, 429, code="TOO_MANY_REQUESTS")
    assert limited.headers["Retry-After"] == "1"
    assert_li_error(await get(client, query("RESHARE")), 403, code="ACCESS_DENIED")
    listed = (await client.get("/_control/linkedin/insights")).json()["rules"]
    assert [r["target"] for r in listed] == ["REACTION", "COMMENT", "RESHARE"]
    assert (await client.delete("/_control/linkedin/insights")).status_code == 200
    [reaction] = await elements(client, query("REACTION"))
    assert reaction["count"] >= 0


async def test_fault_rules_are_checked_and_reset(client: httpx.AsyncClient) -> None:
    for body in (
        {"target": "CLICKS", "fault": "server-error"},
        {"target": "*", "fault": "explode"},
        {"target": "*", "fault": "forbidden", "times": 0},
        {"target": "*", "fault": "forbidden", "post": "urn:li:person:1"},
        {"account": "", "target": "*", "fault": "forbidden"},
    ):
        assert (await rule(client, **body)).status_code == 400, body
    await rule(client, target="FOLLOWERS", fault="server-error")
    assert_li_error(await get(client, "/linkedin/rest/memberFollowersCount?q=me"), 500)
    await client.post("/_control/reset")
    assert (await client.get("/_control/linkedin/insights")).json()["rules"] == []
    assert (await get(client, "/linkedin/rest/memberFollowersCount?q=me")).status_code == 200


# ----- reactions and comments ------------------------------------------------------------


async def react(
    client: httpx.AsyncClient, root: str, kind: str = "LIKE", actor: str = AUTHOR
) -> httpx.Response:
    return await client.post(
        f"/linkedin/rest/reactions?actor={enc(actor)}",
        json={"root": root, "reactionType": kind},
        headers=headers(),
    )


async def test_reactions(client: httpx.AsyncClient, clock: Any) -> None:
    number = UGC.rsplit(":", 1)[1]
    before = post_figures(number)["REACTION"]
    r = await react(client, UGC, "PRAISE")
    assert r.status_code == 201
    urn = f"urn:li:reaction:({AUTHOR},{UGC})"
    assert r.headers["x-restli-id"] == urn
    assert r.json() == {
        "id": urn,
        "root": UGC,
        "reactionType": "PRAISE",
        "created": {"actor": AUTHOR, "time": int(clock.now * 1000)},
        "lastModified": {"actor": AUTHOR, "time": int(clock.now * 1000)},
    }
    assert_li_error(await react(client, UGC), 409, code="DUPLICATE_REACTION")
    assert_li_error(await react(client, f"urn:li:activity:{number}"), 400, code="ILLEGAL_ARGUMENT")
    assert_li_error(await react(client, SHARE, "LOVE"), 400, code="ILLEGAL_ARGUMENT")
    assert_li_error(await react(client, SHARE, actor="urn:li:person:Someone"), 403, code="ACCESS_DENIED")
    [count] = await elements(client, ANALYTICS + f"?q=entity&entity=(ugc:{enc(UGC)})&queryType=REACTION")
    assert count["count"] == before + 1
    key = f"(actor:{enc(AUTHOR)},entity:{enc(UGC)})"
    assert (await client.delete(f"/linkedin/rest/reactions/{key}", headers=headers())).status_code == 204
    gone = await client.delete(f"/linkedin/rest/reactions/{key}", headers=headers())
    assert_li_error(gone, 404, code="NOT_FOUND")
    unencoded = await client.delete(
        f"/linkedin/rest/reactions/(actor:{AUTHOR},entity:{UGC})", headers=headers()
    )
    assert_li_error(unencoded, 400)


async def comment(client: httpx.AsyncClient, post: str, text: str, **extra: Any) -> httpx.Response:
    body = {"actor": AUTHOR, "object": post, "message": {"text": text}, **extra}
    return await client.post(
        f"/linkedin/rest/socialActions/{enc(post)}/comments", json=body, headers=headers()
    )


async def test_comments(client: httpx.AsyncClient, clock: Any) -> None:
    number = SHARE.rsplit(":", 1)[1]
    r = await comment(client, SHARE, "Well said")
    assert r.status_code == 201
    cid = r.headers["x-restli-id"]
    assert cid.isdigit() and int(cid) >> 22 == int(clock.now * 1000)
    activity = f"urn:li:activity:{number}"
    assert r.json() == {
        "actor": AUTHOR,
        "commentUrn": f"urn:li:comment:({activity},{cid})",
        "created": {"actor": AUTHOR, "time": int(clock.now * 1000)},
        "id": cid,
        "lastModified": {"actor": AUTHOR, "time": int(clock.now * 1000)},
        "message": {"attributes": [], "text": "Well said"},
        "object": activity,
    }
    reply = await comment(client, SHARE, "Indeed", parentComment=r.json()["commentUrn"])
    assert reply.status_code == 201 and reply.json()["parentComment"] == r.json()["commentUrn"]
    assert_li_error(await comment(client, SHARE, "x" * 1251), 422)
    assert_li_error(await comment(client, SHARE, "   "), 422)
    wrong_object = await client.post(
        f"/linkedin/rest/socialActions/{enc(SHARE)}/comments",
        json={"actor": AUTHOR, "object": UGC, "message": {"text": "hi"}},
        headers=headers(),
    )
    assert_li_error(wrong_object, 400)
    assert_li_error(
        await comment(client, SHARE, "hi", parentComment="urn:li:comment:(urn:li:activity:1,2)"), 400
    )
    [count] = await elements(client, ANALYTICS + f"?q=entity&entity=(share:{enc(SHARE)})&queryType=COMMENT")
    assert count["count"] == post_figures(number)["COMMENT"] + 2
    path = f"/linkedin/rest/socialActions/{enc(SHARE)}/comments/{cid}"
    stranger = await client.delete(f"{path}?actor={enc('urn:li:person:Other')}", headers=headers())
    assert_li_error(stranger, 403)
    wrong_post = f"/linkedin/rest/socialActions/{enc(UGC)}/comments/{cid}?actor={enc(AUTHOR)}"
    assert_li_error(await client.delete(wrong_post, headers=headers()), 404)
    assert (await client.delete(f"{path}?actor={enc(AUTHOR)}", headers=headers())).status_code == 204
    assert_li_error(await client.delete(f"{path}?actor={enc(AUTHOR)}", headers=headers()), 404)
    stored = (await client.get("/_control/linkedin/insights")).json()
    assert [c["id"] for c in stored["comments"]] == [reply.headers["x-restli-id"]]


async def test_social_action_faults(client: httpx.AsyncClient) -> None:
    await rule(client, target="REACTIONS", fault="rate-limited", times=1)
    await rule(client, target="COMMENTS", fault="forbidden", times=1)
    assert_li_error(await react(client, SHARE), 429)
    assert (await react(client, SHARE)).status_code == 201
    assert_li_error(await comment(client, SHARE, "hi"), 403)
    assert (await comment(client, SHARE, "hi")).status_code == 201


async def test_the_fault_controls_are_not_among_the_platforms_paths(settings: Any, database: Any) -> None:
    """Under `postpost serve` the simulator's /_control is behind the API key: so are these controls."""
    from postpost.server import build_server

    app = build_server(settings, database)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://serve") as serve:
        body = {"account": MEMBER, "target": "*", "fault": "server-error"}
        assert (await serve.post("/sandbox/linkedin/_control/insights", json=body)).status_code == 404
        assert (await serve.post("/sandbox/_control/linkedin/insights", json=body)).status_code in (401, 404)
        assert (await serve.get("/sandbox/_control/linkedin/insights")).status_code in (401, 404)
