"""Whether a group's media suits every targeted platform (INVENTORY §4.5), before it is scheduled.

Checked when a group is scheduled (create-post with a time, update-post to scheduled) and again
at publish time, since a file can change in between; a draft may hold anything. Images are
converted at publish time (format, pixel box, byte limit) where the platform needs it, so their
byte size is not held against them here; videos are sent as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

from postpost.errors import InvalidInput
from postpost.media.types import StoredMedia
from postpost.platforms.descriptor import PlatformDescriptor


def media_problem(
    media: Sequence[StoredMedia], platform: PlatformDescriptor, alt_texts: Sequence[str | None] = ()
) -> str | None:
    """Why `platform` cannot publish this media with these alt texts (positional to `media`; None
    when it can), in a sentence naming the rule."""
    rules, title = platform.media, platform.title
    images = [m for m in media if m.type == "image"]
    videos = [m for m in media if m.type == "video"]
    if not media:
        if rules.needs_video:
            return f"{title} posts require a video"
        if rules.needs_media:
            return f"{title} posts require media"
        return None
    if rules.needs_video and not videos:
        return f"{title} posts require a video"
    if images and rules.max_images == 0:
        return f"{title} does not accept images"
    if videos and rules.max_videos == 0:
        return f"{title} does not accept videos"
    if len(images) > rules.max_images:
        return f"{title} accepts at most {rules.max_images} images per post (this one has {len(images)})"
    if len(videos) > rules.max_videos:
        return f"{title} accepts at most {rules.max_videos} video per post (this one has {len(videos)})"
    if images and videos and not rules.mix_images_and_videos:
        return f"{title} cannot mix images and videos in one post"
    if len(media) < rules.min_items:
        return f"{title} needs at least {rules.min_items} media items (this post has {len(media)})"
    for image in images:
        if image.mime_type not in rules.image_types and image.mime_type not in rules.convert:
            return f'Image format "{image.mime_type}" is not supported on {title}'
    for video in videos:
        problem = _video_problem(video, platform)
        if problem:
            return problem
    return _video_alt_text_problem(media, alt_texts, platform)


def _video_problem(video: StoredMedia, platform: PlatformDescriptor) -> str | None:
    rules, title = platform.media, platform.title
    if video.mime_type not in rules.video_types:
        return f'Video format "{video.mime_type}" is not supported on {title}'
    limit = rules.max_bytes_by_type.get(video.mime_type, rules.video_max_bytes)
    if limit is not None and (video.size or 0) > limit:
        return f"Video ({_size(video.size or 0)}) exceeds {title}'s {_size(limit)} limit"
    duration = video.duration
    if duration is not None and rules.video_max_seconds is not None and duration > rules.video_max_seconds:
        return (
            f"Video duration ({_duration(duration)}) exceeds {title}'s "
            f"{_duration(rules.video_max_seconds)} limit"
        )
    if duration is not None and rules.video_min_seconds is not None and duration < rules.video_min_seconds:
        return (
            f"Video duration ({_duration(duration)}) is shorter than {title}'s "
            f"{_duration(rules.video_min_seconds)} minimum"
        )
    fps = video.frame_rate
    if fps is not None and rules.video_min_fps is not None and fps < rules.video_min_fps:
        return f"Video frame rate ({fps:g} fps) is below {title}'s minimum of {rules.video_min_fps:g} fps"
    return None


def check_media(
    media: Sequence[StoredMedia],
    platforms: Sequence[PlatformDescriptor],
    alt_texts: Sequence[str | None] = (),
) -> None:
    """InvalidInput naming the media and the rule when a file is unusable or a platform refuses it
    (`alt_texts`: the group's, positional to `media`)."""
    for position, item in enumerate(media, start=1):
        if item.status == "pending":
            raise InvalidInput(
                f"Media {position} ({item.id}) has not been uploaded yet: PUT the file to its uploadUrl "
                "before scheduling the post"
            )
        if item.status == "failed":
            raise InvalidInput(f"Media {position} ({item.id}) cannot be published: {item.error}")
    for platform in platforms:
        problem = media_problem(media, platform, alt_texts)
        if problem:
            raise InvalidInput(problem)


def _video_alt_text_problem(
    media: Sequence[StoredMedia], alt_texts: Sequence[str | None], platform: PlatformDescriptor
) -> str | None:
    limit = platform.media.video_alt_text_max
    if limit is None:
        return None
    for position, (item, text) in enumerate(zip(media, alt_texts, strict=False), start=1):
        if item.type == "video" and text is not None and len(text) > limit:
            return (
                f"Alt text {position} is too long for a {platform.title} video: {len(text)} characters, "
                f"the limit is {limit}"
            )
    return None


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f}MB"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest}s" if minutes else f"{rest}s"
