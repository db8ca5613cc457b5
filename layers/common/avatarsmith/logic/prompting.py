"""The deterministic prompt composer: merges style, attributes, hints and the user's text into the
final prompt a backend receives (recorded in the job's provenance).

The user's text is never cut: when the model's prompt limit leaves no room for everything, the composer
leaves out its own additions (hints first, then the style, the pose and the subject) and says so.
A person's `name` names the avatar; it is never written into the image prompt.
"""

from __future__ import annotations

from avatarsmith import catalog
from avatarsmith.models.domain import GenerationSpec

COMPOSER_VERSION = "composer-2"
FOLD_SEPARATOR = ". Avoid: "  # how adapters fold a negative prompt into a backend without one


def _subject(spec: GenerationSpec) -> str:
    a = spec.attributes
    subject_parts = []
    if a.age and a.age != "unspecified":
        subject_parts.append(a.age.replace("_", " "))
    if a.ethnicity:
        subject_parts.append(a.ethnicity.replace("_", " "))
    person = {"female": "woman", "male": "man", "non_binary": "person"}.get(a.gender or "", "person")
    if a.person_type == "kid" or a.age == "kid":
        person = "child"
    subject_parts.append(person)
    return f"avatar portrait of a {' '.join(subject_parts)}"


def compose_within(spec: GenerationSpec, max_chars: int | None = None) -> tuple[str, list[str]]:
    """(prompt, provenance notes). Within `max_chars` when the user's own text fits in it."""
    pose = spec.attributes.pose.replace("_", " ") + " shot" if spec.attributes.pose else None
    preset = catalog.find_style(spec.style) if spec.style else None
    style = f"{preset.title} style" if preset else None
    hints = [f"{key.replace('_', ' ')}: {spec.hints[key]}" for key in sorted(spec.hints)]
    # (part, label); the ones listed later are left out first when the prompt must shrink
    extras: list[tuple[str | None, str]] = [
        (_subject(spec), "subject"),
        (pose, "pose"),
        (style, "style"),
        *((h, "hints") for h in hints),
    ]

    def join(kept: list[tuple[str | None, str]]) -> str:
        parts = [p for p, _ in kept[:2] if p]
        if spec.prompt:
            parts.append(spec.prompt)
        parts.extend(p for p, _ in kept[2:] if p)
        return ", ".join(parts)

    kept = list(extras)
    dropped: list[str] = []
    prompt = join(kept)
    while max_chars is not None and len(prompt) > max_chars and any(p for p, _ in kept):
        index = max(i for i, (p, _) in enumerate(kept) if p)
        label = kept[index][1]
        kept[index] = (None, label)
        if label not in dropped:
            dropped.append(label)
        prompt = join(kept)
    notes = []
    if dropped:
        notes.append(
            f"composer left out the {', '.join(dropped)} it adds, to keep the prompt within the model's "
            f"{max_chars} characters"
        )
    return prompt, notes


def compose_prompt(spec: GenerationSpec, max_chars: int | None = None) -> str:
    return compose_within(spec, max_chars)[0]


def prompt_budget(model: catalog.ModelEntry, spec: GenerationSpec) -> int:
    """Characters the composed prompt may use on `model`: its limit, less the negative prompt when the
    backend has no negative prompt and it is folded into the prompt."""
    if spec.negative_prompt and "negative_prompt" not in model.capabilities:
        return model.max_prompt_chars - len(FOLD_SEPARATOR) - len(spec.negative_prompt)
    return model.max_prompt_chars
