"""The eight LinkedIn tools against a sandbox LinkedIn account of `postpost serve`'s simulator:
figures as the fake computes them, SHARE read as RESHARE, everything by default, reactions and
comments made and removed, and the LinkedIn routes' error messages."""

from __future__ import annotations

from datetime import date, timedelta

from postpost.db.session import Database
from postpost.mcp.server import error_text
from postpost.services.linkedin_access import LinkedInFailure
from postpost.simulator._linkedin_insights import (
    METRICS,
    follower_gain,
    follower_total,
    lifetime_figure,
    post_figures,
)
from tests.conftest import MakeUser
from tests.mcp_server.conftest import bearer, body, connect, error, sandbox_account

NUMBER = "7123456789012345678"
POST = f"urn:li:share:{NUMBER}"
JAN = {"start": {"year": 2026, "month": 1, "day": 30}, "end": {"year": 2026, "month": 2, "day": 2}}
JAN_DAYS = [date(2026, 1, 30) + timedelta(days=n) for n in range(4)]


async def test_statistics_followers_and_summary(
    mcp_url: str, make_user: MakeUser, database: Database
) -> None:
    user = await make_user()
    account = await sandbox_account(database, user, "linkedin")
    member = account.removeprefix("linkedin-")
    figures = post_figures(NUMBER)
    async with connect(mcp_url, bearer(user)) as mcp:
        asked = {"platformId": account, "postedId": POST, "queryTypes": ["SHARE", "IMPRESSION"]}
        stats = body(await mcp.call_tool("linkedin_post_stats", asked))
        assert stats == {
            "success": True,
            "metrics": {"RESHARE": figures["RESHARE"], "IMPRESSION": figures["IMPRESSION"]},
            "cached": False,
        }
        everything = body(
            await mcp.call_tool("linkedin_post_stats", {"platformId": account, "postedId": POST})
        )
        assert everything["metrics"] == {m: figures[m] for m in METRICS}
        assert set(everything["cachedMetrics"]) == {"RESHARE", "IMPRESSION"}

        totals = body(await mcp.call_tool("linkedin_account_stats", {"platformId": account}))
        assert totals == {
            "success": True,
            "metrics": {m: lifetime_figure(member, m) for m in METRICS},
            "aggregation": "TOTAL",
            "cached": False,
        }
        daily = body(
            await mcp.call_tool(
                "linkedin_account_stats",
                {"platformId": account, "queryTypes": ["COMMENT"], "aggregation": "DAILY", "dateRange": JAN},
            )
        )
        assert (daily["aggregation"], len(daily["metrics"]["COMMENT"])) == ("DAILY", 4)

        followers = body(await mcp.call_tool("linkedin_followers", {"platformId": account}))
        assert followers == {"success": True, "followersCount": follower_total(member), "cached": False}
        gains = body(
            await mcp.call_tool(
                "linkedin_followers", {"platformId": account, "period": "daily", "dateRange": JAN}
            )
        )
        assert [d["count"] for d in gains["data"]] == [follower_gain(member, d) for d in JAN_DAYS]

        summary = body(
            await mcp.call_tool("linkedin_profile_summary", {"platformId": account, "dateRange": JAN})
        )
        assert summary["profile"]["followers"] == {
            "total": follower_total(member),
            "periodGrowth": sum(follower_gain(member, d) for d in JAN_DAYS),
        }

        assert error(
            await mcp.call_tool("linkedin_followers", {"platformId": account, "period": "daily"})
        ).startswith("dateRange")
        views = {"platformId": account, "postedId": POST, "queryTypes": ["VIEWS"]}
        assert error(await mcp.call_tool("linkedin_post_stats", views)) == (
            "Invalid queryTypes: VIEWS. Must be one of: IMPRESSION, MEMBERS_REACHED, RESHARE, REACTION, "
            'COMMENT, or "ALL"'
        )


async def test_reactions_and_comments(mcp_url: str, make_user: MakeUser, database: Database) -> None:
    user, stranger = await make_user(), await make_user()
    account = await sandbox_account(database, user, "linkedin")
    activity = f"urn:li:activity:{NUMBER}"
    async with connect(mcp_url, bearer(user)) as mcp:
        reacted = body(
            await mcp.call_tool(
                "linkedin_create_reaction",
                {"platformId": account, "postedId": activity, "reactionType": "PRAISE"},
            )
        )
        assert reacted["urnTranslated"] == {"from": activity, "to": f"urn:li:ugcPost:{NUMBER}"}
        assert reacted["reaction"]["reactionType"] == "PRAISE"
        removed = body(
            await mcp.call_tool("linkedin_delete_reaction", {"platformId": account, "postedId": activity})
        )
        assert removed["success"] is True

        comment = body(
            await mcp.call_tool(
                "linkedin_create_comment", {"platformId": account, "postedId": POST, "message": "Well said"}
            )
        )["comment"]
        assert comment["message"] == "Well said" and comment["commentUrn"].startswith("urn:li:comment:(")
        deleted = body(
            await mcp.call_tool(
                "linkedin_delete_comment",
                {"platformId": account, "postedId": POST, "commentId": comment["id"]},
            )
        )
        assert deleted == {"success": True, "deleted": comment["id"]}

        too_long = {"platformId": account, "postedId": POST, "message": "x" * 1251}
        assert error(await mcp.call_tool("linkedin_create_comment", too_long)) == (
            "message cannot exceed 1250 characters"
        )
        odd = {"platformId": account, "postedId": POST, "reactionType": "WOW"}
        assert error(await mcp.call_tool("linkedin_create_reaction", odd)) == (
            "reactionType must be one of: LIKE, PRAISE, EMPATHY, INTEREST, APPRECIATION, ENTERTAINMENT"
        )
    async with connect(mcp_url, bearer(stranger)) as mcp:
        foreign = {"platformId": account, "postedId": POST}
        for tool in ("linkedin_post_stats", "linkedin_delete_reaction"):
            assert error(await mcp.call_tool(tool, foreign)) == "LinkedIn connection not found"


def test_linkedin_refusals_name_linkedins_status_and_details() -> None:
    limited = LinkedInFailure("Failed to fetch LinkedIn followers statistics", 429, retry_after=60)
    assert error_text(limited) == (
        "Failed to fetch LinkedIn followers statistics (LinkedIn answered 429, retry after 60 s)"
    )
    details = {"details": {"message": "Not enough permissions"}, "status": 403}
    refused = LinkedInFailure("Failed to create LinkedIn reaction", 403, fields=details)
    assert error_text(refused) == (
        "Failed to create LinkedIn reaction (LinkedIn answered 403): "
        '{"details": {"message": "Not enough permissions"}, "status": 403}'
    )
