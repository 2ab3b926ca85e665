"""`preview_split`: how content would be counted and split on each platform, creating nothing.

The same rules as create-post (`services.content_rules.check_text`, from the platform
descriptors) and the same splitter as the publishing worker, at each platform's default limit.
"""

from __future__ import annotations

from typing import Any

from postpost.errors import InvalidInput
from postpost.platforms.descriptor import PlatformDescriptor
from postpost.platforms.registry import descriptors
from postpost.services.connections import split_platform_id
from postpost.services.content_rules import check_text


def preview_split(content: str, targets: list[str]) -> dict[str, Any]:
    """One entry per target (a platform name or a platformId), in the order given."""
    if not content.strip():
        raise InvalidInput("Content is required")
    if not targets:
        raise InvalidInput("At least one platform is required")
    known = descriptors()
    entries = []
    for target in dict.fromkeys(targets):
        name = split_platform_id(target)[0].strip().lower()
        platform = known.get(name)
        if platform is None:
            entries.append(
                {"target": target, "platform": name, "ok": False, "error": f"Unknown platform: {name}"}
            )
            continue
        entries.append({"target": target, **_entry(content, platform)})
    return {"success": True, "platforms": entries}


def _entry(content: str, platform: PlatformDescriptor) -> dict[str, Any]:
    rules = platform.text
    counter = rules.counter
    entry: dict[str, Any] = {
        "platform": platform.name,
        "title": platform.title,
        "limit": rules.limit,
        "counting": (type(counter).__doc__ or "").strip().splitlines()[0],
        "splitsIntoThread": rules.threads,
        "length": counter.count(content),
    }
    if rules.caption_limit is not None:
        entry["captionLimit"] = rules.caption_limit
    try:
        parts = check_text(content, platform)
    except InvalidInput as exc:
        return {**entry, "ok": False, "error": exc.message}
    entry["ok"] = True
    entry["parts"] = [{"text": part, "length": counter.count(part)} for part in parts]
    return entry
