"""The shape of one fake platform: its routes, its own store, and faults in its wire format.

A fake lives in ``simulator/<platform>.py`` and exposes ``FAKE`` (a `Fake` subclass); the app
mounts it at ``/<platform>``. Adding a platform to the simulator is adding that one module.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import anyio
from starlette.responses import Response
from starlette.routing import BaseRoute

from postpost.simulator.faults import PRE_COMMIT
from postpost.simulator.world import World


class Fake(abc.ABC):
    """One platform's API, as the outside world would answer it."""

    name: ClassVar[str]

    def __init__(self, world: World, **options: Any) -> None:
        self.world = world

    @abc.abstractmethod
    def routes(self) -> list[BaseRoute]:
        """Routes relative to the platform's mount point."""

    def control_routes(self) -> list[BaseRoute]:
        """This fake's own test controls, mounted at ``/_control/<platform>`` (none by default)."""
        return []

    @abc.abstractmethod
    def fault_response(self, fault: str) -> Response:
        """A canonical fault kind rendered as this platform answers it."""

    @abc.abstractmethod
    def forget(self, account: str | None = None) -> None:
        """Drop the platform's own store: everything, or one account's (ids stay unique)."""

    def account_key(self, account: str) -> str:
        """How the control API's account reference maps to this fake's account key."""
        return account

    @staticmethod
    def rejects(fault: str | None) -> bool:
        """True for faults answered instead of storing anything."""
        return fault is not None and fault in PRE_COMMIT

    async def finish(self, fault: str | None, response: Response) -> Response:
        """The answer to a call that stored its post, with any post-commit fault played."""
        if fault == "timeout-after-commit":
            await anyio.sleep(self.world.stall_seconds)
        elif fault == "slow":
            await anyio.sleep(self.world.slow_seconds)
        elif fault == "server-error-after-commit":
            return self.fault_response(fault)
        return response
