"""Shape domain objects into API responses. Image URLs are presigned afresh on every read."""

from __future__ import annotations

from typing import Any

from avatarsmith.logic.services import Services
from avatarsmith.logic.thumbnails import thumbnail_url
from avatarsmith.models.domain import Job, JobStatus, SavedAvatar


def present_job(job: Job, services: Services) -> dict[str, Any]:
    ttl = services.presigned_url_ttl
    spec = job.spec
    avatars = []
    for v in job.variations:
        entry: dict[str, Any] = {"index": v.index, "status": v.status, "seed": v.seed}
        if v.status == "completed" and v.image_key:
            entry.update(
                image_url=services.images.presign(v.image_key, expires_in=ttl),
                thumbnail_url=services.images.presign(v.thumbnail_key, expires_in=ttl)
                if v.thumbnail_key
                else thumbnail_url(services, v.image_key, expires_in=ttl),
                width=v.width,
                height=v.height,
                format=v.format,
            )
        if v.error_code:
            entry["error_code"] = v.error_code
        avatars.append(entry)
    per_variation = job.credits.reserved // max(1, len(job.variations))
    for entry, v in zip(avatars, job.variations, strict=True):
        entry["credits"] = per_variation if v.status == "completed" else 0
    body_progress = progress_of(job)
    request = spec.model_dump(mode="json", exclude_none=True, exclude={"reference_images"})
    request["reference_images"] = [
        {"kind": r.kind, "media_type": r.media_type} for r in spec.reference_images
    ]
    body: dict[str, Any] = {
        "id": job.id,
        "object": "job",
        "job_id": job.id,
        "status": job.status.value,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "model": spec.model,
        "request": request,
        "credits": job.credits.model_dump(),
        "avatars": avatars,
        "provenance": job.provenance.model_dump(mode="json", exclude_none=True),
        "client_reference_id": job.client_reference_id,
        "metadata": job.metadata,
        "progress": body_progress,
        "links": {"self": f"/v1/jobs/{job.id}"},
    }
    body["deadline_at"] = job.deadline_at
    body["reference_retention"] = job.reference_retention
    body["references_purged_at"] = job.references_purged_at
    if job.erased_at:
        body["erased_at"] = job.erased_at
    if job.callback_id:
        body["callback_id"] = job.callback_id
    if job.error:
        body["error"] = job.error.model_dump()
    # Percify's fields at top level: the prompt, the credits this generation costs (charged once it has
    # finished), and the first image with its size (the requested size until it is ready).
    body["prompt"] = spec.prompt or job.provenance.final_prompt
    body["credits_used"] = job.credits.charged if job.status.is_terminal else job.credits.reserved
    first = next((a for a in avatars if a.get("image_url")), None)
    body["image_url"] = first["image_url"] if first else None
    body["thumbnail_url"] = first["thumbnail_url"] if first else None
    body["width"] = first["width"] if first else spec.output.width
    body["height"] = first["height"] if first else spec.output.height
    return body


def progress_of(job: Job) -> dict[str, Any]:
    """Where the job is: `stage` (queued, generating, storing, finished) and variations done of total."""
    total = len(job.variations)
    finished = sum(1 for v in job.variations if v.status != "pending")
    if job.status.is_terminal:
        return {"stage": "finished", "variations_done": finished, "variations_total": total}
    if job.status == JobStatus.QUEUED:
        return {"stage": "queued", "variations_done": 0, "variations_total": total}
    stored = min(job.variations_stored, total)
    return {
        "stage": "storing" if stored else "generating",
        "variations_done": stored,
        "variations_total": total,
    }


def present_avatar(avatar: SavedAvatar, services: Services) -> dict[str, Any]:
    ttl = services.presigned_url_ttl
    return {
        "id": avatar.id,
        "object": "avatar",
        "label": avatar.label,
        "job_id": avatar.job_id,
        "variation": avatar.variation,
        "image_url": services.images.presign(avatar.image_key, expires_in=ttl),
        "thumbnail_url": services.images.presign(avatar.thumbnail_key, expires_in=ttl)
        if avatar.thumbnail_key
        else thumbnail_url(services, avatar.image_key, expires_in=ttl),
        "width": avatar.width,
        "height": avatar.height,
        "format": avatar.format,
        "style": avatar.style,
        "created_at": avatar.created_at,
        "updated_at": avatar.updated_at or avatar.created_at,
        "published": avatar.published_id is not None,
        "community_id": avatar.published_id,
        "published_at": avatar.published_at,
    }


def present_list(
    data: list[dict[str, Any]], *, next_cursor: str | None, has_more: bool | None = None, **extra: Any
) -> dict[str, Any]:
    more = next_cursor is not None if has_more is None else has_more
    return {"object": "list", "data": data, "has_more": more, "next_cursor": next_cursor, **extra}
