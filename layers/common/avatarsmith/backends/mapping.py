"""Honest capability mapping shared by the adapters: sizes, negative prompts, prompts, poll intervals.

The backend generates at the nearest size it supports; StoreImages then crops/resizes exactly to what the
user asked (renderer.imaging.finalize), and the job's provenance lists every such adjustment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from avatarsmith.logic.prompting import FOLD_SEPARATOR, compose_prompt
from avatarsmith.models.domain import GenerationSpec

POLL_SECONDS_ENV = "AVATARSMITH_POLL_SECONDS"  # "replicate=2,fal=1" or "*=0"


@dataclass
class Plan:
    """What one job will ask the backend for, and what had to change to get there."""

    prompt: str
    negative: str | None
    width: int
    height: int
    adjustments: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def final_prompt(spec: GenerationSpec) -> str:
    """The prompt the workflow chose at submit (composer or optimiser), else the composer's."""
    return spec.final_prompt or compose_prompt(spec)


def fold_negative(prompt: str, negative: str | None) -> str:
    return f"{prompt}{FOLD_SEPARATOR}{negative}" if negative else prompt


def plan_prompt(spec: GenerationSpec, *, negative_supported: bool) -> Plan:
    prompt = final_prompt(spec)
    negative = spec.negative_prompt or None
    adjustments: list[str] = []
    if negative and not negative_supported:
        prompt = fold_negative(prompt, negative)
        negative = None
        adjustments.append("negative_prompt folded into the prompt (the backend has no negative prompt)")
    w, h = spec.output.width, spec.output.height
    return Plan(prompt=prompt, negative=negative, width=w, height=h, adjustments=adjustments)


NOT_REPRODUCIBLE = "the backend takes no seed: the result is not reproducible"


def sized_plan(
    spec: GenerationSpec,
    size: tuple[int, int] | None = None,
    *,
    negative_supported: bool,
    seed_supported: bool = True,
    aspect_ratio: str | None = None,
) -> Plan:
    """The plan every adapter makes: the prompt (negative folded where unsupported), the size the backend
    generates at (given, or the named aspect ratio's), and a provenance note for each adjustment."""
    plan = plan_prompt(spec, negative_supported=negative_supported)
    if aspect_ratio is not None:
        plan.extra["aspect_ratio"] = aspect_ratio
        size = ratio_size(aspect_ratio)
    if size is None:
        raise ValueError("sized_plan needs a size or an aspect ratio")
    plan.width, plan.height = size
    size_note(plan, spec)
    if not seed_supported:
        plan.adjustments.append(NOT_REPRODUCIBLE)
    return plan


def route_capabilities(spec: GenerationSpec, backend: str) -> frozenset[str]:
    """What the catalog route serving this job's model on `backend` says the model supports."""
    from avatarsmith import catalog

    entry = catalog.find_route(spec.model, backend)
    return entry.capabilities if entry else frozenset()


def size_note(plan: Plan, spec: GenerationSpec) -> None:
    if (plan.width, plan.height) != (spec.output.width, spec.output.height):
        plan.adjustments.append(
            f"generated at {plan.width}x{plan.height}, "
            f"cropped/resized to {spec.output.width}x{spec.output.height}"
        )


def round_size(
    w: int, h: int, *, multiple: int, low: int, high: int, max_pixels: int | None = None
) -> tuple[int, int]:
    """The nearest size with both sides a multiple of `multiple` in [low, high] (and under max_pixels),
    keeping the aspect ratio as well as the limits allow."""
    scale = 1.0
    if max_pixels and w * h > max_pixels:
        scale = (max_pixels / (w * h)) ** 0.5
    if max(w, h) * scale > high:
        scale = high / max(w, h)
    if min(w, h) * scale < low:
        scale = low / min(w, h)

    def fit(v: float) -> int:
        return max(low, min(high, round(v / multiple) * multiple))

    return fit(w * scale), fit(h * scale)


def nearest_ratio(w: int, h: int, ratios: list[str]) -> str:
    """The listed "W:H" ratio closest to w/h (in log space, so 2:3 and 3:2 are equally far from 1:1)."""
    import math

    target = math.log(w / h)

    def distance(r: str) -> float:
        a, b = (int(x) for x in r.split(":"))
        return abs(math.log(a / b) - target)

    return min(ratios, key=distance)


def nearest_size(w: int, h: int, sizes: list[tuple[int, int]]) -> tuple[int, int]:
    import math

    target = math.log(w / h)
    return min(sizes, key=lambda s: (abs(math.log(s[0] / s[1]) - target), abs(s[0] * s[1] - w * h)))


def ratio_size(ratio: str, long_side: int = 1024) -> tuple[int, int]:
    a, b = (int(x) for x in ratio.split(":"))
    return (long_side, round(long_side * b / a)) if a >= b else (round(long_side * a / b), long_side)


def poll_seconds(backend: str, default: int, options: dict[str, Any] | None = None) -> int:
    """Per-backend poll interval: env override, then the catalog route's `poll_seconds`, then the default."""
    raw = os.environ.get(POLL_SECONDS_ENV, "")
    table = dict(item.split("=", 1) for item in raw.split(",") if "=" in item)
    value = table.get(backend, table.get("*"))
    if value is None and options and "poll_seconds" in options:
        value = options["poll_seconds"]
    seconds = int(value) if value is not None else default
    return max(0, min(300, seconds))
