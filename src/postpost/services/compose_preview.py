"""The composer's live preview: what create-post and the publishing engine will do with a post, per platform.

Nothing here is a rule of its own. Each platform's errors are create-post's answer for that
platform alone (`posts.check_new_post`, the same function create-post runs), followed by the
media rules checked when a post is scheduled (`media_rules.media_problem`); the parts come from
`content_rules.check_text`, whose splitter is the engine's; Telegram's caption cut is the
adapter's own `split_caption`; image conversions are `media.convert`'s decisions over the
descriptor's `convert` map and pixel box. `errors` is what create-post answers for the whole post.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postpost.errors import InvalidInput, LimitExceeded
from postpost.media.convert import ConversionError, conversion_target, fit, needs_conversion
from postpost.media.formats import normalize_mime
from postpost.media.types import StoredMedia
from postpost.platforms import telegram
from postpost.platforms.descriptor import PlatformDescriptor
from postpost.platforms.registry import descriptors
from postpost.services import media as media_service
from postpost.services import posts
from postpost.services.auth import Principal
from postpost.services.connections import connections_by_compound_id, split_platform_id
from postpost.services.content_rules import MAX_PARTS, check_text, merge_settings
from postpost.services.media_rules import media_problem
from postpost.services.post_input import PLATFORM_ID, parse_create_post

MAX_FILES = 20  # media descriptions read from one preview request


@dataclass(frozen=True)
class MediaDescription:
    """A file about to be uploaded, as the browser describes it (sizes in bytes and pixels)."""

    type: str
    mime_type: str
    file_name: str = ""
    size: int | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None


@dataclass(frozen=True)
class Part:
    """One post as it will be published: a thread part, a caption, or the message after a caption."""

    text: str
    length: int
    limit: int
    label: str

    @property
    def over(self) -> bool:
        return self.length > self.limit


@dataclass(frozen=True)
class Conversion:
    """What happens to one image before it is sent to a platform."""

    position: int  # 1-based, upload order
    from_type: str
    to_type: str
    from_pixels: tuple[int, int] | None
    to_pixels: tuple[int, int] | None
    max_bytes: int | None  # re-encoded under this size, when the file is larger


@dataclass(frozen=True)
class PlatformPreview:
    """The preview for one targeted account."""

    platform_id: str
    platform: str
    title: str
    account: str
    limit: int
    counting: str
    threads: bool
    length: int
    parts: list[Part] = field(default_factory=list)
    conversions: list[Conversion] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def length_text(self) -> str:
        """The length as shown: counting stops past what any post could hold."""
        bound = MAX_PARTS * self.limit
        return f"more than {bound}" if self.length > bound else str(self.length)


@dataclass(frozen=True)
class Preview:
    """`errors`: create-post's answer for the post (first one first), then problems of the files."""

    errors: list[str]
    platforms: list[PlatformPreview]

    @property
    def ok(self) -> bool:
        return not self.errors and not any(p.errors for p in self.platforms)


def describe_media(raw: Any) -> list[MediaDescription]:
    """Media descriptions from a JSON list of {type, contentType, fileName, size, width, height, duration}."""
    items = raw if isinstance(raw, list) else []
    found: list[MediaDescription] = []
    for item in items[:MAX_FILES]:
        if not isinstance(item, Mapping):
            continue
        mime = item.get("contentType")
        kind = item.get("type")
        found.append(
            MediaDescription(
                type=kind if isinstance(kind, str) else "",
                mime_type=normalize_mime(mime) if isinstance(mime, str) else "",
                file_name=str(item.get("fileName") or "")[:200],
                size=_whole(item.get("size")),
                width=_whole(item.get("width")),
                height=_whole(item.get("height")),
                duration=_number(item.get("duration")),
            )
        )
    return found


def _number(value: Any) -> float | None:
    """A finite, non-negative JSON number, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf"):
        return None
    return float(value)


def _whole(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


async def preview(
    session: AsyncSession,
    principal: Principal,
    body: Mapping[str, Any],
    files: Sequence[MediaDescription],
    *,
    upload_ceiling: int,
) -> Preview:
    """The preview of a create-post `body` (content, platforms, platformSettings, altTexts) with `files`."""
    errors = [e for e in [_create_post_error(await _checked(session, principal, body))] if e]
    errors += _file_errors(files, media_service.upload_cap(principal, upload_ceiling))
    platform_ids = _platform_ids(body.get("platforms"))
    connections = await connections_by_compound_id(session, principal.user_id, platform_ids)
    body_ok = _parses(body)
    entries = []
    for platform_id in platform_ids:
        problems = []
        if body_ok:  # else the body's own error (above) is the only one create-post gives
            alone = await _checked(session, principal, {**body, "platforms": [platform_id]})
            problems += [e for e in [_create_post_error(alone)] if e]
        name, account_id = split_platform_id(platform_id)
        platform = descriptors().get(name)
        if platform is None:
            entries.append(PlatformPreview(platform_id, name, name, "", 0, "", False, 0, errors=problems))
            continue
        connection = connections.get(platform_id)
        account = (connection.username or connection.display_name) if connection else None
        entry = _platform_preview(body, files, platform, problems)
        entries.append(dataclasses.replace(entry, platform_id=platform_id, account=account or account_id))
    return Preview(errors, entries)


def _platform_preview(
    body: Mapping[str, Any],
    files: Sequence[MediaDescription],
    platform: PlatformDescriptor,
    problems: list[str],
) -> PlatformPreview:
    """One platform's parts, counts, conversions and media problem (added to `problems`)."""
    stored = _as_stored(files)
    problem = media_problem(stored, platform, _alt_texts(body)) if len(stored) == len(files) else None
    content = body.get("content")
    text = content if isinstance(content, str) else ""
    rules = platform.text
    settings = merge_settings(_settings(body), {platform.name: platform}, []).get(platform.name, {})
    return PlatformPreview(
        platform_id="",
        platform=platform.name,
        title=platform.title,
        account="",
        limit=rules.limit,
        counting=(type(rules.counter).__doc__ or "").strip().splitlines()[0],
        threads=rules.threads,
        length=rules.counter.count(text, stop_above=MAX_PARTS * rules.limit),
        parts=_parts(text, platform, settings, has_media=bool(files)) if text.strip() else [],
        conversions=_conversions(files, platform),
        errors=problems + ([problem] if problem else []),
    )


async def _checked(session: AsyncSession, principal: Principal, body: Mapping[str, Any]) -> Exception | None:
    try:
        await posts.check_new_post(session, principal, dict(body))
    except (InvalidInput, LimitExceeded) as exc:
        return exc
    return None


def _parses(body: Mapping[str, Any]) -> bool:
    try:
        parse_create_post(dict(body))
    except InvalidInput:
        return False
    return True


def _create_post_error(exc: Exception | None) -> str | None:
    """The sentence a person reads for create-post's refusal (a plan limit's `message`)."""
    if isinstance(exc, LimitExceeded):
        return str(exc.fields.get("message") or exc.message)
    if isinstance(exc, InvalidInput):
        return exc.message
    return None


def _platform_ids(value: Any) -> list[str]:
    """The well-formed platform ids of the body, once each (malformed ones are create-post's error)."""
    if not isinstance(value, list):
        return []
    return list(dict.fromkeys(v for v in value if isinstance(v, str) and PLATFORM_ID.match(v)))


def _alt_texts(body: Mapping[str, Any]) -> list[str | None]:
    value = body.get("altTexts")
    return [t if isinstance(t, str) else None for t in value] if isinstance(value, list) else []


def _settings(body: Mapping[str, Any]) -> Mapping[str, Any]:
    value = body.get("platformSettings")
    return value if isinstance(value, Mapping) else {}


def _parts(
    text: str, platform: PlatformDescriptor, settings: Mapping[str, Any], *, has_media: bool
) -> list[Part]:
    """The posts the engine publishes for `text` (none when create-post refuses the text)."""
    rules = platform.text
    try:
        texts = check_text(text, platform)
    except InvalidInput:
        return []
    if platform.name == telegram.DESCRIPTOR.name and has_media:
        caption_limit = rules.caption_limit or rules.limit
        caption, rest_from = telegram.split_caption(text, settings)
        parts = [Part(caption, rules.counter.count(caption), caption_limit, "Caption")]
        rest = text[rest_from:].strip()
        if rest:
            parts.append(Part(rest, rules.counter.count(rest), rules.limit, "Message after the media"))
        return parts
    total = len(texts)
    return [
        Part(part, rules.counter.count(part), rules.limit, f"Post {i} of {total}" if total > 1 else "Post")
        for i, part in enumerate(texts, start=1)
    ]


def _conversions(files: Sequence[MediaDescription], platform: PlatformDescriptor) -> list[Conversion]:
    """The images `platform` gets converted (videos are sent as they are)."""
    rules = platform.media
    found = []
    for position, item in enumerate(files, start=1):
        if item.type != "image" or not rules.max_images:
            continue
        width, height = item.width or 0, item.height or 0
        if not needs_conversion(item.mime_type, item.size or 0, width, height, rules):
            continue
        try:
            target = conversion_target(item.mime_type, rules)
        except ConversionError:
            continue
        pixels = (width, height) if width and height else None
        limit = rules.max_bytes(target)
        found.append(
            Conversion(
                position=position,
                from_type=item.mime_type,
                to_type=target,
                from_pixels=pixels,
                to_pixels=fit(pixels, rules.image_max_pixels) if pixels else None,
                max_bytes=limit if limit is not None and (item.size or 0) > limit else None,
            )
        )
    return found


def _file_errors(files: Sequence[MediaDescription], cap: int) -> list[str]:
    """get-upload-url's and the upload's refusals of each file, named by position."""
    errors = []
    for position, item in enumerate(files, start=1):
        try:
            media_service.resolve_media_type(item.mime_type, item.type)
        except InvalidInput as exc:
            errors.append(f"Media {position} ({item.file_name or item.mime_type}): {exc.message}")
            continue
        if item.size is not None and item.size > cap:
            errors.append(f"Media {position} ({item.file_name}): {media_service.too_large_message(cap)}")
    return errors


def _as_stored(files: Sequence[MediaDescription]) -> list[StoredMedia]:
    """The described files as the media rules read stored media (those of a usable type only)."""
    stored = []
    for position, item in enumerate(files, start=1):
        if item.type not in ("image", "video") or not item.mime_type.startswith(item.type + "/"):
            continue
        details = {"duration": item.duration} if item.duration is not None else {}
        stored.append(
            StoredMedia(
                id=f"preview-{position}",
                group_id="",
                user_id="",
                type=item.type,
                mime_type=item.mime_type,
                key="",
                url="",
                status="ready",
                size=item.size,
                width=item.width,
                height=item.height,
                details=details,
            )
        )
    return stored
