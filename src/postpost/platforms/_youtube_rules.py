"""What a YouTube upload says about itself: its metadata from the post, and whether it is a Short.

The title is `platformSettings.youtube.title`, or else the first line of the content (at most
100 characters, without ``<``/``>``, which YouTube refuses); the description is the whole
content. Refusals are INVALID_CONTENT naming the setting, before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from postpost.platforms.base import ErrorCode, MediaFile, PlatformError

TITLE_MAX = 100
DESCRIPTION_MAX_BYTES = 5000
TAGS_MAX = 500
PRIVACY = ("public", "unlisted", "private")
SHORT_MAX_SECONDS = 180  # Shorts: up to 3 minutes, square or vertical
UNTITLED = "Untitled video"


def invalid(message: str) -> PlatformError:
    return PlatformError(ErrorCode.INVALID_CONTENT, message, retryable=False)


def the_video(media: Sequence[MediaFile]) -> MediaFile:
    """The post's one video."""
    videos = [m for m in media if m.kind == "video"]
    if not videos:
        raise invalid("YouTube posts require a video")
    if len(media) > 1:
        raise invalid(f"A YouTube post holds exactly one video and nothing else ({len(media)} files given)")
    return videos[0]


def video_title(text: str, settings: Mapping[str, Any]) -> str:
    """The title YouTube gets."""
    given = str(settings.get("title") or "").strip()
    if given:
        if len(given) > TITLE_MAX:
            raise invalid(
                f"platformSettings.youtube.title is {len(given)} characters; YouTube allows {TITLE_MAX}"
            )
        if "<" in given or ">" in given:
            raise invalid("platformSettings.youtube.title cannot contain < or > on YouTube")
        return given
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    line = line.replace("<", "").replace(">", "").strip()
    return line[:TITLE_MAX].rstrip() or UNTITLED


def metadata(text: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The ``snippet`` and ``status`` of the video resource to create."""
    if "<" in text or ">" in text:
        raise invalid("YouTube descriptions cannot contain < or >")
    if len(text.encode()) > DESCRIPTION_MAX_BYTES:
        raise invalid(f"YouTube descriptions hold at most {DESCRIPTION_MAX_BYTES} bytes")
    privacy = settings.get("privacy") or "public"
    if privacy not in PRIVACY:
        raise invalid(f"platformSettings.youtube.privacy must be one of: {', '.join(PRIVACY)}")
    category = str(settings.get("categoryId") or "22")
    if not category.isdigit():
        raise invalid("platformSettings.youtube.categoryId must be a YouTube category number, e.g. 22")
    snippet: dict[str, Any] = {
        "title": video_title(text, settings),
        "description": text,
        "categoryId": category,
    }
    tags = tags_of(settings.get("tags"))
    if tags:
        snippet["tags"] = tags
    status = {"privacyStatus": privacy, "selfDeclaredMadeForKids": settings.get("madeForKids") is True}
    return {"snippet": snippet, "status": status}


def tags_of(value: Any) -> list[str]:
    """The tags, at most 500 characters together as YouTube counts them (quotes, commas)."""
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(t, str) for t in value):
        raise invalid("platformSettings.youtube.tags must be a list of strings")
    tags = [t.strip() for t in value if t.strip()]
    length = sum(len(t) + (2 if " " in t else 0) for t in tags) + max(len(tags) - 1, 0)
    if length > TAGS_MAX:
        raise invalid(
            f"platformSettings.youtube.tags add up to {length} characters; YouTube allows {TAGS_MAX}"
        )
    if any("<" in t or ">" in t for t in tags):
        raise invalid("platformSettings.youtube.tags cannot contain < or >")
    return tags


def is_short(video: MediaFile) -> bool:
    """A Short by YouTube's rule: at most 3 minutes, square or vertical (when the metadata says)."""
    if video.duration is None or video.width is None or video.height is None:
        return False
    return video.duration <= SHORT_MAX_SECONDS and video.height >= video.width
