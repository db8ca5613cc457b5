"""Request bodies for Bedrock's image models, shaped from their contract tables (contracts/bedrock.json).

Each mapping that moves a value away from what the user asked is recorded as a provenance adjustment:
sizes (Nova's 16-pixel grid and 1:4-4:1 bound, Titan's fixed list, Stability's ratio set), seeds outside
the model's range, guidance outside cfgScale's range, prompts over the model's length, reference images
beyond the model's count, and the fitting of every reference to the model's input limits.
"""

from __future__ import annotations

import base64
import math
from typing import Any

from avatarsmith.backends.contracts import model_contract
from avatarsmith.backends.mapping import Plan, nearest_ratio, nearest_size, round_size, sized_plan
from avatarsmith.errors import BackendModelNotFoundError
from avatarsmith.models.domain import GenerationSpec

BODY_LIMIT = 25_000_000  # botocore bedrock-runtime Body.max
SIMILARITY = 0.7  # IMAGE_VARIATION similarityStrength (documented default)
STRENGTH = 0.6  # SD 3.5 image-to-image strength: keeps the person, restyles the picture
NAMES = {"amazon.nova-canvas-v1": "Nova Canvas", "amazon.titan-image-generator-v2": "Titan Image v2"}
NAMES["stability.sd3-5-large-v1"] = "Stable Diffusion 3.5 Large"


def model_table(spec: GenerationSpec) -> dict[str, Any]:
    table = model_contract("bedrock", spec.backend_model or "")
    if table is None:
        raise BackendModelNotFoundError(f"no Bedrock request format for model {spec.backend_model!r}")
    return table


def _label(spec: GenerationSpec) -> str:
    return NAMES.get((spec.backend_model or "").split(":", 1)[0], spec.backend_model or "the model")


def region_for(spec: GenerationSpec, default: str | None) -> str | None:
    """The route's own region (the model is offered there), else the deployment's Bedrock region."""
    from avatarsmith import catalog

    entry = catalog.find_route(spec.model, "bedrock")
    region = (entry.options.get("region") if entry else None) or default
    return str(region) if region else None


def nova_size(w: int, h: int, fields: dict[str, Any]) -> tuple[int, int]:
    """The nearest Nova size: sides 320-4096 on a 16-pixel grid, at most 4,194,304 px, ratio within 1:4."""
    side, pixels = fields["width"], fields["pixels"]
    ratio = float(pixels["max_ratio"])
    if w / h > ratio:
        h = math.ceil(w / ratio)
    elif h / w > ratio:
        w = math.ceil(h / ratio)
    step, low, high = int(side["multiple_of"]), int(side["min"]), int(side["max"])
    w, h = round_size(w, h, multiple=step, low=low, high=high, max_pixels=int(pixels["max"]))
    while max(w, h) / min(w, h) > ratio or w * h > int(pixels["max"]):  # rounding may overshoot by a step
        if w >= h:
            w -= step
        else:
            h -= step
    return w, h


def _truncate(plan: Plan, attr: str, limit: int | None, what: str, label: str) -> None:
    value = getattr(plan, attr)
    if value and limit and len(value) > limit:
        setattr(plan, attr, value[:limit].rstrip() or value[:limit])
        plan.adjustments.append(f"{what} shortened to {limit} characters ({label}'s limit)")


def map_seed(seed: int, field: dict[str, Any]) -> int:
    """The seed within the model's range (a deterministic fold, so the job stays reproducible)."""
    high = int(field["max"])
    return seed if seed <= high else seed % (high + 1)


def plan_for(spec: GenerationSpec) -> Plan:
    table = model_table(spec)
    fields, label = table["fields"], _label(spec)
    w, h = spec.output.width, spec.output.height
    if table["family"] == "stability":
        plan = sized_plan(
            spec, aspect_ratio=nearest_ratio(w, h, fields["aspect_ratio"]["enum"]), negative_supported=True
        )
        text_field, negative_field = "prompt", "negative_prompt"
        if spec.reference_images:  # image-to-image takes no aspect_ratio: the output has the input's shape
            plan.adjustments = [a for a in plan.adjustments if not a.startswith("generated at")]
            plan.adjustments.append(
                f"image-to-image: the reference was cropped to {w}x{h}'s shape (the output follows it)"
            )
        for index in range(spec.num_variations):
            if spec.variation_seed(index) == 0:
                plan.adjustments.append(
                    f"seed 0 means random at {label}: sent as {int(fields['seed']['max'])}"
                )
    else:
        if "sizes" in fields:
            size = nearest_size(w, h, [(int(a), int(b)) for a, b in fields["sizes"]["value"]])
        else:
            size = nova_size(w, h, fields)
        plan = sized_plan(spec, size, negative_supported=True)
        text_field, negative_field = "text", "negativeText"
        seed = map_seed(spec.seed, fields["seed"])
        if seed != spec.seed:
            plan.adjustments.append(
                f"seed {spec.seed} sent as {seed} ({label} takes 0-{int(fields['seed']['max'])})"
            )
        if spec.guidance_scale is not None:
            low, high = float(fields["cfgScale"]["min"]), float(fields["cfgScale"]["max"])
            cfg = max(low, min(high, spec.guidance_scale))
            if cfg != spec.guidance_scale:
                plan.adjustments.append(f"guidance_scale {spec.guidance_scale:g} sent as cfgScale {cfg:g}")
    _truncate(plan, "prompt", fields[text_field].get("max_length"), "prompt", label)
    _truncate(plan, "negative", fields[negative_field].get("max_length"), "negative_prompt", label)
    refs = table.get("references") or {}
    if spec.reference_images:
        count = int(refs.get("max_count", 1))
        if len(spec.reference_images) > count:
            plan.adjustments.append(f"only the first {count} reference image(s) were used ({label}'s limit)")
        limits = [f"at most {refs['max_side']} px a side"] if refs.get("max_side") else []
        if refs.get("max_pixels"):
            limits.append(f"{refs['max_pixels']:,} px")
        limits.append("/".join(f.upper() for f in refs["formats"]))
        plan.adjustments.append(
            f"reference images scaled and re-encoded to {label}'s input limits ({', '.join(limits)})"
        )
    return plan


def fit_references(spec: GenerationSpec, plan: Plan, references: list[bytes]) -> list[str]:
    """The references (as many as the model takes) fitted to its input limits, base64-encoded."""
    if not references:
        return []
    from avatarsmith.backends.reference_fit import fit_reference

    table = model_table(spec)
    refs = table["references"]
    crop = None
    if table["family"] == "stability":  # image-to-image keeps the input's shape: give it the requested one
        crop = spec.output.width / spec.output.height
    out = []
    for data in references[: int(refs.get("max_count", 1))]:
        fitted, _ = fit_reference(
            data,
            max_side=int(refs.get("max_side", 4096)),
            max_pixels=refs.get("max_pixels"),
            max_bytes=int(refs["max_bytes"]),
            formats=tuple(sorted(refs["formats"], key=lambda f: f != "jpeg")),  # photos: JPEG first
            min_side=refs.get("min_side"),
            max_ratio=refs.get("max_ratio"),
            crop_ratio=crop,
        )
        out.append(base64.b64encode(fitted).decode("ascii"))
    return out


def amazon_body(spec: GenerationSpec, plan: Plan, references: list[str]) -> tuple[dict[str, Any], int]:
    """Nova Canvas / Titan v2: TEXT_IMAGE, or IMAGE_VARIATION with the references; and the seed sent."""
    fields = model_table(spec)["fields"]
    seed = map_seed(spec.seed, fields["seed"])
    text: dict[str, Any] = {"text": plan.prompt}
    if plan.negative:
        text["negativeText"] = plan.negative
    config: dict[str, Any] = {
        "width": plan.width,
        "height": plan.height,
        "seed": seed,
        "numberOfImages": spec.num_variations,
        "quality": "standard",
    }
    if spec.guidance_scale is not None:
        low, high = float(fields["cfgScale"]["min"]), float(fields["cfgScale"]["max"])
        config["cfgScale"] = max(low, min(high, spec.guidance_scale))
    if references:
        params = {**text, "images": references, "similarityStrength": SIMILARITY}
        return {
            "taskType": "IMAGE_VARIATION",
            "imageVariationParams": params,
            "imageGenerationConfig": config,
        }, seed
    return {"taskType": "TEXT_IMAGE", "textToImageParams": text, "imageGenerationConfig": config}, seed


def stability_body(
    spec: GenerationSpec, plan: Plan, references: list[str], index: int
) -> tuple[dict[str, Any], int]:
    """SD 3.5 Large: one image per call; text-to-image with an aspect ratio, or image-to-image."""
    fields = model_table(spec)["fields"]
    seed = spec.variation_seed(index) % (int(fields["seed"]["max"]) + 1)
    sent = seed or int(fields["seed"]["max"])  # 0 would ask for a random seed
    body: dict[str, Any] = {"prompt": plan.prompt, "seed": sent, "output_format": "png"}
    if plan.negative:
        body["negative_prompt"] = plan.negative
    if references:
        body.update(mode="image-to-image", image=references[0], strength=STRENGTH)
    else:
        body.update(mode="text-to-image", aspect_ratio=plan.extra["aspect_ratio"])
    return body, seed
