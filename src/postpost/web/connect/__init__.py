"""The connect pages: where a person connects and disconnects their social accounts."""

from postpost.web.connect.routes import connect_router

__all__ = ["connect_router"]
