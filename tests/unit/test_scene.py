"""The offline studio reads prompts as people write them: describe() maps many phrasings to the scene
that provenance.scene reports; variations of one job differ while a seed reproduces its bytes; the
renderer's modules stay small."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from avatarsmith.backends.offline import NO_PHOTOREALISM, scene_notes
from avatarsmith.models.domain import Attributes, GenerationSpec, OutputSpec
from avatarsmith.renderer.describe import describe
from avatarsmith.renderer.imaging import finalize
from avatarsmith.renderer.simple import render_variation

RENDERER = Path(__file__).resolve().parents[2] / "layers" / "common" / "avatarsmith" / "renderer"


def _spec(prompt: str | None = None, **changes: object) -> GenerationSpec:
    base: dict[str, object] = {
        "model": "avatarsmith-studio",
        "seed": 11,
        "prompt": prompt,
        "output": OutputSpec(width=192, height=192),
    }
    base.update(changes)
    return GenerationSpec(**base)


def _summary(prompt: str, seed: int = 11, **changes: object) -> dict[str, Any]:
    return describe(_spec(prompt, seed=seed, **changes), 0).summary()


def _flat(summary: dict[str, Any]) -> str:
    return json.dumps(summary)


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("Man, short black hair", {"hair": {"length": "short", "colour": "black"}}),
        ("a woman with long wavy red hair", {"hair": {"length": "long", "texture": "wavy", "colour": "red"}}),
        (
            "girl, long, wavy and blonde hair",
            {"hair": {"length": "long", "texture": "wavy", "colour": "blonde"}},
        ),
        ("red-haired man with curly hair", {"hair": {"colour": "red", "texture": "curly"}}),
        ("a blonde woman", {"hair": {"colour": "blonde"}}),
        ("shoulder-length brown hair", {"hair": {"length": "medium", "colour": "brown"}}),
        ("a man in a blue suit", {"outfit": {"kind": "suit", "colour": "blue"}}),
        ("woman wearing a red hoodie", {"outfit": {"kind": "hoodie", "colour": "red"}}),
        ("man in a black leather jacket", {"outfit": {"kind": "jacket", "colour": "black"}}),
        ("suit and tie", {"outfit": {"kind": "suit", "extras": ["tie"]}}),
        ("knight in shining armor", {"outfit": {"kind": "armour"}}),
        ("doctor", {"outfit": {"kind": "lab coat"}}),
        ("scientist wearing a lab coat", {"outfit": {"kind": "lab coat"}}),
        ("police officer", {"outfit": {"kind": "uniform"}}),
        ("woman in an elegant green dress", {"outfit": {"kind": "dress", "colour": "green"}}),
        ("guy in a grey t-shirt", {"outfit": {"kind": "t-shirt", "colour": "grey"}}),
        ("cozy knitted navy sweater", {"outfit": {"kind": "sweater", "colour": "navy"}}),
        ("monk in brown robes", {"outfit": {"kind": "robe", "colour": "brown"}}),
        ("geisha in a kimono", {"outfit": {"kind": "kimono"}}),
        ("man with sunglasses and a fedora", {"accessories": ["fedora", "sunglasses"]}),
        ("woman with spectacles", {"accessories": ["glasses"]}),
        ("cowboy hat", {"accessories": ["cowboy hat"]}),
        ("queen wearing a crown", {"accessories": ["crown"]}),
        ("wizard with a pointy hat", {"accessories": ["wizard hat"]}),
        ("gamer with headphones", {"accessories": ["headphones"]}),
        ("gold earrings and a pearl necklace", {"accessories": ["earrings", "necklace"]}),
        ("a wool scarf", {"accessories": ["scarf"]}),
        ("nurse with a surgical mask", {"accessories": ["mask"]}),
        ("man with stubble", {"facial_hair": "stubble"}),
        ("man with a goatee", {"facial_hair": "goatee"}),
        ("man with a handlebar mustache", {"facial_hair": "moustache"}),
        ("bearded man", {"facial_hair": "beard"}),
        ("old sailor with a long white beard", {"facial_hair": "long beard", "age": "elderly"}),
        ("a 70-year-old woman", {"age": "elderly"}),
        ("a 16 year old boy", {"age": "teen"}),
        ("a middle-aged man", {"age": "middle-aged"}),
        ("a young woman", {"age": "young"}),
        ("a child", {"age": "child"}),
        ("a surprised woman", {"expression": "surprised"}),
        ("angry man", {"expression": "angry"}),
        ("laughing girl", {"expression": "laughing"}),
        ("man winking", {"expression": "winking"}),
        ("portrait in a neon city", {"setting": "neon city"}),
        ("walking in the woods", {"setting": "forest"}),
        ("in an office", {"setting": "office"}),
        ("on the beach", {"setting": "beach"}),
        ("floating in outer space", {"setting": "space"}),
        ("surrounded by bookshelves", {"setting": "library"}),
        ("in front of a castle", {"setting": "castle"}),
        ("hiking in the mountains", {"setting": "mountains"}),
        ("sitting in a coffee shop", {"setting": "cafe"}),
        ("golden hour portrait", {"lighting": "golden hour"}),
        ("dramatic lighting", {"lighting": "dramatic"}),
        ("under the moonlight", {"lighting": "moonlight"}),
        ("soft light", {"lighting": "soft"}),
    ],
)
def test_phrasings_map_to_the_scene(prompt: str, expected: dict[str, Any]) -> None:
    # Given a prompt as a person writes it, over several seeds (no seed passes it by chance)
    for seed in range(3):
        # When it is described
        summary = _summary(prompt, seed)
        # Then every element it names is in the scene, in plain words
        for key, value in expected.items():
            got = summary.get(key)
            if isinstance(value, dict):
                for sub, want in value.items():
                    have = got.get(sub) if isinstance(got, dict) else None
                    assert have == want or (isinstance(want, list) and set(want) <= set(have or [])), (
                        prompt,
                        key,
                        sub,
                        have,
                    )
            elif isinstance(value, list):
                assert set(value) <= set(got or []), (prompt, got)
            else:
                assert got == value, (prompt, key, got)


def test_the_issue_prompt_implies_cyberpunk_armour_neon_city_and_neon_light() -> None:
    summary = _summary("cyberpunk warrior, neon lights, futuristic city, dramatic lighting")
    assert summary["style"] == "cyberpunk" and summary["style_implied"] is True
    assert summary["outfit"]["kind"] == "armour"
    assert summary["setting"] == "neon city"
    assert "neon" in summary["lighting"] and "dramatic" in summary["lighting"]


@pytest.mark.parametrize(
    ("prompt", "style"),
    [
        ("an elf mage casting a spell", "fantasy"),
        ("anime girl with cat ears", "anime"),
        ("black and white portrait of a detective", "noir"),
        ("1950s portrait, sepia", "vintage"),
        ("oil painting of a nobleman", "renaissance"),
        ("linkedin headshot of a woman", "professional"),
    ],
)
def test_a_style_is_implied_by_the_words_when_none_is_given(prompt: str, style: str) -> None:
    summary = _summary(prompt)
    assert summary["style"] == style and summary["style_implied"]
    # a given style wins over the words
    assert _summary(prompt, style="pixar")["style"] == "pixar"


def test_words_it_cannot_draw_are_named_and_realism_is_an_honest_adjustment() -> None:
    # Given a prompt with an object the renderer has no picture for, asking for photorealism
    spec = _spec("ultra realistic portrait of a man holding a sword, riding a dragon", style="realistic")
    # When the offline backend notes what it will draw
    summary, notes = scene_notes(spec)
    # Then the unknown words and the missing photorealism are both said
    assert NO_PHOTOREALISM in notes
    missing = next(n for n in notes if n.startswith("not drawn"))
    assert "sword" in missing and "dragon" in missing and "man" not in missing.split(": ")[1].split(", ")
    assert summary["style"] == "realistic"


def test_the_scene_vocabulary_covers_a_mixed_prompt_set() -> None:
    # Given prompts mixing many elements (written for this test, not taken from the describe tables)
    cases = [
        ("A bald old man with a grey beard in a navy blazer, library, soft lighting",
         ["bald", "elderly", "beard", "blazer", "navy", "library", "soft"]),
        ("young woman, curly black hair, yellow raincoat, headphones, rainy city street",
         ["young", "curly", "black", "jacket", "yellow", "headphones", "city"]),
        ("teenage boy in a green hoodie with a baseball cap, smiling, skate park",
         ["teen", "hoodie", "green", "cap", "smiling", "garden"]),
        ("smiling grandmother with silver hair and pearl earrings, cozy living room",
         ["elderly", "smiling", "silver", "earrings", "living room"]),
        ("serious soldier in an olive uniform with medals, battlefield, dramatic light",
         ["serious", "uniform", "olive", "medals", "battlefield", "dramatic"]),
    ]  # fmt: skip
    found = total = 0
    for prompt, elements in cases:
        flat = _flat(_summary(prompt))
        total += len(elements)
        found += sum(1 for e in elements if f'"{e}' in flat or f" {e}" in flat)
    assert found / total >= 0.9, (found, total)


def test_attributes_still_win_and_the_negative_prompt_still_vetoes() -> None:
    summary = _summary("a young woman with a beard", attributes=Attributes(gender="male", age="senior"))
    assert summary["gender"] == "male" and summary["age"] == "elderly"
    vetoed = _summary("man with sunglasses and a cowboy hat", negative_prompt="hat, sunglasses")
    assert "cowboy hat" not in vetoed["accessories"] and "sunglasses" not in vetoed["accessories"]
    assert "glasses" not in _summary("a man without glasses", guidance_scale=15)["accessories"]


def _png(spec: GenerationSpec, index: int) -> bytes:
    return finalize(render_variation(spec, index, []), spec.output.width, spec.output.height, "png")[0]


@pytest.mark.parametrize("style", [None, "professional", "cyberpunk", "noir"])
def test_every_variation_differs_and_the_seed_reproduces_the_bytes(style: str | None) -> None:
    # Given a three-variation text job
    spec = _spec("man with short black hair in a blue suit, office", style=style, num_variations=3)
    # When each variation is rendered twice
    first = [_png(spec, i) for i in range(3)]
    second = [_png(spec, i) for i in range(3)]
    # Then the three are different images, and the same seed gives the same bytes
    assert len(set(first)) == 3
    assert first == second
    # And the framing differs between variations (not only a pixel or two)
    scenes = [describe(spec, i).framing for i in range(3)]
    assert len({(f.zoom, f.shift, f.mirror) for f in scenes}) == 3


def test_what_is_drawn_changes_the_picture() -> None:
    base = _png(_spec("man in a suit", guidance_scale=15), 0)
    for extra in ("with headphones", "with a crown", "in a forest", "at golden hour", "with a goatee"):
        assert _png(_spec(f"man in a suit {extra}", guidance_scale=15), 0) != base, extra


def test_no_renderer_module_is_over_400_lines() -> None:
    sizes = {p.name: len(p.read_text().splitlines()) for p in RENDERER.glob("*.py")}
    assert sizes and max(sizes.values()) <= 400, sizes


def test_the_not_drawn_note_stays_short_for_any_prompt() -> None:
    # Given a prompt of forty unknown words and one very long word
    prompt = " ".join(f"thing{i}" for i in range(40)) + " " + "x" * 3000
    # When the offline backend notes what it could not draw
    _, notes = scene_notes(_spec(prompt))
    # Then the note names a bounded number of words, each shortened
    missing = next(n for n in notes if n.startswith("not drawn"))
    assert "thing0" in missing and "more" in missing and len(missing) < 400
