"""The deterministic prompt composer: merges style, attributes, hints and the user's text into the
final prompt a backend receives (recorded in the job's provenance)."""

from __future__ import annotations

from avatarsmith import catalog
from avatarsmith.models.domain import GenerationSpec

COMPOSER_VERSION = "composer-1"


def compose_prompt(spec: GenerationSpec) -> str:
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
    subject = " ".join(subject_parts)
    if a.name:
        subject += f" named {a.name}"
    parts = [f"avatar portrait of a {subject}"]
    if a.pose:
        parts.append(a.pose.replace("_", " ") + " shot")
    if spec.prompt:
        parts.append(spec.prompt)
    if spec.style:
        preset = catalog.find_style(spec.style)
        if preset:
            parts.append(f"{preset.title} style")
    for key in sorted(spec.hints):
        parts.append(f"{key.replace('_', ' ')}: {spec.hints[key]}")
    return ", ".join(parts)
