"""Fakes of the social platforms' HTTP APIs, for sandbox mode and tests.

This package stands in for the outside world: it imports nothing from the
rest of ``postpost``.
"""

from postpost.simulator.app import create_simulator_app

__all__ = ["create_simulator_app"]
