"""Stored models built with every optional field absent, empty, or at its limit (for round-trip tests)."""

from __future__ import annotations

from typing import Any

from avatarsmith.ids import new_avatar_id, new_job_id
from avatarsmith.models.api import MAX_PROMPT
from avatarsmith.models.domain import (
    Attributes,
    Credits,
    GenerationSpec,
    Job,
    JobError,
    JobStatus,
    OutputSpec,
    Provenance,
    ReferenceImage,
    SavedAvatar,
    Variation,
)

NOW = "2026-11-29T04:00:00.000Z"
SHAPES = ("absent", "empty", "at_limit")


def completed_job(tenant_id: str, shape: str = "absent", *, job_id: str | None = None) -> Job:
    """A completed job whose optional fields are all `shape`."""
    job_id = job_id or new_job_id()
    output = OutputSpec(width=512, height=512)
    variation = Variation(index=0, status="completed", image_key=f"{tenant_id}/{job_id}/0.png")
    if shape == "absent":
        return Job(
            id=job_id,
            tenant_id=tenant_id,
            status=JobStatus.COMPLETED,
            created_at=NOW,
            updated_at=NOW,
            spec=GenerationSpec(model="flux", output=output, seed=1),
            credits=Credits(),
            variations=[variation],
        )
    if shape == "empty":
        return Job(
            id=job_id,
            tenant_id=tenant_id,
            status=JobStatus.COMPLETED,
            created_at=NOW,
            updated_at=NOW,
            spec=GenerationSpec(
                prompt="",
                negative_prompt="",
                model="flux",
                style="",
                attributes=Attributes(ethnicity="", name=""),
                hints={},
                reference_images=[],
                output=OutputSpec(width=512, height=512, aspect_ratio=""),
                seed=0,
                prompt_model="",
                backend="",
                backend_model="",
            ),
            credits=Credits(),
            variations=[variation.model_copy(update={"error_code": "", "thumbnail_key": ""})],
            provenance=Provenance(adjustments=[], final_prompt="", backend=""),
            error=JobError(code="", message=""),
            client_reference_id="",
            metadata={},
            callback_url="",
            callback_id="",
        )
    assert shape == "at_limit"
    long = "é" * MAX_PROMPT
    return Job(
        id=job_id,
        tenant_id=tenant_id,
        status=JobStatus.COMPLETED,
        created_at=NOW,
        updated_at=NOW,
        spec=GenerationSpec(
            prompt=long,
            negative_prompt=long,
            model="flux",
            style="noir",
            attributes=Attributes(
                gender="non_binary",
                age="senior",
                ethnicity="x" * 60,
                person_type="custom",
                pose="full_body",
                orientation="vertical",
                name="n" * 100,
            ),
            hints={f"h{i:02d}" + "k" * 60: ("v" * 500 if i % 2 else 2**53 + 1) for i in range(32)},
            reference_images=[
                ReferenceImage(kind="url", location="https://example.com/" + "p" * 2000, size_bytes=15 << 20)
                for _ in range(4)
            ],
            output=OutputSpec(width=2048, height=2048, aspect_ratio="9:16", format="webp"),
            guidance_scale=30.0,
            seed=2_147_483_647,
            num_variations=4,
            prompt_model="amazon.nova-lite-v1:0",
            backend="replicate",
            backend_model="stability-ai/sdxl",
        ),
        credits=Credits(reserved=4, charged=4, refunded=0),
        variations=[
            Variation(
                index=i,
                status="completed",
                width=2048,
                height=2048,
                format="webp",
                seed=2_147_483_647,
                image_key=f"{tenant_id}/{job_id}/{i}.webp",
                thumbnail_key=f"{tenant_id}/{job_id}/{i}.thumb.webp",
            )
            for i in range(4)
        ],
        provenance=Provenance(
            backend="replicate",
            backend_model="stability-ai/sdxl",
            backend_job_id="b" * 200,
            final_prompt=long,
            seed=2_147_483_647,
            renderer_version="1",
            reproducible=False,
            adjustments=["a" * 200] * 10,
            catalog_version="2026-11-22.2",
        ),
        error=JobError(code="generation_failed", message="m" * 1000),
        client_reference_id="r" * 200,
        metadata={f"{i:02d}" + "k" * 38: "v" * 500 for i in range(16)},
        callback_url="https://example.com/" + "c" * 2028,
        callback_id="whk_" + "0" * 26,
    )


def saved_avatar(tenant_id: str, job: Job, shape: str) -> SavedAvatar:
    values: dict[str, Any] = {
        "id": new_avatar_id(),
        "tenant_id": tenant_id,
        "job_id": job.id,
        "variation": 0,
        "image_key": job.variations[0].image_key,
        "width": 512,
        "height": 512,
        "format": "png",
        "created_at": NOW,
    }
    if shape == "empty":
        values.update(label="", thumbnail_key="")
    elif shape == "at_limit":
        values.update(label="ł" * 200, thumbnail_key="t" * 1024)
    return SavedAvatar.model_validate(values)
