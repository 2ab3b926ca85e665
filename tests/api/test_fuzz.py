"""Property tests: no input makes a route answer 5xx, and every error is JSON with an `error` string.

How hypothesis meets the async client: the httpx client, the app and the database engines all live on
the session's event loop. Each async test hands a *sync* `@given` function to a worker thread
(`asyncio.to_thread`); every example submits its request back to the test's loop with
`asyncio.run_coroutine_threadsafe(...).result()` and checks the reply in the thread. The loop is free
to serve those requests because the test coroutine is just awaiting the thread. This keeps the full
`@given` machinery (shrinking, explicit `@example`s, health checks) without function-scoped fixtures
inside the property and without `.example()`.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(
    max_examples=int(os.environ.get("POSTPOST_TEST_FUZZ_EXAMPLES", "60")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=15,
)
time_like = st.one_of(
    st.text(max_size=30),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "2030-01-01T00:00:00Z",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "2030-02-30T00:00:00Z",
            "2030-01-01T00:00:00+99:99",
            "2030-01-01T00:00:00.123456789Z",
            "now",
            "",
            " ",
            "1e309",
        ]
    ),
)
path_ids = st.one_of(
    st.text(min_size=1, max_size=60),
    st.text(min_size=1000, max_size=2000),
    st.sampled_from(
        [
            "../",
            "..",
            "../../openapi.json",
            "%2e%2e%2f",
            "0" * 24,
            "f" * 24,
            "F" * 24,
            "g" * 24,
            " " * 24,
            "\u0660" * 24,
            "null",
            "undefined",
            "%00",
            "a/b",
            "x" * 5000,
        ]
    ),
)
encodings: st.SearchStrategy[Callable[[str], str]] = st.sampled_from(
    [lambda s: quote(s, safe=""), lambda s: quote(s, safe="/.%")]
)
query_params = st.dictionaries(st.text(max_size=15), st.text(max_size=30), max_size=5)
list_params = st.dictionaries(
    st.sampled_from(["page", "limit", "status", "platform", "sortBy", "sortOrder", "fromDate", "toDate"]),
    st.one_of(
        st.text(max_size=30),
        time_like,
        st.integers().map(str),
        st.sampled_from(["draft", "scheduled", "published", "asc", "scheduledTime", "mastodon", "%", "_"]),
    ),
    max_size=8,
)
RAW_QUERIES = [
    "",
    "page=%ff&limit=%00",
    "status=%E2%28%A1",
    "platform=%00",
    "fromDate=%00",
    "toDate=0001-01-01",
    "fromDate=0001-01-01T00:00:00%2B01:00",
    "toDate=9999-12-31T23:59:59-01:00",
    "limit=99999999999999999999999",
    "page=-99999999999999999999",
    "sortBy=__class__",
    "platform=\\",
    "a&&&==&b",
    "page=1&page=2",
]
raw_queries = st.sampled_from(RAW_QUERIES)
RAW_BODIES = [
    b"",
    b" ",
    b"{",
    b"null",
    b"[]",
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"1e999",
    b'"str"',
    b"\xff\xfe",
    b'{"content": "\\ud800", "platforms": ["mastodon-1"]}',
    b'{"content": "a\\u0000b", "platforms": ["mastodon-1"]}',
    b'{"content": "x", "platforms": "[\\"mastodon-1\\"", "scheduledTime": null}',
    b'{"content": "x", "platforms": ["mastodon-1"], "platformSettings": "[1]"}',
    b'{"status": "scheduled", "scheduledTime": "0001-01-01T00:00:00+01:00"}',
    b'{"status": "scheduled", "scheduledTime": "9999-12-31T23:59:59-01:00"}',
    b'{"scheduledTime": "2030-01-01T00:00:00\\u0000Z"}',
    b'{"content": "x", "platforms": ["mastodon-1"], "scheduledTime": "9999-12-31T23:59:59.999Z"}',
    b'{"content": "x", "platforms": ["mastodon-1"], "platformSettings": {"tiktok": {"a": NaN, "b": 1e999}}}',
    b'{"content": "x", "platforms": ["mastodon-1"], "platformSettings": {"youtube": {"title": "a\\u0000"}}}',
    b'{"content": "x", "platforms": ["mastodon-1"], "platformSettings": {"threads": {"n": 1'
    + b"0" * 400
    + b"}}}",
    b'{"status": "scheduled", "scheduledTime": "9999-12-31T23:59:59.999Z"}',
    b"[" * 5000 + b"]" * 5000,
    b'{"a": ' * 3000 + b"1" + b"}" * 3000,
]
raw_bodies = st.sampled_from(RAW_BODIES)
header_values = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40).map(
    lambda s: s.encode("latin-1")
)


def check(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict) and isinstance(body.get("error"), str), body


class Driver:
    """Runs request coroutines on the test's loop from hypothesis' worker thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def __call__(self, coroutine: Coroutine[Any, Any, httpx.Response]) -> None:
        check(asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60))


@pytest.fixture
async def world(client, make_user, make_connection):
    owner = await make_user(workspace=True)
    user = await make_user(parent=owner)
    pid = await make_connection(user, account_id="1")
    telegram = await make_connection(user, "telegram", "-100123")
    r = await client.post(
        "/api/v1/create-post", headers=user.headers, json={"content": "seed", "platforms": [pid, telegram]}
    )
    assert r.status_code == 200, r.text
    return {
        "headers": user.headers,
        "owner": owner,
        "user": user,
        "pids": [pid, telegram],
        "group": r.json()["postGroupId"],
    }


def headers_strategy(world: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    extra = st.fixed_dictionaries(
        {},
        optional={
            "x-postpost-user-id": st.one_of(header_values, st.just(world["user"].id)),
            "x-postpost-client": st.one_of(header_values, st.just("mcp")),
        },
    )
    own = st.just(world["headers"])
    as_owner = st.just({**world["owner"].headers, "x-postpost-user-id": world["user"].id})
    return st.tuples(st.one_of(own, own, as_owner), extra).map(lambda pair: {**pair[0], **pair[1]})


def create_bodies(world: dict[str, Any]) -> st.SearchStrategy[Any]:
    pids = st.sampled_from(world["pids"])
    platforms = st.one_of(
        st.lists(st.one_of(pids, st.text(max_size=20), json_values), max_size=4),
        st.lists(pids, min_size=1, max_size=3),
        st.lists(pids, min_size=1, max_size=3).map(json.dumps),
        json_values,
    )
    settings_values = st.one_of(
        json_values,
        st.dictionaries(
            st.sampled_from(["tiktok", "instagram", "youtube", "threads", "x"]), json_values, max_size=4
        ),
        json_values.map(json.dumps),
    )
    shaped = st.fixed_dictionaries(
        {},
        optional={
            "content": st.one_of(st.text(max_size=40), json_values),
            "platforms": platforms,
            "scheduledTime": st.one_of(time_like, json_values),
            "platformSettings": settings_values,
        },
    )
    return st.one_of(json_values, shaped, shaped)


def update_bodies() -> st.SearchStrategy[Any]:
    shaped = st.fixed_dictionaries(
        {},
        optional={
            "status": st.one_of(st.sampled_from(["draft", "scheduled", "", "published"]), json_values),
            "scheduledTime": st.one_of(time_like, json_values),
        },
    )
    return st.one_of(json_values, shaped, shaped)


async def run(given_test: Callable[[], None]) -> None:
    await asyncio.to_thread(given_test)


# --- per route --------------------------------------------------------------------------------------------


async def test_fuzz_create_post(client, world):
    drive = Driver(asyncio.get_running_loop())

    @SETTINGS
    @given(
        body=st.one_of(create_bodies(world).map(lambda b: ("json", b)), raw_bodies.map(lambda b: ("raw", b))),
        headers=headers_strategy(world),
        params=query_params,
    )
    def prop(body: tuple[str, Any], headers: dict[str, str], params: dict[str, str]) -> None:
        kind, value = body
        kwargs = {"json": value} if kind == "json" else {"content": value}
        drive(client.post("/api/v1/create-post", headers=headers, params=params, **kwargs))

    await run(prop)


async def test_fuzz_update_post(client, world):
    drive = Driver(asyncio.get_running_loop())
    group = world["group"]

    @SETTINGS
    @given(
        body=st.one_of(update_bodies().map(lambda b: ("json", b)), raw_bodies.map(lambda b: ("raw", b))),
        group_id=st.one_of(st.just(group), st.just(group.upper()), path_ids),
        encode=encodings,
        headers=headers_strategy(world),
        params=query_params,
    )
    def prop(
        body: tuple[str, Any],
        group_id: str,
        encode: Callable[[str], str],
        headers: dict[str, str],
        params: dict[str, str],
    ) -> None:
        kind, value = body
        kwargs = {"json": value} if kind == "json" else {"content": value}
        drive(client.put(f"/api/v1/update-post/{encode(group_id)}", headers=headers, params=params, **kwargs))

    await run(prop)


async def test_fuzz_get_post(client, world):
    drive = Driver(asyncio.get_running_loop())

    @SETTINGS
    @given(
        group_id=st.one_of(st.just(world["group"]), path_ids),
        encode=encodings,
        headers=headers_strategy(world),
        params=query_params,
    )
    def prop(
        group_id: str, encode: Callable[[str], str], headers: dict[str, str], params: dict[str, str]
    ) -> None:
        drive(client.get(f"/api/v1/get-post/{encode(group_id)}", headers=headers, params=params))

    await run(prop)


async def test_fuzz_delete_post(client, world):
    drive = Driver(asyncio.get_running_loop())

    @SETTINGS
    @given(
        group_id=path_ids,
        encode=encodings,
        headers=headers_strategy(world),
        params=query_params,
        body=raw_bodies,
    )
    def prop(
        group_id: str,
        encode: Callable[[str], str],
        headers: dict[str, str],
        params: dict[str, str],
        body: bytes,
    ) -> None:
        drive(
            client.request(
                "DELETE",
                f"/api/v1/delete-post/{encode(group_id)}",
                headers=headers,
                params=params,
                content=body,
            )
        )

    await run(prop)
    # Random ids never hit the seeded group.
    r = await client.get(f"/api/v1/get-post/{world['group']}", headers=world["headers"])
    assert r.status_code == 200


async def test_fuzz_list_posts(client, world):
    drive = Driver(asyncio.get_running_loop())

    @SETTINGS
    @given(params=st.one_of(list_params, query_params), raw=raw_queries, headers=headers_strategy(world))
    def prop(params: dict[str, str], raw: str, headers: dict[str, str]) -> None:
        drive(client.get("/api/v1/list-posts", headers=headers, params=params))
        drive(client.get(f"/api/v1/list-posts?{raw}", headers=headers))

    await run(prop)


async def test_fuzz_platform_connections(client, world):
    drive = Driver(asyncio.get_running_loop())

    @SETTINGS
    @given(params=query_params, raw=raw_queries, headers=headers_strategy(world))
    def prop(params: dict[str, str], raw: str, headers: dict[str, str]) -> None:
        drive(client.get("/api/v1/platform-connections", headers=headers, params=params))
        drive(client.get(f"/api/v1/platform-connections?{raw}", headers=headers))

    await run(prop)


async def test_fuzz_unknown_paths_and_methods(client, world):
    drive = Driver(asyncio.get_running_loop())

    @SETTINGS
    @given(path=path_ids, encode=encodings, method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]))
    def prop(path: str, encode: Callable[[str], str], method: str) -> None:
        drive(client.request(method, f"/api/v1/{encode(path)}", headers=world["headers"]))

    await run(prop)


@pytest.mark.parametrize("route", ["list-posts", "platform-connections"])
async def test_raw_queries(client, world, route):
    """The explicit nasty query strings, each tried once (e.g. `platform=%00`: NUL is not storable text)."""
    for query in RAW_QUERIES:
        check(await client.get(f"/api/v1/{route}?{query}", headers=world["headers"]))


async def test_raw_bodies_on_every_body_route(client, world):
    """The explicit nasty bodies, each tried once against create-post and update-post."""
    for body in RAW_BODIES:
        check(await client.post("/api/v1/create-post", headers=world["headers"], content=body))
        check(
            await client.put(f"/api/v1/update-post/{world['group']}", headers=world["headers"], content=body)
        )
