"""Style presets and the model catalog.

Style ids are stable integers (302.AI passes ids); never renumber, only append.
Each model maps a public id to a backend and a credit cost per variation.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class StylePreset:
    id: int
    name: str
    title: str
    description: str
    aliases: tuple[str, ...] = ()


STYLES: tuple[StylePreset, ...] = (
    StylePreset(
        1,
        "professional",
        "Professional",
        "Studio headshot: soft grey or warm backdrop, business palette with collar and tie, gentle contrast.",
    ),
    StylePreset(
        2,
        "anime",
        "Anime",
        "Anime look: pastel sky with bokeh, bold outlines, big eyes, saturated colours; photos get flat "
        "cel colours and ink edges (offline: an approximation, not a trained anime model).",
    ),
    StylePreset(
        3,
        "fantasy",
        "Fantasy",
        "Storybook fantasy: violet night gradient with sparkles, jewel-tone robes, a soft magical glow.",
    ),
    StylePreset(
        4,
        "cyberpunk",
        "Cyberpunk",
        "Neon night city: skyline with lit windows, magenta/teal split tone, contrast boost and scanlines.",
    ),
    StylePreset(
        5,
        "renaissance",
        "Renaissance",
        "Oil-portrait mood: dark umber backdrop, deep reds and greens, warm varnish and a heavy vignette "
        "(offline: approximated by tone, no brushwork).",
    ),
    StylePreset(
        6,
        "realistic",
        "Realistic",
        "Natural colours and soft light on a neutral backdrop (offline: the most natural palette of the "
        "illustrated character; photorealism needs a real backend or a reference photo).",
        aliases=("ultra realistic", "photorealistic"),
    ),
    StylePreset(
        7,
        "pixar",
        "Pixar",
        "Bright 3D-animation palette: sunny gradient with bokeh, big friendly eyes, rosy cheeks; photos get "
        "soft posterised colour (offline: approximated, no 3D shading).",
    ),
    StylePreset(
        8,
        "cinematic",
        "Cinematic",
        "Film still: dusk gradient, teal-and-orange grade and 2.39:1 letterbox bars (the pose is framed "
        "inside them).",
    ),
    StylePreset(
        9,
        "vintage",
        "Vintage",
        "Old photograph: sepia toning, faded contrast, seeded film grain and a vignette.",
    ),
    StylePreset(
        10,
        "noir",
        "Noir",
        "Film noir: black and white with an S-curve, venetian-blind light and a deep vignette.",
    ),
)

_STYLE_BY_KEY: dict[str, StylePreset] = {}
for _style in STYLES:
    _STYLE_BY_KEY[_style.name] = _style
    _STYLE_BY_KEY[str(_style.id)] = _style
    for _alias in _style.aliases:
        _STYLE_BY_KEY[_alias] = _style

# Values the seeds use to mean "no preset".
NO_STYLE_VALUES = frozenset({"", "unspecified", "none", "auto", "0"})


def find_style(value: str | int) -> StylePreset | None:
    """A preset by name (any case), alias or integer id; None when unknown."""
    key = str(value).strip().lower()
    return _STYLE_BY_KEY.get(key)


@dataclass(frozen=True)
class ModelEntry:
    id: str
    backend: str
    backend_model: str
    credits_per_variation: int
    description: str
    capabilities: frozenset[str] = field(default_factory=frozenset)
    test_only: bool = False


# Backends that ship with every deployment; others need configuration (a later issue).
BUILTIN_BACKENDS = frozenset({"offline"})
TEST_BACKENDS = frozenset({"async-test"})

DEFAULT_MODEL = "avatarsmith-studio"

_OFFLINE_CAPS = frozenset({"seed", "negative_prompt", "reference_images", "styles", "attributes"})

MODELS: tuple[ModelEntry, ...] = (
    ModelEntry(
        DEFAULT_MODEL,
        "offline",
        "studio-simple",
        1,
        "Built-in offline avatar renderer: deterministic, no network, no model weights.",
        _OFFLINE_CAPS,
    ),
    # The seeds' public model ids. Until a real backend is configured for them they are served by the
    # offline renderer (the job's provenance always names the backend that actually ran).
    ModelEntry(
        "flux", "offline", "studio-simple", 2, "Fast, standard quality (Percify `flux`).", _OFFLINE_CAPS
    ),
    ModelEntry("imagen3", "offline", "studio-simple", 5, "High quality (Percify `imagen3`).", _OFFLINE_CAPS),
    ModelEntry(
        "reality4", "offline", "studio-simple", 5, "Ultra realistic (Percify `reality4`).", _OFFLINE_CAPS
    ),
    ModelEntry(
        "test-async",
        "async-test",
        "studio-simple",
        1,
        "Test backend: asynchronous, needs several polls before the images are ready.",
        _OFFLINE_CAPS,
        test_only=True,
    ),
)

# 302.AI's `model` names the language model that rewrites the prompt, not the image model. Values that
# look like a language model are taken as `prompt_model` instead of being rejected.
PROMPT_MODEL_PREFIXES = (
    "gpt-",
    "o1",
    "o3",
    "o4",
    "claude",
    "gemini",
    "deepseek",
    "qwen",
    "llama",
    "mistral",
    "glm",
    "moonshot",
    "anthropic.",
    "amazon.nova-",
    "meta.",
)


def available_models(*, include_test: bool) -> list[ModelEntry]:
    backends = BUILTIN_BACKENDS | (TEST_BACKENDS if include_test else frozenset())
    return [m for m in MODELS if m.backend in backends]


def find_model(model_id: str, *, include_test: bool) -> ModelEntry | None:
    key = model_id.strip().lower()
    return next((m for m in available_models(include_test=include_test) if m.id == key), None)


def looks_like_prompt_model(model_id: str) -> bool:
    return model_id.strip().lower().startswith(PROMPT_MODEL_PREFIXES)
