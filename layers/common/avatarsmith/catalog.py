"""Style presets and the model catalog.

Style ids are stable integers (302.AI passes ids); never renumber, only append.
Models live in the versioned `models_catalog.json` (or a deployment's override in SSM): each public id
has a credit cost per variation and an ordered list of routes (backend, backend model, capabilities,
prompt limits); the first route whose backend is configured serves it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any


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
        "Natural colours and soft, shaded light on a neutral backdrop. Offline this is NOT photorealistic: "
        "the built-in renderer draws an illustrated, softly shaded portrait and says so in the job's "
        'provenance.adjustments; photorealism (and "ultra realistic") needs a real backend.',
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
    """A public model id resolved to the one backend route that serves it in this deployment."""

    id: str
    backend: str
    backend_model: str
    credits_per_variation: int
    description: str
    capabilities: frozenset[str] = field(default_factory=frozenset)
    test_only: bool = False
    max_prompt_chars: int = 4000
    max_negative_chars: int | None = None
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    catalog_version: str = ""
    # Served by the offline renderer only because none of the model's real backends is configured here:
    # priced as the offline model, and said so in GET /v1/models and the job's provenance.
    fallback: bool = False


# Backends that ship with every deployment; the others are configured (see backends/settings.py).
BUILTIN_BACKENDS = frozenset({"offline"})
TEST_BACKENDS = frozenset({"async-test"})
# Backends that answer the images within one call (made inside StoreImages): their jobs run on the EXPRESS
# workflow, which ends in minutes and costs a fraction of STANDARD's per-transition price. The others
# (provider tasks that can take many minutes) run on the STANDARD workflow.
SYNCHRONOUS_BACKENDS = frozenset({"offline", "openai", "automatic1111", "bedrock"})

DEFAULT_MODEL = "avatarsmith-studio"

CATALOG_FILE = Path(__file__).with_name("models_catalog.json")
CATALOG_PARAMETER_ENV = "AVATARSMITH_MODEL_CATALOG_PARAMETER"
# Template parameter OfflineFallback: "allow" (default) serves a model with no configured real backend by
# the offline renderer, as a visible fallback at the offline price; "refuse" answers 400 model_unavailable.
OFFLINE_FALLBACK_ENV = "AVATARSMITH_OFFLINE_FALLBACK"


@dataclass(frozen=True)
class _Catalog:
    version: str
    models: tuple[dict[str, Any], ...]


def parse_catalog(raw: str) -> _Catalog:
    """Validate a catalog document (the packaged file or a deployment's SSM override)."""
    doc = json.loads(raw)
    if not isinstance(doc, dict) or not isinstance(doc.get("models"), list) or not doc.get("version"):
        raise ValueError('a model catalog is {"version": ..., "models": [...]}')
    seen: set[str] = set()
    for model in doc["models"]:
        model_id = str(model["id"]).lower()
        if model_id in seen:
            raise ValueError(f"model catalog: duplicate id {model_id!r}")
        seen.add(model_id)
        if int(model["credits_per_variation"]) < 0 or not model.get("routes"):
            raise ValueError(f"model catalog: {model_id!r} needs credits_per_variation >= 0 and routes")
        for route in model["routes"]:
            if not route.get("backend") or not route.get("backend_model"):
                raise ValueError(
                    f"model catalog: every route of {model_id!r} needs backend and backend_model"
                )
    if DEFAULT_MODEL not in seen:
        raise ValueError(f"model catalog: the default model {DEFAULT_MODEL!r} must stay in the catalog")
    return _Catalog(str(doc["version"]), tuple(doc["models"]))


@lru_cache(maxsize=4)
def _parsed(raw: str) -> _Catalog:
    return parse_catalog(raw)


def load_catalog() -> _Catalog:
    """The packaged catalog, or the deployment's override from the SSM parameter named by
    AVATARSMITH_MODEL_CATALOG_PARAMETER (read through Powertools parameters, cached 5 minutes)."""
    name = os.environ.get(CATALOG_PARAMETER_ENV, "").strip()
    if name:
        from aws_lambda_powertools.utilities import parameters

        return _parsed(str(parameters.get_parameter(name, max_age=300)))
    return _parsed(CATALOG_FILE.read_text())


def _entry(model: dict[str, Any], route: dict[str, Any], cat: _Catalog) -> ModelEntry:
    fallback = _is_fallback(model, route)
    return ModelEntry(
        id=str(model["id"]).lower(),
        backend=str(route["backend"]),
        backend_model=str(route["backend_model"]),
        credits_per_variation=_offline_price(cat) if fallback else int(model["credits_per_variation"]),
        description=str(model.get("description", "")),
        capabilities=frozenset(route.get("capabilities", ())),
        test_only=bool(model.get("test_only", False)),
        max_prompt_chars=int(route.get("max_prompt_chars", 4000)),
        max_negative_chars=route.get("max_negative_chars"),
        options=dict(route.get("options", {})),
        catalog_version=cat.version,
        fallback=fallback,
    )


def _is_fallback(model: dict[str, Any], route: dict[str, Any]) -> bool:
    """A built-in route standing in for a model whose own backends are real ones (flux, imagen3, ...)."""
    return route["backend"] in BUILTIN_BACKENDS and any(
        r["backend"] not in BUILTIN_BACKENDS | TEST_BACKENDS for r in model["routes"]
    )


def _offline_price(cat: _Catalog) -> int:
    """What the offline renderer costs: the default model's price (it is the offline model)."""
    default = next(m for m in cat.models if str(m["id"]).lower() == DEFAULT_MODEL)
    return int(default["credits_per_variation"])


def offline_fallback_allowed() -> bool:
    value = os.environ.get(OFFLINE_FALLBACK_ENV, "").strip().lower()
    return value not in ("refuse", "refused", "false", "0", "no")


def _enabled_backends(include_test: bool) -> frozenset[str]:
    from avatarsmith.backends.settings import configured_backends

    enabled = frozenset(configured_backends()) | BUILTIN_BACKENDS
    return enabled | TEST_BACKENDS if include_test else enabled - TEST_BACKENDS


def catalog_ids() -> frozenset[str]:
    """Every public id in the catalog, configured or not."""
    return frozenset(str(m["id"]).lower() for m in load_catalog().models)


def available_models(*, include_test: bool) -> list[ModelEntry]:
    """Models with at least one configured backend, each resolved to its first configured route."""
    cat = load_catalog()
    enabled = _enabled_backends(include_test)
    allow_fallback = offline_fallback_allowed()
    out: list[ModelEntry] = []
    for model in cat.models:
        if model.get("test_only") and not include_test:
            continue
        route = next((r for r in model["routes"] if r["backend"] in enabled), None)
        if route is not None and (allow_fallback or not _is_fallback(model, route)):
            out.append(_entry(model, route, cat))
    return out


def find_model(model_id: str, *, include_test: bool) -> ModelEntry | None:
    key = model_id.strip().lower()
    return next((m for m in available_models(include_test=include_test) if m.id == key), None)


def find_route(model_id: str, backend: str) -> ModelEntry | None:
    """The catalog's route of `model_id` on `backend`, configured or not (a running job keeps its route)."""
    cat = load_catalog()
    key = model_id.strip().lower()
    for model in cat.models:
        if str(model["id"]).lower() == key:
            route = next((r for r in model["routes"] if r["backend"] == backend), None)
            return _entry(model, route, cat) if route else None
    return None


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


def looks_like_prompt_model(model_id: str) -> bool:
    """True for a language model's name; never for an image model in the catalog (e.g. `gpt-image-1`)."""
    key = model_id.strip().lower()
    return key.startswith(PROMPT_MODEL_PREFIXES) and key not in catalog_ids()
