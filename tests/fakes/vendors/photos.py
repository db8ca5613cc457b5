"""Reference photos as users upload them: a phone-sized 3000x4000 JPEG (about 12 MP, several MB)."""

from __future__ import annotations

import io
import random
from functools import lru_cache


@lru_cache(maxsize=4)
def large_photo(width: int = 3000, height: int = 4000, *, orientation: int | None = None) -> bytes:
    """A textured JPEG of width x height (quality 95, so it weighs what a phone photo weighs).

    `orientation` sets the EXIF Orientation tag (6 = the camera was turned: shown rotated 90 degrees)."""
    from PIL import Image

    rng = random.Random(f"{width}x{height}")
    small = Image.frombytes("RGB", (width // 8, height // 8), rng.randbytes(width // 8 * (height // 8) * 3))
    image = small.resize((width, height), Image.Resampling.BICUBIC)
    grain = Image.frombytes("L", (width // 2, height // 2), rng.randbytes(width // 2 * (height // 2)))
    image = Image.blend(image, grain.resize((width, height)).convert("RGB"), 0.12)
    buffer = io.BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(buffer, format="JPEG", quality=95, exif=exif.tobytes())
    return buffer.getvalue()
