"""What a TikTok post may be: its settings, its media, and what the creator's account allows.

`platformSettings.tiktok` booleans mean what their names say (`allowComments: true` sends
``disable_comment: false``); the original service inverted some of them. Every refusal here is
INVALID_CONTENT naming the setting or the media property, before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from postpost.platforms.base import ErrorCode, MediaFile, PlatformError

PRIVACY = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY")
MIN_SECONDS = 3.0
MAX_SECONDS = 600.0
MIN_FPS = 23.0
MAX_PHOTOS = 35
PHOTO_TITLE_UNITS = 90
PHOTO_TYPES = frozenset({"image/jpeg", "image/webp"})


@dataclass(frozen=True)
class PostOptions:
    """The post's `platformSettings.tiktok`, read."""

    privacy: str
    allow_comments: bool
    allow_duet: bool
    allow_stitch: bool
    brand_organic: bool
    branded: bool


def sandbox_username(open_id: str) -> str:
    """The creator username of a sandbox account (the simulator derives the same one)."""
    return "sandbox_" + open_id.replace("-", "")[:10]


def invalid(message: str) -> PlatformError:
    return PlatformError(ErrorCode.INVALID_CONTENT, message, retryable=False)


def post_options(settings: Mapping[str, Any]) -> PostOptions:
    """The settings as TikTok options; the commercial-content disclosure must say which kind."""
    privacy = settings.get("viewerSetting") or ""
    if privacy not in PRIVACY:
        raise invalid(
            "TikTok requires selecting who can view your post (platformSettings.tiktok.viewerSetting)"
        )
    commercial = settings.get("commercialContent") is True
    organic = commercial and settings.get("brandOrganic") is True
    branded = commercial and settings.get("brandedContent") is True
    if commercial and not (organic or branded):
        raise invalid(
            "platformSettings.tiktok.commercialContent is true: set brandOrganic (your own brand) "
            "or brandedContent (a paid partnership) to true"
        )
    if branded and privacy == "SELF_ONLY":
        raise invalid("Branded content cannot be private on TikTok (viewerSetting SELF_ONLY)")
    return PostOptions(
        privacy=str(privacy),
        allow_comments=settings.get("allowComments", True) is True,
        allow_duet=settings.get("allowDuet") is True,
        allow_stitch=settings.get("allowStitch") is True,
        brand_organic=organic,
        branded=branded,
    )


def post_video(media: Sequence[MediaFile]) -> tuple[MediaFile | None, list[MediaFile]]:
    """The post's one video, or its photos (only fetchable by URL); checked against TikTok's rules."""
    videos = [m for m in media if m.kind == "video"]
    photos = [m for m in media if m.kind == "image"]
    if not media:
        raise invalid("TikTok posts require a video")
    if videos and photos:
        raise invalid("A TikTok post holds one video or photos, not both")
    if len(videos) > 1:
        raise invalid(f"A TikTok post holds one video ({len(videos)} given)")
    if photos:
        if len(photos) > MAX_PHOTOS:
            raise invalid(f"A TikTok photo post holds at most {MAX_PHOTOS} photos ({len(photos)} given)")
        for photo in photos:
            if photo.mime_type not in PHOTO_TYPES:
                raise invalid(f"TikTok photos must be JPEG or WebP ({photo.mime_type} given)")
            if not photo.fetch_url:
                raise invalid("TikTok takes photos only by URL, and this photo has no public URL")
        return None, photos
    video = videos[0]
    if video.duration is not None and not MIN_SECONDS <= video.duration <= MAX_SECONDS:
        raise invalid(f"TikTok videos must last 3 s to 10 min; this one lasts {video.duration:g} s")
    if video.frame_rate is not None and video.frame_rate < MIN_FPS:
        raise invalid(
            f"TikTok videos need at least {MIN_FPS:g} frames per second; this one has {video.frame_rate:g}"
        )
    return video, []


def check_against_creator(options: PostOptions, info: Mapping[str, Any], video: MediaFile | None) -> None:
    """Refuse what the creator's account cannot use (``creator_info/query``), naming the setting."""
    allowed = [str(p) for p in info.get("privacy_level_options") or []]
    if options.privacy not in allowed:
        raise invalid(
            f"This TikTok account cannot post with platformSettings.tiktok.viewerSetting "
            f"{options.privacy}; it allows: {', '.join(allowed) or 'nothing'}"
        )
    for setting, wanted, switch in (
        ("allowComments", options.allow_comments, "comment_disabled"),
        ("allowDuet", options.allow_duet and video is not None, "duet_disabled"),
        ("allowStitch", options.allow_stitch and video is not None, "stitch_disabled"),
    ):
        if wanted and info.get(switch) is True:
            raise invalid(
                f"This TikTok account has turned {setting.removeprefix('allow').lower()} off: "
                f"set platformSettings.tiktok.{setting} to false"
            )
    longest = info.get("max_video_post_duration_sec")
    duration = video.duration if video is not None else None
    if duration is not None and isinstance(longest, int | float) and duration > longest:
        raise invalid(
            f"This TikTok account may post videos of at most {longest:g} s; this one lasts {duration:g} s"
        )


def video_post_info(text: str, options: PostOptions) -> dict[str, Any]:
    return {
        "title": text,
        "privacy_level": options.privacy,
        "disable_comment": not options.allow_comments,
        "disable_duet": not options.allow_duet,
        "disable_stitch": not options.allow_stitch,
        "brand_organic_toggle": options.brand_organic,
        "brand_content_toggle": options.branded,
    }


def photo_body(text: str, options: PostOptions, photos: list[MediaFile]) -> dict[str, Any]:
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    title = first_line.encode("utf-16-le")[: 2 * PHOTO_TITLE_UNITS].decode("utf-16-le", "ignore")
    return {
        "post_info": {
            "title": title,
            "description": text,
            "privacy_level": options.privacy,
            "disable_comment": not options.allow_comments,
            "auto_add_music": True,
            "brand_organic_toggle": options.brand_organic,
            "brand_content_toggle": options.branded,
        },
        "source_info": {
            "source": "PULL_FROM_URL",
            "photo_cover_index": 0,
            "photo_images": [photo.fetch_url for photo in photos],
        },
        "post_mode": "DIRECT_POST",
        "media_type": "PHOTO",
    }
