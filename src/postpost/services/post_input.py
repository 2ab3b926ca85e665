"""Validation of create-post bodies, with the contract's exact error strings."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from postpost.errors import InvalidInput
from postpost.services.timefmt import parse_scheduled_time

PLATFORM_ID = re.compile(r"^[a-z]+-[A-Za-z0-9_.:-]+$")


@dataclass(frozen=True)
class NewPost:
    """A validated create-post request (settings still as the client sent them)."""

    content: str
    platform_ids: list[str]
    scheduled_time: datetime | None
    platform_settings: dict[str, Any]
    alt_texts: list[str | None] | None


def parse_create_post(body: Any) -> NewPost:
    """Validate a create-post body in the documented order, raising InvalidInput."""
    if not isinstance(body, dict):
        body = {}
    content = body.get("content")
    if not isinstance(content, str) or not content.strip():
        raise InvalidInput("Content is required")
    platform_ids = _platforms(body.get("platforms"))
    raw_time = body.get("scheduledTime")
    scheduled_time = None
    if raw_time not in (None, ""):
        scheduled_time = parse_scheduled_time(raw_time)
        if scheduled_time is None:
            raise InvalidInput("Invalid scheduled time format")
    settings = _settings(body.get("platformSettings"))
    return NewPost(content, platform_ids, scheduled_time, settings, parse_alt_texts(body.get("altTexts")))


def parse_alt_texts(value: Any) -> list[str | None] | None:
    """`altTexts`: a list (positional to the group's media, upload order) of strings or nulls."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidInput("altTexts must be an array of strings") from None
    if not isinstance(value, list) or not all(v is None or isinstance(v, str) for v in value):
        raise InvalidInput("altTexts must be an array of strings")
    return [v if v is None or v.strip() else None for v in value]


def _platforms(value: Any) -> list[str]:
    if value is None:
        raise InvalidInput("Platforms are required")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidInput("Invalid platforms JSON format") from None
    if not isinstance(value, list):
        raise InvalidInput("Platforms must be an array")
    if not value:
        raise InvalidInput("At least one platform is required")
    for item in value:
        if not isinstance(item, str) or not PLATFORM_ID.match(item):
            shown = item if isinstance(item, str) else json.dumps(item)
            raise InvalidInput(f"Invalid platform ID format: {shown}")
    return list(dict.fromkeys(value))


def _settings(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidInput("Invalid platformSettings JSON") from None
        if not isinstance(value, dict):
            raise InvalidInput("platformSettings must be an object")
    elif value is not None and not isinstance(value, dict):
        raise InvalidInput("platformSettings must be an object")
    return dict(value or {})
