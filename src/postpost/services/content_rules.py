"""What each targeted platform accepts, checked before a post is stored or scheduled.

The rules come from the platform descriptors. Text: a platform that threads splits long text
into at most 25 posts; one that does not refuses text over its limit. Settings: values outside
a field's allowed set are refused, naming the field. Alt texts: not longer than a platform's
limit. Work is bounded: counting stops as soon as a limit is passed, so a 1 MB body costs little.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from postpost.errors import InvalidInput
from postpost.platforms.descriptor import PlatformDescriptor
from postpost.platforms.splitting import split_into_parts

MAX_PARTS = 25
_HASHTAG = re.compile(r"(?:^|(?<=\s))#\w+")


def check_text(content: str, platform: PlatformDescriptor) -> list[str]:
    """The parts `content` becomes on `platform`; InvalidInput when the platform cannot take it."""
    rules = platform.text
    bound = MAX_PARTS * rules.limit
    length = rules.counter.count(content, stop_above=bound)
    shown = f"more than {bound}" if length > bound else str(length)
    if rules.max_hashtags is not None:
        tags = len(_HASHTAG.findall(content))
        if tags > rules.max_hashtags:
            raise InvalidInput(
                f"Content has {tags} hashtags; {platform.title} allows at most {rules.max_hashtags}"
            )
    if not rules.threads:
        if length > rules.limit:
            raise InvalidInput(
                f"Content is too long for {platform.title}: {shown} characters, the limit is "
                f"{rules.limit} ({platform.title} does not split long posts into a thread)"
            )
        _check_bytes(content, platform)
        return [content]
    if length > bound:
        raise InvalidInput(
            f"Content is too long for {platform.title}: it would be split into more than "
            f"{MAX_PARTS} posts (at most {MAX_PARTS} are allowed)"
        )
    parts = split_into_parts(content, rules.limit, rules.counter)
    if len(parts) > MAX_PARTS:
        raise InvalidInput(
            f"Content is too long for {platform.title}: it would be split into {len(parts)} posts "
            f"(at most {MAX_PARTS} are allowed)"
        )
    for part in parts:
        _check_bytes(part, platform)
    return parts


def _check_bytes(text: str, platform: PlatformDescriptor) -> None:
    limit = platform.text.max_bytes
    if limit is not None and len(text.encode()) > limit:
        raise InvalidInput(f"A post on {platform.title} may hold at most {limit} bytes of text")


def merge_settings(
    given: Mapping[str, Any], platforms: Mapping[str, PlatformDescriptor], targeted: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Each platform's settings: defaults with the client's values laid over them.

    Only platforms with settings are kept. Values for targeted platforms are checked against
    the fields' allowed values and kinds.
    """
    targets = set(targeted)
    merged: dict[str, dict[str, Any]] = {}
    for name, platform in platforms.items():
        if not platform.settings:
            continue
        override = given.get(name)
        values = {**platform.default_settings, **(override if isinstance(override, dict) else {})}
        if name in targets:
            _check_settings(name, platform, values)
        merged[name] = values
    return merged


def _check_settings(name: str, platform: PlatformDescriptor, values: Mapping[str, Any]) -> None:
    for field, spec in platform.settings.items():
        value = values.get(field)
        where = f"platformSettings.{name}.{field}"
        if spec.kind is bool and not isinstance(value, bool):
            raise InvalidInput(f"Invalid {where}: must be true or false")
        if spec.kind is str and not isinstance(value, str):
            raise InvalidInput(f"Invalid {where}: must be a string")
        if spec.allowed is not None and value not in spec.allowed:
            choices = ", ".join(repr(v) if v == "" else str(v) for v in spec.allowed)
            raise InvalidInput(f"Invalid {where}: must be one of: {choices}")


def check_alt_texts(alt_texts: list[str | None], platforms: Iterable[PlatformDescriptor]) -> None:
    """Refuse alt text longer than any targeted platform that supports alt text allows."""
    for platform in platforms:
        limit = platform.media.alt_text_max
        if limit is None:
            continue
        for position, text in enumerate(alt_texts, start=1):
            if text is not None and len(text) > limit:
                raise InvalidInput(
                    f"Alt text {position} is too long for {platform.title}: {len(text)} characters, "
                    f"the limit is {limit}"
                )
