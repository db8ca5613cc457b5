"""The finish: the lighting's grade (golden hour, neon, moonlight, dramatic ...) and the style preset's
treatment (noir's S-curve and vignette, vintage sepia and grain, cyberpunk split tone and scanlines,
cinematic grade and letterbox ...), on an RGB image of the final size."""

from __future__ import annotations

import math
import random

from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageOps

from avatarsmith.renderer.palette import style_name

_GRADES: dict[str, tuple[tuple[int, int, int], float, float]] = {
    # lighting -> (tint colour, tint strength, vignette strength)
    "golden hour": ((255, 170, 80), 0.16, 0.3),
    "neon": ((200, 40, 200), 0.1, 0.35),
    "moonlight": ((60, 90, 170), 0.14, 0.4),
    "candlelight": ((255, 140, 50), 0.18, 0.55),
    "dramatic": ((20, 20, 30), 0.05, 0.5),
    "backlit": ((255, 240, 220), 0.05, 0.2),
}


def apply_lighting(image: Image.Image, lighting: str, style: str | None = None) -> Image.Image:
    """Grade the picture for the lighting ("neon", or two joined: "neon, dramatic"). The cyberpunk style
    already splits neon colours over the picture: its neon light only adds the vignette."""
    for one in lighting.split(", "):
        image = _grade(image, one, neon_done=style_name(style) == "cyberpunk")
    return image


def _grade(image: Image.Image, lighting: str, neon_done: bool) -> Image.Image:
    """One lighting's grade: a tint, a directional fall-off and a vignette."""
    grade = _GRADES.get(lighting)
    w, h = image.size
    if grade is None:
        if lighting in ("daylight", "studio"):
            return ImageEnhance.Brightness(image).enhance(1.04)
        return image
    tint, amount, vignette = grade
    if lighting == "neon" and neon_done:
        amount, vignette = 0.0, 0.25
    out = Image.blend(image, Image.new("RGB", (w, h), tint), amount) if amount else image
    if lighting == "neon" and not neon_done:  # magenta from one side, cyan from the other
        ramp = Image.linear_gradient("L").rotate(90).resize((w, h), Image.Resampling.BILINEAR)
        sides = Image.composite(
            Image.new("RGB", (w, h), (255, 42, 140)), Image.new("RGB", (w, h), (5, 200, 232)), ramp
        )
        out = ImageChops.screen(out, Image.blend(Image.new("RGB", (w, h)), sides, 0.22))
    if lighting == "dramatic":  # hard side light: the far side falls into shadow
        ramp = Image.linear_gradient("L").rotate(90).resize((w, h), Image.Resampling.BILINEAR)
        shadow = ramp.point(lambda v: 255 - round(max(0, v - 140) * 0.9))
        out = Image.merge("RGB", [ImageChops.multiply(band, shadow) for band in out.split()])
        out = ImageEnhance.Contrast(out).enhance(1.15)
    mask = vignette_mask((w, h), vignette)
    return Image.merge("RGB", [ImageChops.multiply(band, mask) for band in out.split()])


def vignette_mask(size: tuple[int, int], strength: float) -> Image.Image:
    """L mask, 255 at the centre falling to 255*(1-strength) in the corners."""
    radial = Image.radial_gradient("L").resize(size, Image.Resampling.BILINEAR)
    return radial.point(lambda v: round(255 - min(255, v * 1.1) * strength))


def grain(size: tuple[int, int], rng: random.Random, amount: int) -> Image.Image:
    noise = Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))
    return noise.point(lambda v: v * amount // 255)


def apply_style(image: Image.Image, style: str | None, rng: random.Random) -> Image.Image:
    """The preset's finishing filter on an RGB image of the final size."""
    name = style_name(style)
    w, h = image.size
    if name == "noir":
        grey = ImageOps.autocontrast(ImageOps.grayscale(image), cutoff=1)
        grey = grey.point(lambda v: round(255 / (1 + math.exp(-(v - 128) / 30))))
        grey = ImageChops.multiply(grey, vignette_mask((w, h), 0.75))
        return grey.convert("RGB")
    if name == "vintage":
        grey = ImageOps.grayscale(image)
        grey = ImageChops.add(grey, grain((w, h), rng, 22), scale=1.0, offset=-11)
        sepia = ImageOps.colorize(grey, black=(46, 30, 16), white=(250, 236, 206), mid=(164, 126, 86))
        faded = Image.blend(sepia, Image.new("RGB", (w, h), (232, 214, 180)), 0.12)
        vignette = vignette_mask((w, h), 0.3)
        return Image.merge("RGB", [ImageChops.multiply(band, vignette) for band in faded.split()])
    if name == "cyberpunk":
        tint = Image.linear_gradient("L").rotate(90).resize((w, h), Image.Resampling.BILINEAR)
        neon = Image.composite(
            Image.new("RGB", (w, h), (255, 42, 109)), Image.new("RGB", (w, h), (5, 217, 232)), tint
        )
        out = ImageChops.screen(image, Image.blend(Image.new("RGB", (w, h)), neon, 0.15))
        out = ImageEnhance.Contrast(out).enhance(1.12)
        column = Image.new("L", (1, h), 0)
        column.putdata([60 if y % 4 == 3 else 0 for y in range(h)])
        out.paste((0, 0, 0), (0, 0), column.resize((w, h), Image.Resampling.NEAREST))  # scanlines
        return out
    if name == "cinematic":
        grey = ImageOps.grayscale(image)
        graded = ImageOps.colorize(grey, black=(8, 38, 52), white=(255, 214, 170), mid=(128, 118, 108))
        out = ImageEnhance.Contrast(Image.blend(image, graded, 0.38)).enhance(1.08)
        bar = min(round(h * 0.14), max(round(h * 0.07), round((h - w / 2.39) / 2)))
        draw = ImageDraw.Draw(out)
        draw.rectangle((0, 0, w, bar - 1), fill=(0, 0, 0))
        draw.rectangle((0, h - bar, w, h), fill=(0, 0, 0))
        return out
    if name == "renaissance":
        warm = Image.blend(image, Image.new("RGB", (w, h), (120, 78, 34)), 0.16)
        vignette = vignette_mask((w, h), 0.55)
        out = Image.merge("RGB", [ImageChops.multiply(band, vignette) for band in warm.split()])
        return ImageEnhance.Contrast(out).enhance(1.06)
    if name == "anime":
        return ImageEnhance.Color(image).enhance(1.2)
    if name == "pixar":
        return ImageEnhance.Brightness(ImageEnhance.Color(image).enhance(1.15)).enhance(1.03)
    if name == "fantasy":
        return ImageEnhance.Color(
            Image.blend(image, Image.new("RGB", (w, h), (190, 160, 255)), 0.07)
        ).enhance(1.1)
    if name == "professional":
        return ImageEnhance.Contrast(image).enhance(1.05)
    if name == "realistic":
        return ImageEnhance.Contrast(image).enhance(1.03)
    return image
