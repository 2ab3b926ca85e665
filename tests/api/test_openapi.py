"""/openapi.json documents the implemented routes, their fields and error bodies; /docs; JSON 404s."""

from __future__ import annotations

from typing import Any

import pytest

CORE = {
    "/api/v1/create-post": {"post"},
    "/api/v1/get-post/{postGroupId}": {"get"},
    "/api/v1/list-posts": {"get"},
    "/api/v1/update-post/{postGroupId}": {"put"},
    "/api/v1/delete-post/{postGroupId}": {"delete"},
    "/api/v1/platform-connections": {"get"},
}


@pytest.fixture
async def spec(client) -> dict[str, Any]:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def props(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    return resolve(spec, schema)["properties"]


def json_schema(spec: dict[str, Any], path: str, method: str, status: str) -> dict[str, Any]:
    response = spec["paths"][path][method]["responses"][status]
    return resolve(spec, response["content"]["application/json"]["schema"])


def item_schema(spec: dict[str, Any], array_schema: dict[str, Any]) -> dict[str, Any]:
    return resolve(spec, array_schema["items"])


# Every /api/v1 route of the contract (Appendix A), with sample path ids.
CONTRACT = [
    ("post", "/create-post"),
    ("get", "/get-post/{postGroupId}"),
    ("put", "/update-post/{postGroupId}"),
    ("delete", "/delete-post/{postGroupId}"),
    ("get", "/list-posts"),
    ("post", "/get-upload-url"),
    ("get", "/platform-connections"),
    ("post", "/test-connection/{platformId}"),
    ("get", "/post-logs/{postGroupId}"),
    ("get", "/webhooks"),
    ("post", "/webhooks"),
    ("patch", "/webhooks/{id}"),
    ("delete", "/webhooks/{id}"),
    ("post", "/webhooks/{id}/regenerate-secret"),
    ("get", "/workspace/users"),
    ("post", "/workspace/users"),
    ("delete", "/workspace/users/{userId}"),
    ("post", "/workspace/users/{userId}/api-key"),
    ("post", "/workspace/users/{userId}/connection-url"),
    ("post", "/linkedin-post-statistics"),
    ("post", "/linkedin-account-statistics"),
    ("post", "/linkedin-followers"),
    ("post", "/linkedin-profile-summary"),
    ("post", "/linkedin-reactions"),
    ("delete", "/linkedin-reactions"),
    ("post", "/linkedin-comments"),
    ("delete", "/linkedin-comments"),
    ("post", "/x-bookmarks/sync"),
    ("get", "/x-bookmarks"),
    ("get", "/x-bookmarks/export"),
    ("get", "/x-bookmarks/{id}"),
    ("get", "/x-bookmarks/balance"),
    ("get", "/x-bookmarks/user/media-stats"),
    ("get", "/x-bookmarks/sync/history"),
    ("get", "/x-bookmarks/user/settings"),
    ("put", "/x-bookmarks/user/settings"),
]
# postpost additions to the contract (docs/webhooks.md)
EXTENSIONS = [
    ("post", "/webhooks/{id}/test"),
    ("get", "/webhooks/{id}/deliveries"),
    ("get", "/events"),
]
DISABLED = ["/linkedin-posts", "/linkedin-post-comments", "/linkedin-post-reactions"]


def concrete(path: str) -> str:
    return (
        path.replace("{platformId}", "mastodon-1")
        .replace("{postGroupId}", "0" * 24)
        .replace("{id}", "0" * 24)
        .replace("{userId}", "0" * 24)
    )


async def test_lists_exactly_the_implemented_routes(spec, client):
    documented = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    assert all(path.startswith("/api/v1/") for _, path in documented)
    assert "/health" not in spec["paths"] and "/docs" not in spec["paths"]
    for path, methods in CORE.items():
        assert set(spec["paths"][path]) == methods, path
    # Documented ⟺ implemented: an implemented route answers an anonymous call with the auth error.
    for method, path in CONTRACT + EXTENSIONS:
        r = await client.request(method.upper(), "/api/v1" + concrete(path))
        implemented = r.status_code == 401 and r.json() == {"error": "API key is required"}
        assert implemented == ((method, "/api/v1" + path) in documented), (method, path, r.status_code)
        if not implemented:
            assert r.status_code in (404, 405), (method, path, r.status_code)
    assert documented <= {(m, "/api/v1" + p) for m, p in CONTRACT + EXTENSIONS}
    for path in DISABLED:
        assert "/api/v1" + path not in spec["paths"]
        r = await client.post("/api/v1" + path, headers={"x-api-key": "sk_x.y"})
        assert r.status_code == 404 and r.json() == {"error": "Not found"}


async def test_request_bodies(spec):
    create = spec["paths"]["/api/v1/create-post"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    create = resolve(spec, create)
    assert {"content", "platforms", "scheduledTime", "platformSettings"} <= set(create["properties"])
    assert set(create["required"]) == {"content", "platforms"}
    update = spec["paths"]["/api/v1/update-post/{postGroupId}"]["put"]["requestBody"]["content"]
    update = resolve(spec, update["application/json"]["schema"])
    assert {"status", "scheduledTime"} <= set(update["properties"])


async def test_path_and_query_parameters(spec):
    for path in (
        "/api/v1/get-post/{postGroupId}",
        "/api/v1/update-post/{postGroupId}",
        "/api/v1/delete-post/{postGroupId}",
    ):
        [op] = spec["paths"][path].values()
        assert {"name": "postGroupId", "in": "path"}.items() <= next(
            p for p in op["parameters"] if p["name"] == "postGroupId"
        ).items()
    params = {
        p["name"] for p in spec["paths"]["/api/v1/list-posts"]["get"]["parameters"] if p["in"] == "query"
    }
    assert params == {"page", "limit", "status", "platform", "sortBy", "sortOrder", "fromDate", "toDate"}


async def test_auth_headers_documented(spec):
    schemes = spec["components"]["securitySchemes"]
    assert any(s == {**s, "type": "apiKey", "in": "header", "name": "x-api-key"} for s in schemes.values())
    for path, methods in CORE.items():
        for method in methods:
            op = spec["paths"][path][method]
            assert op.get("security"), (path, method)
            headers = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
            assert {"x-postpost-user-id", "x-postpost-client"} <= headers, (path, method)


async def test_success_bodies(spec):
    created = json_schema(spec, "/api/v1/create-post", "post", "200")
    assert {"success", "postGroupId"} <= set(created["properties"])

    got = json_schema(spec, "/api/v1/get-post/{postGroupId}", "get", "200")
    assert {
        "success",
        "postGroupId",
        "status",
        "processingStatus",
        "content",
        "scheduledTime",
        "posts",
    } <= set(got["properties"])
    post = item_schema(spec, got["properties"]["posts"])
    assert {"_id", "platform", "platformId", "content", "status", "postedId", "error"} <= set(
        post["properties"]
    )

    listed = json_schema(spec, "/api/v1/list-posts", "get", "200")
    assert {"success", "posts", "pagination"} <= set(listed["properties"])
    assert {"page", "limit", "totalItems", "totalPages", "hasNextPage", "hasPrevPage"} <= set(
        props(spec, listed["properties"]["pagination"])
    )
    group = item_schema(spec, listed["properties"]["posts"])
    assert {
        "postGroupId",
        "content",
        "status",
        "scheduledTime",
        "createdAt",
        "updatedAt",
        "platforms",
        "mediaUrls",
    } <= set(group["properties"])

    updated = json_schema(spec, "/api/v1/update-post/{postGroupId}", "put", "200")
    assert {"success", "message", "postGroup"} <= set(updated["properties"])
    assert {"_id", "status", "scheduledTime"} <= set(props(spec, updated["properties"]["postGroup"]))

    deleted = json_schema(spec, "/api/v1/delete-post/{postGroupId}", "delete", "200")
    assert "success" in deleted["properties"]

    conns = json_schema(spec, "/api/v1/platform-connections", "get", "200")
    entry = item_schema(spec, conns["properties"]["connections"])
    assert set(entry["properties"]) == {
        "platformId",
        "username",
        "displayName",
        "profileImageUrl",
        "profileUrl",
        "accessTokenExpiresAt",
        "tokenStatus",
        "tokenExpiresIn",
        "lastSuccessfulPost",
        "lastError",
    }
    assert set(entry["properties"]["tokenStatus"]["enum"]) == {"valid", "expiring_soon", "expired", "unknown"}


async def test_error_bodies(spec):
    for path, methods in CORE.items():
        for method in methods:
            responses = spec["paths"][path][method]["responses"]
            for status in ("401", "403", "500"):
                body = json_schema(spec, path, method, status)
                assert "error" in body["properties"], (path, method, status)
    for path in (
        "/api/v1/get-post/{postGroupId}",
        "/api/v1/update-post/{postGroupId}",
        "/api/v1/delete-post/{postGroupId}",
    ):
        [method] = CORE[path]
        assert "error" in json_schema(spec, path, method, "404")["properties"]
    for path, method in (("/api/v1/create-post", "post"), ("/api/v1/update-post/{postGroupId}", "put")):
        limit = json_schema(spec, path, method, "403")
        assert {
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
        } <= set(limit["properties"])
        assert set(limit["properties"]["code"]["enum"]) == {
            "POST_LIMIT_REACHED",
            "SCHEDULED_POST_LIMIT_REACHED",
            "SCHEDULE_HORIZON_REACHED",
            "PLATFORM_NOT_AVAILABLE",
            "CONNECTIONS_OVER_LIMIT",
        }
    del responses


async def test_docs_page(client):
    r = await client.get("/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in r.text and "swagger" in r.text.lower()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("POST", "/api/v1/linkedin-posts"),
        ("GET", "/api/v1/create-post/extra"),
        ("GET", "/api/v2/list-posts"),
        ("GET", "/api/v1/get-post/"),
        ("DELETE", "/api/v1/delete-post"),
    ],
)
async def test_unknown_route_is_json_404(client, method, path):
    r = await client.request(method, path, headers={"x-api-key": "whatever"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {"error": "Not found"}


async def test_wrong_method_is_json_405(client):
    r = await client.get("/api/v1/create-post")
    assert r.status_code == 405
    assert r.json() == {"error": "Method not allowed"}


async def test_no_phantom_validation_error_body(spec):
    """Validation failures are 400 `{error}`: no 422 `{detail}` body is documented anywhere."""
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert "422" not in op["responses"], (path, method)
            assert "error" in json_schema(spec, path, method, "4XX")["properties"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
