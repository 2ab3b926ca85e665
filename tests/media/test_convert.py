"""Per-platform image conversion, checked by decoding what comes out."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from postpost.media.convert import ConversionError, convert_image, needs_conversion
from postpost.platforms.descriptor import MediaRules
from tests.media.files import animated_gif, image_bytes, photo_bytes

JPEG, PNG, GIF, WEBP = "image/jpeg", "image/png", "image/gif", "image/webp"
X_LIKE = MediaRules(
    max_images=4, image_types=frozenset({JPEG, PNG, GIF, WEBP}), image_max_bytes=5 * 1024 * 1024
)
LINKEDIN_LIKE = MediaRules(
    max_images=10,
    image_types=frozenset({JPEG, PNG, GIF}),
    image_max_bytes=5 * 1024 * 1024,
    convert={WEBP: JPEG},
)
# Bluesky's shape (byte limit and pixel box) scaled down so the test pictures stay small.
BLUESKY_LIKE = MediaRules(
    max_images=4,
    image_types=frozenset({JPEG, PNG, WEBP}),
    image_max_bytes=40_000,
    image_max_pixels=(400, 400),
)


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_webp_becomes_jpeg_where_the_convert_map_says_so():
    webp = image_bytes("WEBP", (120, 80), color=(10, 200, 30))
    out = convert_image(webp, WEBP, LINKEDIN_LIKE)
    picture = decode(out.data)
    assert (out.mime_type, picture.format, picture.size) == (JPEG, "JPEG", (120, 80))
    assert (out.width, out.height, out.size, out.changed) == (120, 80, len(out.data), True)
    assert picture.getpixel((60, 40)) == pytest.approx((10, 200, 30), abs=6)


@pytest.mark.parametrize(("data", "mime"), [(image_bytes("PNG"), PNG), (image_bytes("WEBP"), WEBP)])
def test_accepted_images_are_kept_byte_for_byte(data, mime):
    out = convert_image(data, mime, X_LIKE)
    assert (out.data, out.mime_type, out.changed) == (data, mime, False)


def test_x_keeps_gif_animation():
    gif = animated_gif(frames=4)
    out = convert_image(gif, GIF, X_LIKE)
    assert out.data == gif and not out.changed
    assert decode(out.data).n_frames == 4


def test_animation_fitted_into_the_pixel_box_stays_animated():
    rules = MediaRules(image_types=frozenset({GIF, JPEG}), image_max_pixels=(20, 20), image_max_bytes=10**6)
    out = convert_image(animated_gif(frames=4, size=(40, 30)), GIF, rules)
    picture = Image.open(io.BytesIO(out.data))
    assert (picture.format, picture.size, picture.n_frames, out.mime_type) == ("GIF", (20, 15), 4, GIF)


def test_animation_that_cannot_fit_the_byte_limit_becomes_a_still_jpeg():
    gif = animated_gif(frames=6, size=(120, 90))
    rules = MediaRules(image_types=frozenset({GIF, JPEG}), image_max_bytes=len(gif) - 1)
    out = convert_image(gif, GIF, rules)
    picture = decode(out.data)
    assert (picture.format, out.mime_type, picture.size) == ("JPEG", JPEG, (120, 90))
    assert out.size <= rules.image_max_bytes


def test_bluesky_photo_is_fitted_then_quality_lowered_before_dimensions():
    photo = photo_bytes((1200, 900), quality=95)
    out = convert_image(photo, JPEG, BLUESKY_LIKE)
    picture = decode(out.data)
    assert picture.format == "JPEG" and out.mime_type == JPEG
    assert picture.size == (400, 300) == (out.width, out.height)  # the box, not smaller
    assert out.size <= BLUESKY_LIKE.image_max_bytes


def test_dimensions_shrink_only_when_lowest_quality_is_not_enough():
    photo = photo_bytes((1200, 900), quality=95)
    tight = MediaRules(image_types=frozenset({JPEG}), image_max_bytes=6_000, image_max_pixels=(400, 400))
    out = convert_image(photo, JPEG, tight)
    picture = decode(out.data)
    assert out.size <= 6_000 and picture.format == "JPEG"
    assert picture.width < 400 and picture.height < 300
    assert picture.width / picture.height == pytest.approx(4 / 3, abs=0.02)


def test_png_over_the_byte_limit_becomes_jpeg_on_a_white_background():
    rgba = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    rgba.paste(Image.open(io.BytesIO(photo_bytes((150, 200), fmt="PNG"))).convert("RGBA"), (150, 0))
    buffer = io.BytesIO()
    rgba.save(buffer, format="PNG")
    png = buffer.getvalue()
    assert len(png) > BLUESKY_LIKE.image_max_bytes
    out = convert_image(png, PNG, BLUESKY_LIKE)
    picture = decode(out.data)
    assert (picture.format, picture.mode, picture.size) == ("JPEG", "RGB", (300, 200))
    assert picture.getpixel((10, 10)) == pytest.approx((255, 255, 255), abs=3)
    assert out.size <= BLUESKY_LIKE.image_max_bytes


def test_small_png_over_the_pixel_box_is_resized_and_stays_png():
    png = image_bytes("PNG", (1000, 500))
    out = convert_image(png, PNG, BLUESKY_LIKE)
    picture = decode(out.data)
    assert (picture.format, picture.size, out.mime_type) == ("PNG", (400, 200), PNG)


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (60, 40), (0, 0, 255))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes())
    rules = MediaRules(image_types=frozenset({JPEG}), image_max_pixels=(50, 50))
    out = convert_image(buffer.getvalue(), JPEG, rules)
    picture = decode(out.data)
    assert picture.size == (33, 50)
    assert picture.getexif().get(0x0112) in (None, 1)


def test_unaccepted_format_without_a_mapping_becomes_jpeg():
    threads_like = MediaRules(image_types=frozenset({JPEG, PNG}), image_max_bytes=8 * 1024 * 1024)
    out = convert_image(animated_gif(), GIF, threads_like)
    assert decode(out.data).format == "JPEG" and out.mime_type == JPEG


def test_no_format_the_platform_takes():
    only_webp = MediaRules(image_types=frozenset({WEBP}))
    with pytest.raises(ConversionError):
        convert_image(image_bytes("PNG"), PNG, only_webp)


def test_unreadable_bytes():
    with pytest.raises(ConversionError):
        convert_image(b"not an image at all", JPEG, BLUESKY_LIKE)


@pytest.mark.parametrize(
    ("mime", "size", "dims", "expected"),
    [
        (JPEG, 1000, (100, 100), False),
        (WEBP, 1000, (100, 100), True),  # mapped to JPEG
        (GIF, 1000, (100, 100), True),  # not accepted
        (PNG, 40_001, (100, 100), True),  # over the byte limit
        (PNG, 1000, (401, 100), True),  # over the pixel box
        (PNG, 40_000, (400, 400), False),
    ],
)
def test_needs_conversion(mime, size, dims, expected):
    rules = MediaRules(
        image_types=frozenset({JPEG, PNG, WEBP}),
        image_max_bytes=40_000,
        image_max_pixels=(400, 400),
        convert={WEBP: JPEG},
    )
    assert needs_conversion(mime, size, *dims, rules) is expected
