"""Connecting accounts from a connect page: OAuth 2 flows, choices of pages, sign-in forms.

Every step starts from a connect link (`/connect/<token>`, see connect_links.py): an unknown link
is NotFound, an expired one Gone. An OAuth flow stores its `state` (single use, expiring, bound to
the link) and sends the browser to the platform; the callback takes the state, trades the code
for tokens (and, where the platform wants it, a short-lived token for a long-lived one), reads
the profile and stores the connection, or, for pages the account manages (LinkedIn
organisations, Facebook Pages), keeps the tokens until the person chooses. With `sandbox` the same
exchange runs against the simulator's OAuth endpoints, which approve at once. Platform calls
never happen inside a database transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postpost.config import Settings
from postpost.db.models import User
from postpost.db.session import Database
from postpost.errors import Forbidden, Gone, InvalidInput, NotFound, PostpostError
from postpost.ids import iso, utcnow
from postpost.outbound import public_session, public_url
from postpost.platforms import oauth
from postpost.platforms.base import Credentials, PlatformAdapter, PlatformError, Profile, Secrets
from postpost.platforms.descriptor import CredentialKind, OAuthFlow
from postpost.platforms.registry import Adapters, adapter_classes
from postpost.security import SecretBox
from postpost.services import oauth_states
from postpost.services.connect_links import LinkSigner
from postpost.services.connect_page import ConnectPage, connect_page
from postpost.services.connect_store import Connected, save_connected
from postpost.services.connections import Removal, remove_connection
from postpost.services.instance_apps import instance_app

CALLBACK_PATH = "/oauth/callback/"
SANDBOX_APP = oauth.OAuthApp("postpost-sandbox", "sandbox")
SANDBOX_INSTANCE = "sandbox"
BACK_DASHBOARD = "dashboard"  # a flow started on the dashboard's channels page returns there


class FlowFailed(Exception):
    """A flow failed after the callback named its connect link: `error`, and the link `token`."""

    def __init__(self, error: PostpostError | PlatformError, token: str) -> None:
        super().__init__(error.message)
        self.error = error
        self.token = token


@dataclass(frozen=True)
class Completed:
    """Accounts connected through the link `token`; `back` is where the flow started (BACK_*)."""

    token: str
    platform_ids: list[str]
    back: str = ""


@dataclass(frozen=True)
class Choice:
    """Pages the person may connect; the tokens wait under `key` until they choose."""

    token: str
    platform: str
    title: str
    key: str
    pages: list[Profile]


class ConnectFlows:
    """The connect page's use cases, for one server."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        box: SecretBox,
        adapters: Adapters,
        links: LinkSigner,
        sandbox_url: str | None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.box = box
        self.adapters = adapters
        self.links = links
        self.sandbox_url = sandbox_url

    # ----- the page ------------------------------------------------------------------------

    async def page(self, token: str) -> ConnectPage:
        async with self.database.session() as session:
            user = await self._user(session, token)
            return await connect_page(
                session, self.settings, user, token, sandbox=self.sandbox_url is not None
            )

    async def disconnect(self, token: str, platform_id: str) -> Removal:
        """Remove one of the link owner's connections (another user's is not found)."""
        async with self.database.session() as session:
            user = await self._user(session, token)
            return await remove_connection(session, user.id, platform_id)

    # ----- OAuth ---------------------------------------------------------------------------

    async def begin(
        self,
        token: str,
        platform: str,
        *,
        sandbox: bool = False,
        pages: bool = False,
        instance: str = "",
        back: str = "",
    ) -> str:
        """The authorization URL to send the browser to, with a fresh state (and PKCE challenge);
        `back` is handed to the completed flow."""
        async with self.database.session() as session:
            user = await self._user(session, token)
        adapter, flow = self._oauth_platform(platform)
        pages = pages or flow.pages_only
        if pages and not (flow.pages_scopes or flow.pages_only):
            raise InvalidInput(f"{adapter.descriptor.title} has no pages to choose from")
        if sandbox or instance.strip().lower() == SANDBOX_INSTANCE:
            origin, sandbox = self._sandbox_origin(platform), True
        elif flow.per_instance:
            origin = public_url(instance, allow_private=self.settings.allow_private_instances)
        else:
            origin = None
        endpoints = self._endpoints(adapter, origin)
        async with self._adapter_for(adapter, origin, sandbox) as calling:
            app = await self._app(calling, flow, endpoints, sandbox)
        verifier = oauth.new_verifier() if flow.pkce else None
        scopes = list(flow.scopes + (flow.pages_scopes if pages else ()))
        payload = {
            "token": token,
            "verifier": verifier,
            "sandbox": sandbox,
            "pages": pages,
            "origin": origin,
            "app": [app.client_id, app.client_secret],
            "scopes": scopes,
            "back": back,
        }
        async with self.database.session() as session:
            state = await oauth_states.put_state(
                session,
                self.box,
                kind=oauth_states.AUTHORIZE,
                user_id=user.id,
                platform=platform,
                payload=payload,
            )
            await session.commit()
        return oauth.authorize_url(
            flow,
            endpoints,
            app,
            redirect_uri=self.callback_url(platform),
            state=state,
            scopes=scopes,
            verifier=verifier,
        )

    async def complete(self, platform: str, query: Mapping[str, str]) -> Completed | Choice:
        """The callback: check the state, trade the code, store the account (or offer its pages).

        Failures once the link is known are raised as `FlowFailed`, naming the link to go back to.
        """
        taken = await self._take(query.get("state", ""), oauth_states.AUTHORIZE)
        if taken.platform != platform:
            raise InvalidInput(oauth_states.INVALID)
        token = str(taken.payload["token"])
        user = await self._owner_of(token, taken.user_id)
        try:
            return await self._finish(user, token, platform, query, taken.payload)
        except (PostpostError, PlatformError) as exc:
            raise FlowFailed(exc, token) from exc

    async def _finish(
        self, user: User, token: str, platform: str, query: Mapping[str, str], payload: dict[str, Any]
    ) -> Completed | Choice:
        adapter, flow = self._oauth_platform(platform)
        title = adapter.descriptor.title
        if query.get("error"):
            detail = query.get("error_description") or query["error"]
            if query["error"] == "access_denied":
                raise Forbidden(
                    f"You did not allow postpost to use your {title} account ({detail}): "
                    "nothing was connected."
                )
            raise InvalidInput(f"{title} did not authorize the connection: {detail}")
        if not query.get("code"):
            raise InvalidInput(f"{title} sent no authorization code back")
        origin, sandbox = payload.get("origin"), bool(payload.get("sandbox"))
        endpoints = self._endpoints(adapter, origin)
        client_id, client_secret = payload["app"]
        app = oauth.OAuthApp(client_id, client_secret)
        async with self._adapter_for(adapter, origin, sandbox) as calling:
            answer = await oauth.exchange_code(
                calling.http,
                calling.timeout,
                flow,
                endpoints,
                app,
                code=query["code"],
                redirect_uri=self.callback_url(platform),
                verifier=payload.get("verifier"),
                platform=title,
            )
            answer = await oauth.exchange_long_lived(
                calling.http, calling.timeout, flow, endpoints, app, answer, platform=title
            )
            creds = oauth.credentials_from_token(
                flow, answer, endpoints, now=utcnow(), requested_scopes=payload["scopes"]
            )
            if sandbox:  # sandbox tokens are refreshed with the sandbox's client, not this server's app
                creds = dataclasses.replace(
                    creds,
                    secrets=creds.secrets.merged(
                        **{flow.client_id_param: app.client_id, "client_secret": app.client_secret}
                    ),
                )
            if payload.get("pages"):
                return await self._offer_pages(user, platform, title, token, creds, payload, calling)
            profile = await calling.read_profile(creds)
        base_url = None if sandbox else origin
        connected = [Connected(platform, profile, creds, sandbox, base_url)]
        return await self._save(user, token, connected, back=str(payload.get("back") or ""))

    async def choose(self, token: str, platform: str, key: str, selected: Sequence[str]) -> Completed:
        """Connect the pages chosen among those offered under `key`."""
        if not selected:
            raise InvalidInput("Choose at least one page to connect")
        taken = await self._take(key, oauth_states.CHOOSE)
        payload = taken.payload
        if payload.get("token") != token or taken.platform != platform:
            raise InvalidInput(oauth_states.INVALID)
        user = await self._owner_of(token, taken.user_id)
        creds = _credentials_from_json(payload["creds"])
        if self._oauth_platform(platform)[1].page_tokens:  # each page connects with its own token alone
            creds = dataclasses.replace(creds, secrets=Secrets(), expires_at=None)
        offered = {page["account_id"]: Profile(**page) for page in payload["pages"]}
        chosen = [offered[account] for account in selected if account in offered]
        if not chosen:
            raise InvalidInput("None of the chosen pages was offered")
        sandbox = bool(payload.get("sandbox"))
        base_url = None if sandbox else payload.get("origin")
        accounts = [Connected(taken.platform, page, creds, sandbox, base_url) for page in chosen]
        return await self._save(user, token, accounts, back=str(payload.get("back") or ""))

    # ----- sign-in forms -------------------------------------------------------------------

    async def sign_in(
        self, token: str, platform: str, identifier: str, password: str, *, sandbox: bool = False
    ) -> Completed:
        """An account that signs in with an identifier and an (app) password: Bluesky."""
        identifier, password = identifier.strip(), password.strip()
        if not identifier or not password or len(identifier) > 253 or len(password) > 200:
            raise InvalidInput("Enter your handle (or DID) and an app password")
        async with self.database.session() as session:
            user = await self._user(session, token)
        adapter = self._adapter(platform, CredentialKind.APP_PASSWORD)
        endpoints = self._endpoints(adapter, self._sandbox_origin(platform) if sandbox else None)
        creds = Credentials(
            account_id=identifier,
            endpoints=endpoints,
            secrets=Secrets({"identifier": identifier, "app_password": password}),
            username=identifier,
        )
        session_creds = await adapter.refresh(creds)  # a new session: the password is checked
        profile = await adapter.read_profile(session_creds)
        return await self._save(user, token, [Connected(platform, profile, session_creds, sandbox)])

    async def add_bot(
        self, token: str, platform: str, bot_token: str, chat: str, *, sandbox: bool = False
    ) -> Completed:
        """A bot posting to a chat: Telegram. The bot must be an administrator that may post."""
        bot_token, chat = bot_token.strip(), chat.strip()
        if (
            not bot_token
            or not chat
            or any(c.isspace() for c in bot_token + chat)
            or len(bot_token + chat) > 300
        ):
            raise InvalidInput("Enter the bot token and the channel (@name or numeric id)")
        async with self.database.session() as session:
            user = await self._user(session, token)
        adapter = self._adapter(platform, CredentialKind.BOT_TOKEN)
        endpoints = self._endpoints(adapter, self._sandbox_origin(platform) if sandbox else None)
        creds = Credentials(account_id=chat, endpoints=endpoints, secrets=Secrets({"bot_token": bot_token}))
        profile = await adapter.read_profile(creds)
        creds = dataclasses.replace(creds, account_id=profile.account_id)
        check = await adapter.check_connection(creds)
        if not check.ok:
            raise InvalidInput(check.message)
        return await self._save(user, token, [Connected(platform, profile, creds, sandbox)])

    # ----- helpers -------------------------------------------------------------------------

    def callback_url(self, platform: str) -> str:
        """The redirect URI registered with each platform's app."""
        return f"{self.settings.base_url()}{CALLBACK_PATH}{platform}"

    async def _user(self, session: AsyncSession, token: str) -> User:
        user = await self.links.owner(session, token)
        if user is None:
            raise NotFound("This connect link is not valid: ask for a new one.")
        expires = user.connect_expires_at
        if expires is None or expires <= utcnow():
            raise Gone(f"This connect link expired at {iso(expires)}: ask for a new one.")
        return user

    async def _owner_of(self, token: str, user_id: str) -> User:
        """The user of `token`, which must still be the user the flow began for."""
        async with self.database.session() as session:
            user = await self._user(session, token)
        if user.id != user_id:
            raise InvalidInput(oauth_states.INVALID)
        return user

    async def _take(self, value: str, kind: str) -> oauth_states.FlowState:
        async with self.database.session() as session:
            try:
                return await oauth_states.take_state(session, self.box, value, kind=kind)
            finally:
                await session.commit()  # a state is spent even when it turns out expired

    async def _save(self, user: User, token: str, accounts: list[Connected], *, back: str = "") -> Completed:
        async with self.database.session() as session:
            return Completed(token, await save_connected(session, self.box, user, accounts), back)

    def _adapter(self, platform: str, kind: CredentialKind) -> PlatformAdapter:
        adapter = self.adapters.get(platform)
        if adapter is None or adapter.descriptor.credential is not kind:
            raise NotFound(f"Unknown platform: {platform}")
        return adapter

    def _oauth_platform(self, platform: str) -> tuple[PlatformAdapter, OAuthFlow]:
        adapter = self.adapters.get(platform)
        if adapter is None or adapter.descriptor.oauth is None:
            raise NotFound(f"Unknown platform: {platform}")
        return adapter, adapter.descriptor.oauth

    def _sandbox_origin(self, platform: str) -> str:
        if self.sandbox_url is None:
            raise NotFound("The sandbox is turned off on this server")
        return f"{self.sandbox_url.rstrip('/')}/{platform}"

    @staticmethod
    def _endpoints(adapter: PlatformAdapter, origin: str | None) -> dict[str, str]:
        """The platform's origins by role; every role at `origin` for the sandbox or an instance."""
        roles = dict(adapter.descriptor.endpoints)
        return {role: origin for role in roles} if origin else roles

    async def _app(
        self, adapter: PlatformAdapter, flow: OAuthFlow, endpoints: dict[str, str], sandbox: bool
    ) -> oauth.OAuthApp:
        if flow.per_instance:
            return await instance_app(
                self.database,
                self.box,
                adapter,
                endpoints["api"],
                redirect_uri=self.callback_url(adapter.descriptor.name),
                website=self.settings.base_url(),
            )
        if sandbox:
            return SANDBOX_APP
        configured = self.settings.platform_app(adapter.descriptor.name)
        if not configured.get("client_id") or not configured.get("client_secret"):
            name = adapter.descriptor.name.upper()
            raise InvalidInput(
                f"{adapter.descriptor.title} is not configured on this server "
                f"(POSTPOST_{name}_CLIENT_ID and POSTPOST_{name}_CLIENT_SECRET)"
            )
        return oauth.OAuthApp(configured["client_id"], configured["client_secret"])

    @asynccontextmanager
    async def _adapter_for(
        self, adapter: PlatformAdapter, origin: str | None, sandbox: bool
    ) -> AsyncIterator[PlatformAdapter]:
        """`adapter`, or for an instance a person named, one that reaches public addresses only."""
        if origin is None or sandbox or self.settings.allow_private_instances:
            yield adapter
            return
        async with public_session() as http:
            yield adapter_classes()[adapter.descriptor.name](
                http, timeout=self.settings.platform_timeout_seconds
            )

    async def _offer_pages(
        self,
        user: User,
        platform: str,
        title: str,
        token: str,
        creds: Credentials,
        payload: dict[str, Any],
        adapter: PlatformAdapter,
    ) -> Choice:
        pages = await adapter.managed_pages(creds)
        if not pages:
            raise InvalidInput(f"This {title} account manages no pages that postpost could publish to")
        kept = {
            "token": token,
            "sandbox": payload.get("sandbox"),
            "origin": payload.get("origin"),
            "creds": _credentials_json(creds),
            "pages": [dataclasses.asdict(page) for page in pages],
            "back": payload.get("back"),
        }
        async with self.database.session() as session:
            key = await oauth_states.put_state(
                session, self.box, kind=oauth_states.CHOOSE, user_id=user.id, platform=platform, payload=kept
            )
            await session.commit()
        return Choice(token, platform, title, key, pages)


def _credentials_json(creds: Credentials) -> dict[str, Any]:
    return {
        "account_id": creds.account_id,
        "endpoints": dict(creds.endpoints),
        "secrets": dict(creds.secrets),
        "expires_at": creds.expires_at.isoformat() if creds.expires_at else None,
        "scopes": list(creds.scopes),
    }


def _credentials_from_json(data: dict[str, Any]) -> Credentials:
    expires = data.get("expires_at")
    return Credentials(
        account_id=str(data["account_id"]),
        endpoints=dict(data["endpoints"]),
        secrets=Secrets(data["secrets"]),
        expires_at=datetime.fromisoformat(expires) if expires else None,
        scopes=tuple(data["scopes"]),
    )
