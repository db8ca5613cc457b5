"""The finish: the lighting's grade (golden hour, neon, moonlight, dramatic ...) and the style preset's
treatment (noir's S-curve and vignette, vintage sepia and grain, cyberpunk split tone and scanlines,
cinematic grade and letterbox ...), on an RGB image of the final size."""

from __future__ import annotations

import math
import random

from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageOps

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
    already splits neon colours over the picture: its neon light only adds the vignette; noir, cinematic and
    renaissance already grade dramatically."""
    name = style_name(style)
    for one in lighting.split(", "):
        if one == "dramatic" and name in ("noir", "cinematic", "renaissance"):
            continue  # the style's own grade is already a dramatic one: never darken twice
        image = _grade(image, one, neon_done=name == "cyberpunk")
    return image


def _grade(image: Image.Image, lighting: str, neon_done: bool) -> Image.Image:
    """One lighting's grade: a tint, a directional fall-off and a vignette (masks made small, scaled once)."""
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
    small = (_SMALL, _SMALL)
    ramp = Image.linear_gradient("L").rotate(90).resize(small, Image.Resampling.BILINEAR)
    if lighting == "neon" and not neon_done:  # magenta from one side, cyan from the other
        sides = Image.composite(
            Image.new("RGB", small, (255, 42, 140)), Image.new("RGB", small, (5, 200, 232)), ramp
        )
        glow = Image.blend(Image.new("RGB", small), sides, 0.22).resize((w, h), Image.Resampling.BILINEAR)
        out = ImageChops.screen(out, glow)
    light = _vignette_small(vignette)
    if lighting == "dramatic":  # hard side light: the far side falls into shadow
        light = ImageChops.multiply(light, ramp.point(lambda v: 255 - round(max(0, v - 140) * 0.9)))
    out = shade_by(out, light.resize((w, h), Image.Resampling.BILINEAR))
    return ImageEnhance.Contrast(out).enhance(1.15) if lighting == "dramatic" else out


_SMALL = 128


def _vignette_small(strength: float) -> Image.Image:
    radial = Image.radial_gradient("L").resize((_SMALL, _SMALL), Image.Resampling.BILINEAR)
    return radial.point(lambda v: round(255 - min(255, v * 1.1) * strength))


def vignette_mask(size: tuple[int, int], strength: float) -> Image.Image:
    """L mask, 255 at the centre falling to 255*(1-strength) in the corners."""
    return _vignette_small(strength).resize(size, Image.Resampling.BILINEAR)


def shade_by(image: Image.Image, mask: Image.Image) -> Image.Image:
    """Multiply an RGB image by an L mask (255 keeps a pixel, 0 blackens it)."""
    return ImageChops.multiply(image, Image.merge("RGB", (mask, mask, mask)))


def grain(size: tuple[int, int], rng: random.Random, amount: int) -> Image.Image:
    noise = Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))
    return noise.point(lambda v: v * amount // 255)


def apply_style(image: Image.Image, style: str | None, rng: random.Random) -> Image.Image:
    """The preset's finishing filter on an RGB image of the final size."""
    name = style_name(style)
    w, h = image.size
    if name == "noir":
        grey = ImageOps.autocontrast(ImageOps.grayscale(image), cutoff=1)
        grey = grey.point(lambda v: round(255 / (1 + math.exp(-(v - 112) / 38))))
        grey = ImageChops.multiply(grey, vignette_mask((w, h), 0.75))
        return grey.convert("RGB")
    if name == "vintage":
        grey = ImageOps.grayscale(image)
        grey = ImageChops.add(grey, grain((w, h), rng, 22), scale=1.0, offset=-11)
        sepia = ImageOps.colorize(grey, black=(46, 30, 16), white=(250, 236, 206), mid=(164, 126, 86))
        faded = Image.blend(sepia, Image.new("RGB", (w, h), (232, 214, 180)), 0.12)
        return shade_by(faded, vignette_mask((w, h), 0.3))
    if name == "cyberpunk":
        small = (_SMALL, _SMALL)
        tint = Image.linear_gradient("L").rotate(90).resize(small, Image.Resampling.BILINEAR)
        neon = Image.composite(
            Image.new("RGB", small, (255, 42, 109)), Image.new("RGB", small, (5, 217, 232)), tint
        )
        glow = Image.blend(Image.new("RGB", small), neon, 0.15).resize((w, h), Image.Resampling.BILINEAR)
        out = ImageChops.screen(image, glow)
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
        out = shade_by(warm, vignette_mask((w, h), 0.4))
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
    if name == "realistic":  # soft light: a blurred copy laid over the picture rounds every flat shape
        soft = image.reduce(8).filter(ImageFilter.GaussianBlur(3)).resize((w, h), Image.Resampling.BILINEAR)
        return ImageEnhance.Contrast(Image.blend(image, ImageChops.soft_light(image, soft), 0.6)).enhance(
            1.04
        )
    return image
