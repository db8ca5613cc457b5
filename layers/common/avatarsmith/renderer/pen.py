"""Drawing helpers: a pen in head units, gradients, soft spots and soft shading through masks."""

from __future__ import annotations

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from avatarsmith.renderer.palette import RGB, Box, mix

FaceBox = tuple[float, float, float, float]  # x, y, w, h in canvas pixels


def vertical_gradient(size: tuple[int, int], top: RGB, bottom: RGB) -> Image.Image:
    h = size[1]
    column = Image.new("RGB", (1, h))
    column.putdata([mix(top, bottom, y / max(1, h - 1)) for y in range(h)])
    return column.resize(size, Image.Resampling.NEAREST)


def soft_spot(
    canvas: Image.Image, centre: tuple[float, float], radius: float, colour: RGB, strength: float
) -> None:
    """Paste `colour` through a radial falloff (a glow, or a shadow with a dark colour)."""
    size = max(2, round(radius * 2))
    # radial_gradient is 0 at the centre, 181 at the edge midpoints (255 only in the corners)
    lut = [round(255 * strength * max(0.0, 1 - v / 181) ** 1.6) for v in range(256)]
    mask = Image.radial_gradient("L").point(lut).resize((size, size), Image.Resampling.BILINEAR)
    canvas.paste(colour, (round(centre[0] - radius), round(centre[1] - radius)), mask)


class Pen:
    """ImageDraw in head-radius units around the head centre: `p(x, y)` -> canvas pixels. `flip` mirrors
    x (a variation facing the other way)."""

    def __init__(self, canvas: Image.Image, cx: float, cy: float, r: float, flip: bool = False):
        self.canvas, self.draw = canvas, ImageDraw.Draw(canvas)
        self.cx, self.cy, self.r = cx, cy, r
        self.sx = -1.0 if flip else 1.0

    @classmethod
    def for_face(cls, canvas: Image.Image, face: FaceBox) -> tuple[Pen, float]:
        """A pen whose unit is half the face box's width, centred on it, and the head's half-height in
        those units (1.24 for a drawn adult head)."""
        x, y, w, h = face
        r = max(1.0, w / 2)
        return cls(canvas, x + w / 2, y + h / 2, r), h / (2 * r)

    def pt(self, x: float, y: float) -> tuple[float, float]:
        return (self.cx + self.sx * x * self.r, self.cy + y * self.r)

    def box(self, x0: float, y0: float, x1: float, y1: float) -> Box:
        a, b = self.cx + self.sx * x0 * self.r, self.cx + self.sx * x1 * self.r
        return (min(a, b), self.cy + y0 * self.r, max(a, b), self.cy + y1 * self.r)

    def w(self, width: float) -> int:
        return max(1, round(width * self.r))

    def ellipse(
        self,
        x0: float,
        y0: float,
        x1: float,
        y1: float,
        fill: RGB | None = None,
        outline: RGB | None = None,
        width: float = 0,
    ) -> None:
        self.draw.ellipse(
            self.box(x0, y0, x1, y1), fill=fill, outline=outline, width=self.w(width) if outline else 0
        )

    def rrect(self, x0: float, y0: float, x1: float, y1: float, radius: float, fill: RGB) -> None:
        self.draw.rounded_rectangle(
            self.box(x0, y0, x1, y1), radius=max(0, round(radius * self.r)), fill=fill
        )

    def _angles(self, start: float, end: float) -> tuple[float, float]:
        return (start, end) if self.sx > 0 else (180 - end, 180 - start)

    def arc(
        self, x0: float, y0: float, x1: float, y1: float, start: float, end: float, fill: RGB, width: float
    ) -> None:
        a, b = self._angles(start, end)
        self.draw.arc(self.box(x0, y0, x1, y1), a, b, fill=fill, width=self.w(width))

    def chord(self, x0: float, y0: float, x1: float, y1: float, start: float, end: float, fill: RGB) -> None:
        a, b = self._angles(start, end)
        self.draw.chord(self.box(x0, y0, x1, y1), a, b, fill=fill)

    def pieslice(
        self, x0: float, y0: float, x1: float, y1: float, start: float, end: float, fill: RGB
    ) -> None:
        a, b = self._angles(start, end)
        self.draw.pieslice(self.box(x0, y0, x1, y1), a, b, fill=fill)

    def polygon(
        self, points: list[tuple[float, float]], fill: RGB, outline: RGB | None = None, width: float = 0
    ) -> None:
        self.draw.polygon(
            [self.pt(x, y) for x, y in points],
            fill=fill,
            outline=outline,
            width=self.w(width) if outline else 0,
        )

    def line(self, points: list[tuple[float, float]], fill: RGB, width: float) -> None:
        self.draw.line([self.pt(x, y) for x, y in points], fill=fill, width=self.w(width), joint="curve")

    def shade_ellipse(
        self, x0: float, y0: float, x1: float, y1: float, colour: RGB, strength: float, light: float = -0.6
    ) -> None:
        """Soft shading inside an ellipse: `colour` fades in away from the light (x direction `light`),
        through a blurred mask, so the shape reads as round instead of flat."""
        bx0, by0, bx1, by1 = self.box(x0, y0, x1, y1)
        w, h = max(2, round(bx1 - bx0)), max(2, round(by1 - by0))
        small = (max(2, w // 8), max(2, h // 8))
        shape = Image.new("L", small, 0)
        ImageDraw.Draw(shape).ellipse((0, 0, small[0] - 1, small[1] - 1), fill=255)
        ramp = Image.linear_gradient("L").rotate(90 if light * self.sx < 0 else -90).resize(small)
        ramp = ramp.point(lambda v: round(max(0, v - 100) * strength * 1.6))
        inner = Image.new("L", small, 0)
        ImageDraw.Draw(inner).ellipse(
            (small[0] * 0.12, small[1] * 0.1, small[0] * 0.88, small[1] * 0.84), fill=255
        )
        blur = inner.filter(ImageFilter.GaussianBlur(max(1, small[0] // 8)))
        rim = blur.point(lambda v: round((255 - v) * strength * 0.7))
        mask = ImageChops.multiply(ImageChops.lighter(ramp, rim), shape)
        self.canvas.paste(colour, (round(bx0), round(by0)), mask.resize((w, h), Image.Resampling.BILINEAR))
