"""/openapi.json documents the LinkedIn routes: bodies, success and error answers."""

from __future__ import annotations

from tests.api.test_openapi import json_schema, resolve


async def test_linkedin_routes_are_documented(client):
    spec = (await client.get("/openapi.json")).json()
    routes = {
        ("/api/v1/linkedin-post-statistics", "post", "200"): {
            "success",
            "count",
            "metrics",
            "cachedMetrics",
            "cached",
        },
        ("/api/v1/linkedin-account-statistics", "post", "200"): {
            "success",
            "data",
            "metrics",
            "aggregation",
            "cached",
        },
        ("/api/v1/linkedin-followers", "post", "200"): {
            "success",
            "followersCount",
            "data",
            "totalGrowth",
            "cached",
        },
        ("/api/v1/linkedin-profile-summary", "post", "200"): {"success", "partialData", "profile", "errors"},
        ("/api/v1/linkedin-profile-summary", "post", "502"): {"success", "error", "errors"},
        ("/api/v1/linkedin-reactions", "post", "201"): {"success", "reaction", "urnTranslated"},
        ("/api/v1/linkedin-reactions", "delete", "200"): {"success", "reaction", "urnTranslated"},
        ("/api/v1/linkedin-reactions", "post", "500"): {"error", "details", "status"},
        ("/api/v1/linkedin-comments", "post", "201"): {"success", "comment"},
        ("/api/v1/linkedin-comments", "delete", "200"): {"success", "deleted"},
        ("/api/v1/linkedin-comments", "delete", "500"): {"error", "details", "status"},
    }
    for (path, method, status), fields in routes.items():
        assert fields <= set(json_schema(spec, path, method, status)["properties"]), (path, method, status)
        responses = spec["paths"][path][method]["responses"]
        assert {"400", "401", "404", "429", "500"} <= set(responses), (path, method)
    bodies = {
        ("/api/v1/linkedin-post-statistics", "post"): {"postedId", "platformId", "queryType", "queryTypes"},
        ("/api/v1/linkedin-account-statistics", "post"): {
            "platformId",
            "queryTypes",
            "aggregation",
            "dateRange",
        },
        ("/api/v1/linkedin-followers", "post"): {"platformId", "period", "dateRange"},
        ("/api/v1/linkedin-profile-summary", "post"): {"platformId", "dateRange"},
        ("/api/v1/linkedin-reactions", "post"): {"postedId", "reactionType", "platformId"},
        ("/api/v1/linkedin-reactions", "delete"): {"postedId", "platformId"},
        ("/api/v1/linkedin-comments", "post"): {"postedId", "message", "platformId", "parentComment"},
        ("/api/v1/linkedin-comments", "delete"): {"postedId", "commentId", "platformId"},
    }
    for (path, method), fields in bodies.items():
        body = spec["paths"][path][method]["requestBody"]
        assert fields <= set(resolve(spec, body["content"]["application/json"]["schema"])["properties"])
        assert body["required"] is (method == "post"), (path, method)
    query = {
        p["name"]
        for p in spec["paths"]["/api/v1/linkedin-comments"]["delete"]["parameters"]
        if p["in"] == "query"
    }
    assert query == {"postedId", "commentId", "platformId"}


async def test_request_bodies_have_no_dangling_references(client):
    spec = (await client.get("/openapi.json")).json()
    text = str({p: ops for p, ops in spec["paths"].items() if "linkedin" in p})
    assert "$defs" not in text
    for ref in [part.split("'")[0] for part in text.split("'$ref': '")[1:]]:
        assert ref.rsplit("/", 1)[-1] in spec["components"]["schemas"], ref
    account = spec["paths"]["/api/v1/linkedin-account-statistics"]["post"]["requestBody"]
    date_range = account["content"]["application/json"]["schema"]["properties"]["dateRange"]
    assert "year" in str(date_range)
