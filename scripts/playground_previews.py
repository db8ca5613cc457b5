"""Render the playground's style previews (functions/api/playground/previews/<style>.webp) with the offline
studio renderer: one small portrait per style preset. Deterministic; run it again after a style changes:

    .venv/bin/python scripts/playground_previews.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common")]

from avatarsmith import catalog  # noqa: E402
from avatarsmith.models.domain import Attributes, GenerationSpec, OutputSpec  # noqa: E402
from avatarsmith.renderer.simple import render_variation  # noqa: E402

OUT = ROOT / "functions" / "api" / "playground" / "previews"
SIZE = 256  # rendered, then reduced: small files, smooth edges
PREVIEW = 96


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for style in catalog.STYLES:
        spec = GenerationSpec(
            model="avatarsmith-studio",
            seed=4242,
            style=style.name,
            prompt="smiling, short hair",
            attributes=Attributes(pose="close_up"),
            output=OutputSpec(width=SIZE, height=SIZE),
        )
        image = render_variation(spec, 0, []).resize((PREVIEW, PREVIEW))
        target = OUT / f"{style.name}.webp"
        image.save(target, format="WEBP", quality=80, method=6)
        print(f"{target.relative_to(ROOT)}  {target.stat().st_size} bytes")


if __name__ == "__main__":
    main()
