"""Real media files generated for tests (tiny, so the suite stays fast)."""

from __future__ import annotations

import io
import random

import av
from PIL import Image


def image_bytes(
    fmt: str = "PNG",
    size: tuple[int, int] = (64, 48),
    color: tuple[int, ...] = (200, 30, 30),
    **options: object,
) -> bytes:
    mode = "RGBA" if len(color) == 4 else "RGB"
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, format=fmt, **options)
    return out.getvalue()


def photo_bytes(size: tuple[int, int], *, quality: int = 95, seed: int = 1, fmt: str = "JPEG") -> bytes:
    """A photo-like picture (gradients, shapes, noise): compresses like a photo, not like a flat colour."""
    rng = random.Random(seed)
    width, height = size
    small = Image.new("RGB", (max(width // 8, 1), max(height // 8, 1)))
    small.putdata(
        [
            (
                (x * 255 // small.width + rng.randrange(60)) % 256,
                (y * 255 // small.height + rng.randrange(60)) % 256,
                rng.randrange(256),
            )
            for y in range(small.height)
            for x in range(small.width)
        ]
    )
    image = small.resize(size, Image.Resampling.BICUBIC)
    noise = Image.effect_noise(size, 40).convert("RGB")
    image = Image.blend(image, noise, 0.25)
    out = io.BytesIO()
    image.save(out, format=fmt, quality=quality)
    return out.getvalue()


def animated_gif(frames: int = 4, size: tuple[int, int] = (40, 30)) -> bytes:
    images = [Image.new("RGB", size, (i * 60 % 256, 100, 200 - i * 40)) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=80, loop=0)
    return out.getvalue()


def video_bytes(
    seconds: float = 1.0,
    size: tuple[int, int] = (64, 48),
    fps: int = 25,
    fmt: str = "mp4",
    codec: str = "libx264",
) -> bytes:
    """A short video with PyAV (H.264 in MP4 by default; `fmt="matroska"`, `codec="libvpx"` for others)."""
    out = io.BytesIO()
    with av.open(out, "w", format=fmt) as container:
        options = {"preset": "ultrafast"} if codec == "libx264" else {}
        stream = container.add_stream(codec, rate=fps, options=options)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for index in range(int(seconds * fps)):
            frame = av.VideoFrame.from_image(Image.new("RGB", size, (index * 9 % 256, 80, 160)))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()
