"""Per-platform image conversion: pure functions from bytes and a platform's MediaRules to bytes.

Better than the original (INVENTORY §4.5): an image the platform accepts as it is is sent
unchanged (PNG stays PNG, an animated GIF keeps its animation); otherwise the `convert` map picks
the target type (e.g. WebP → JPEG), the picture is turned upright (EXIF orientation), fitted
into the platform's pixel box, and re-encoded under its byte limit, lowering JPEG/WebP quality
before dimensions. EXIF (camera, GPS) is dropped; the colour profile is kept. Blocking: call
from a thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from PIL import Image, ImageOps, ImageSequence

from postpost.platforms.descriptor import MediaRules

QUALITY_START = 90  # first JPEG/WebP quality tried
QUALITY_MIN = 60  # below this, dimensions shrink instead
MIN_SIDE = 64  # no smaller than this on either side: give up instead
MAX_ANIMATION_BYTES = 256 * 1024 * 1024  # decoded frames we are willing to hold to resize an animation
PILLOW_NAMES = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/bmp": "BMP",
    "image/tiff": "TIFF",
}
LOSSY = frozenset({"image/jpeg", "image/webp"})
ROTATED = frozenset({5, 6, 7, 8})  # EXIF orientations that swap width and height


class ConversionError(Exception):
    """The image cannot be made acceptable to the platform."""


@dataclass(frozen=True)
class ConvertedImage:
    """The bytes to send and what they are. `changed` is False when the input was kept as is."""

    data: bytes
    mime_type: str
    width: int
    height: int
    changed: bool

    @property
    def size(self) -> int:
        return len(self.data)


def needs_conversion(mime_type: str, size: int, width: int, height: int, rules: MediaRules) -> bool:
    """Whether an image of this type, byte size and dimensions must be converted for `rules`."""
    if rules.convert.get(mime_type, mime_type) != mime_type or not _accepts(rules, mime_type):
        return True
    if rules.image_max_bytes is not None and size > rules.image_max_bytes:
        return True
    box = rules.image_max_pixels
    return box is not None and (width > box[0] or height > box[1])


def convert_image(data: bytes, mime_type: str, rules: MediaRules) -> ConvertedImage:
    """`data` (of `mime_type`) made acceptable to `rules`; unchanged when it already is."""
    try:
        with Image.open(BytesIO(data)) as source:
            width, height = source.size
            if not needs_conversion(mime_type, len(data), width, height, rules):
                return ConvertedImage(data, mime_type, width, height, changed=False)
            target = conversion_target(mime_type, rules)
            if target == mime_type and getattr(source, "is_animated", False):
                animation = _resized_animation(source, target, rules)
                if animation is not None:
                    return animation
                target = _still_type(rules)
                source.seek(0)
            image = _upright_and_fitted(source, rules.image_max_pixels)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ConversionError(f"Cannot read the {mime_type} image: {exc}") from exc
    return _encode_within(image, target, rules)


def fit(size: tuple[int, int], box: tuple[int, int] | None) -> tuple[int, int]:
    """`size` scaled down (never up) to fit in `box`, keeping the aspect ratio."""
    if box is None or (size[0] <= box[0] and size[1] <= box[1]):
        return size
    scale = min(box[0] / size[0], box[1] / size[1])
    return max(1, math.floor(size[0] * scale)), max(1, math.floor(size[1] * scale))


def _accepts(rules: MediaRules, mime_type: str) -> bool:
    return not rules.image_types or mime_type in rules.image_types


def conversion_target(mime_type: str, rules: MediaRules) -> str:
    """What `mime_type` is converted to for a platform with `rules` (itself when it needs no conversion)."""
    target = rules.convert.get(mime_type, mime_type)
    if _accepts(rules, target) and target in PILLOW_NAMES:
        return target
    return _still_type(rules)


def _still_type(rules: MediaRules) -> str:
    for candidate in ("image/jpeg", "image/png"):
        if _accepts(rules, candidate):
            return candidate
    raise ConversionError("The platform accepts no image format postpost can write")


def _upright_and_fitted(source: Image.Image, box: tuple[int, int] | None) -> Image.Image:
    """Decoded (JPEG at a reduced DCT scale when shrinking), EXIF-rotated, fitted into `box`."""
    rotated = source.getexif().get(0x0112) in ROTATED
    if box is not None and source.format in ("JPEG", "MPO"):
        upright = (source.size[1], source.size[0]) if rotated else source.size
        wanted = fit(upright, box)
        source.draft(None, (wanted[1], wanted[0]) if rotated else wanted)
    image = ImageOps.exif_transpose(source)
    image.info.setdefault("icc_profile", source.info.get("icc_profile"))
    wanted = fit(image.size, box)
    if wanted != image.size:
        resized = image.resize(wanted, Image.Resampling.LANCZOS, reducing_gap=3.0)
        resized.info = dict(image.info)
        image = resized
    return image


def _resized_animation(source: Image.Image, mime_type: str, rules: MediaRules) -> ConvertedImage | None:
    """The animation fitted into the pixel box, or None when it cannot keep under the byte limit."""
    size = fit(source.size, rules.image_max_pixels)
    frames_count = int(getattr(source, "n_frames", 1))
    if frames_count * size[0] * size[1] * 4 > MAX_ANIMATION_BYTES:
        return None
    frames: list[Image.Image] = []
    durations: list[int] = []
    for frame in ImageSequence.Iterator(source):
        durations.append(int(frame.info.get("duration", 100)))
        rgba = frame.convert("RGBA")
        frames.append(rgba if rgba.size == size else rgba.resize(size, Image.Resampling.LANCZOS))
    out = BytesIO()
    options: dict[str, Any] = {"save_all": True, "append_images": frames[1:], "duration": durations}
    options["loop"] = int(source.info.get("loop", 0))
    if mime_type == "image/gif":
        options["disposal"] = 2
    frames[0].save(out, format=PILLOW_NAMES[mime_type], **options)
    data = out.getvalue()
    if rules.image_max_bytes is not None and len(data) > rules.image_max_bytes:
        return None
    return ConvertedImage(data, mime_type, size[0], size[1], changed=True)


def _encode_within(image: Image.Image, mime_type: str, rules: MediaRules) -> ConvertedImage:
    """Encode as `mime_type` under the byte limit: quality first, then dimensions."""
    limit = rules.image_max_bytes
    if mime_type == "image/jpeg":
        image = _flattened(image)
    while True:
        if mime_type in LOSSY:
            data, smallest = _best_quality(image, mime_type, limit)
        else:
            data = _save(image, mime_type)
            smallest = len(data)
            if (
                limit is not None
                and smallest > limit
                and mime_type != "image/jpeg"
                and _accepts(rules, "image/jpeg")
            ):
                return _encode_within(image, "image/jpeg", rules)
        if data is not None and (limit is None or len(data) <= limit):
            return ConvertedImage(data, mime_type, image.width, image.height, changed=True)
        assert limit is not None
        factor = min(0.9, max(0.5, math.sqrt(limit / smallest) * 0.95))
        smaller = (math.floor(image.width * factor), math.floor(image.height * factor))
        if min(smaller) < MIN_SIDE:
            raise ConversionError(f"Cannot fit the image under {limit} bytes")
        resized = image.resize(smaller, Image.Resampling.LANCZOS)
        resized.info = dict(image.info)
        image = resized


def _best_quality(image: Image.Image, mime_type: str, limit: int | None) -> tuple[bytes | None, int]:
    """The highest quality (QUALITY_MIN..QUALITY_START) under `limit`, and the smallest size seen."""
    best = _save(image, mime_type, quality=QUALITY_START)
    if limit is None or len(best) <= limit:
        return best, len(best)
    low_data = _save(image, mime_type, quality=QUALITY_MIN)
    if len(low_data) > limit:
        return None, len(low_data)
    # Size grows smoothly with quality: interpolate towards the limit instead of bisecting.
    low, low_size, high, high_size, found = QUALITY_MIN, len(low_data), QUALITY_START, len(best), low_data
    while high - low > 2:
        guess = low + (high - low) * (limit - low_size) / (high_size - low_size)
        middle = min(high - 1, max(low + 1, round(guess)))
        candidate = _save(image, mime_type, quality=middle)
        if len(candidate) <= limit:
            low, low_size, found = middle, len(candidate), candidate
        else:
            high, high_size = middle, len(candidate)
    return found, len(found)


def _flattened(image: Image.Image) -> Image.Image:
    """RGB or grayscale, transparency composited onto white (JPEG has no alpha)."""
    if image.mode in ("RGB", "L"):
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
    else:
        flat = image.convert("RGB")
    flat.info = {"icc_profile": image.info.get("icc_profile")} if image.mode != "CMYK" else {}
    return flat


def _save(image: Image.Image, mime_type: str, quality: int | None = None) -> bytes:
    name = PILLOW_NAMES[mime_type]
    options: dict[str, Any] = {}
    icc = image.info.get("icc_profile")
    if icc and name in ("JPEG", "PNG", "WEBP", "TIFF"):
        options["icc_profile"] = icc
    if name == "JPEG":
        options.update(quality=quality or QUALITY_START, optimize=True)
    elif name == "WEBP":
        options.update(quality=quality or QUALITY_START, method=4)
    if name == "PNG" and image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
        image = image.convert("RGBA")
    out = BytesIO()
    image.save(out, format=name, **options)
    return out.getvalue()
