"""Saved avatars: persist a completed variation so it can be fetched without regenerating."""

from __future__ import annotations

from avatarsmith.errors import AvatarNotFoundError, InvalidRequestError, JobNotCompletedError
from avatarsmith.ids import new_avatar_id
from avatarsmith.logic.clock import now_iso
from avatarsmith.logic.cursors import decode_cursor, encode_cursor
from avatarsmith.logic.jobs import get_job
from avatarsmith.logic.services import Services
from avatarsmith.models.api import SaveAvatarRequest
from avatarsmith.models.domain import JobStatus, SavedAvatar


def save_avatar(services: Services, tenant_id: str, request: SaveAvatarRequest) -> SavedAvatar:
    job = get_job(services, tenant_id, request.job_id)
    if job.status != JobStatus.COMPLETED:
        raise JobNotCompletedError(
            f"job {job.id} is {job.status.value}; only completed jobs can be saved", param="job_id"
        )
    variation = next((v for v in job.variations if v.index == request.variation), None)
    if variation is None or variation.status != "completed" or not variation.image_key:
        raise InvalidRequestError(
            f"job {job.id} has no completed variation {request.variation}", param="variation"
        )
    avatar = SavedAvatar(
        id=new_avatar_id(),
        tenant_id=tenant_id,
        label=request.label,
        job_id=job.id,
        variation=variation.index,
        image_key=variation.image_key,
        thumbnail_key=variation.thumbnail_key,
        width=variation.width or job.spec.output.width,
        height=variation.height or job.spec.output.height,
        format=variation.format or job.spec.output.format,
        created_at=now_iso(),
    )
    services.avatars.create(avatar)
    return avatar


def get_avatar(services: Services, tenant_id: str, avatar_id: str) -> SavedAvatar:
    avatar = services.avatars.get(tenant_id, avatar_id)
    if avatar is None:
        raise AvatarNotFoundError(f"no saved avatar with id {avatar_id}", param="avatar_id")
    return avatar


def list_avatars_by_cursor(
    services: Services, tenant_id: str, *, limit: int, cursor: str | None
) -> tuple[list[SavedAvatar], str | None]:
    after = decode_cursor(cursor, "avatars", {}) if cursor else None
    avatars, next_after = services.avatars.list_page(tenant_id, limit=limit, after_avatar_id=after)
    return avatars, (encode_cursor("avatars", next_after, {}) if next_after else None)


def list_avatars_by_offset(
    services: Services, tenant_id: str, *, limit: int, offset: int
) -> tuple[list[SavedAvatar], bool, int, str | None]:
    """Pi-style paging. Returns the page, has_more, the total and a cursor to continue with."""
    avatars, has_more = services.avatars.list_offset(tenant_id, limit=limit, offset=offset)
    total = services.avatars.count(tenant_id)
    next_cursor = encode_cursor("avatars", avatars[-1].id, {}) if has_more and avatars else None
    return avatars, has_more, total, next_cursor
