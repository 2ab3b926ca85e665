"""Meta's token steps of the connect flow (platforms/oauth.py) against the simulator over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from postpost.platforms import oauth
from postpost.platforms.base import ErrorCode, PlatformError
from postpost.platforms.descriptor import OAuthFlow
from postpost.platforms.facebook import DESCRIPTOR as FACEBOOK
from postpost.platforms.instagram import DESCRIPTOR as INSTAGRAM
from postpost.platforms.threads import DESCRIPTOR as THREADS
from tests.conftest import ServerThread

TIMEOUT = aiohttp.ClientTimeout(total=5)
APP = oauth.OAuthApp("app", "sec")


def flow_of(descriptor: object) -> OAuthFlow:
    flow = getattr(descriptor, "oauth", None)
    assert isinstance(flow, OAuthFlow)
    return flow


@pytest.mark.parametrize(
    ("descriptor", "name"), [(FACEBOOK, "facebook"), (INSTAGRAM, "instagram"), (THREADS, "threads")]
)
async def test_long_lived_exchange_keeps_the_first_answers_account(
    http: aiohttp.ClientSession, simulator_url: str, descriptor: object, name: str
) -> None:
    endpoints = {"api": f"{simulator_url}/{name}"}
    short = {"access_token": "sandbox.1234567.short", "user_id": 1234567, "expires_in": 3600}
    answer = await oauth.exchange_long_lived(
        http, TIMEOUT, flow_of(descriptor), endpoints, APP, short, platform=name
    )
    assert answer["user_id"] == 1234567 and answer["expires_in"] == 60 * 86400
    assert (
        answer["access_token"].startswith("sandbox.1234567.")
        and answer["access_token"] != short["access_token"]
    )


@pytest.mark.parametrize(("descriptor", "title"), [(FACEBOOK, "Facebook"), (THREADS, "Threads")])
async def test_refused_long_lived_exchange_says_why(
    http: aiohttp.ClientSession, simulator_url: str, descriptor: object, title: str
) -> None:
    endpoints = {"api": f"{simulator_url}/{title.lower()}"}
    with pytest.raises(PlatformError) as info:
        await oauth.exchange_long_lived(
            http, TIMEOUT, flow_of(descriptor), endpoints, APP, {"access_token": "junk"}, platform=title
        )
    assert info.value.code is ErrorCode.UNKNOWN_ERROR and info.value.status == 400
    assert info.value.message == (
        f"{title} did not give a long-lived token (HTTP 400): "
        "Invalid OAuth access token - Cannot parse access token"
    )


async def test_a_flow_without_an_exchange_keeps_its_answer(http: aiohttp.ClientSession) -> None:
    flow = OAuthFlow(authorize=("auth", "/a"), token=("auth", "/t"), scopes=("s",))
    answer = {"access_token": "t", "expires_in": 10}
    assert await oauth.exchange_long_lived(http, TIMEOUT, flow, {}, APP, answer, platform="X") == answer


@pytest.fixture(scope="module")
def wrapped_token_server() -> Iterator[str]:
    """A token endpoint answering as Instagram Login's reference shows it: ``{"data": [{…}]}``."""

    async def token(request: Request) -> JSONResponse:
        form = await request.form()
        entry = {"access_token": f"short-for-{form['code']}", "user_id": "42", "permissions": "a,b"}
        return JSONResponse({"data": [entry]})

    with ServerThread(Starlette(routes=[Route("/oauth/access_token", token, methods=["POST"])])) as url:
        yield url


async def test_a_token_answer_wrapped_in_data_is_unwrapped(
    http: aiohttp.ClientSession, wrapped_token_server: str
) -> None:
    answer = await oauth.exchange_code(
        http,
        TIMEOUT,
        flow_of(INSTAGRAM),
        {"token": wrapped_token_server, "api": wrapped_token_server},
        APP,
        code="c1",
        redirect_uri="https://example.com/cb",
        verifier=None,
        platform="Instagram",
    )
    assert answer == {"access_token": "short-for-c1", "user_id": "42", "permissions": "a,b"}
