"""The offline renderer's entry points: a spec's variation as a picture, and the scene it shows.

describe (prompt and attributes -> `Scene`) -> draw (scene -> picture) -> finish (lighting and style);
with reference photos, photo_render re-draws the person from the photo into the same scene. Everything
the spec leaves open comes from `random.Random(str(variation_seed))` in a fixed order, so the same spec
and index give the same pixels in any process. No `random` globals, no `Image.effect_noise`.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from PIL import Image

from avatarsmith.renderer import RENDERER_VERSION, photo
from avatarsmith.renderer.describe import describe
from avatarsmith.renderer.draw import draw_accessories, draw_background, look_of, render_scene
from avatarsmith.renderer.finish import apply_lighting, apply_style
from avatarsmith.renderer.palette import SKIN_TONES
from avatarsmith.renderer.scene import Scene

if TYPE_CHECKING:  # pydantic costs ~80 ms to import; the renderer only reads the spec
    from avatarsmith.models.domain import GenerationSpec

__all__ = [
    "RENDERER_VERSION",
    "SKIN_TONES",
    "apply_style",
    "describe_person",
    "load_reference",
    "render_variation",
]


def describe_person(spec: GenerationSpec, index: int) -> Scene:
    """The scene variation `index` of `spec` shows (what the attributes and keywords mapped to)."""
    return describe(spec, index)


def load_reference(references: list[bytes], want: tuple[int, int]) -> Image.Image:
    """The reference photo the avatar is made from (see photo.choose_reference), upright RGB."""
    return photo.choose_reference(references, want).image


def render_variation(spec: GenerationSpec, index: int, references: list[bytes]) -> Image.Image:
    """Variation `index` of `spec`: an RGB image of exactly spec.output.width x spec.output.height."""
    size = (spec.output.width, spec.output.height)
    seed = spec.variation_seed(index)
    scene = describe(spec, index)
    rng = random.Random(f"{seed}:draw")
    if references:
        from avatarsmith.renderer.photo_render import render_photo

        def background(s: Scene, at: tuple[int, int], head: tuple[float, float, float]) -> Image.Image:
            return draw_background(s, at, random.Random(f"{seed}:background"), head)

        picture, _drawn = render_photo(
            scene,
            references,
            size,
            seed,
            background=background,
            accessories=draw_accessories,
            letterbox=look_of(scene).letterbox,
        )
    else:
        picture = render_scene(scene, size, rng)
    return apply_style(apply_lighting(picture, scene.lighting, scene.style), scene.style, rng)
