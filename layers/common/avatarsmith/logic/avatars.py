"""Saved avatars: persist a completed variation so it can be fetched without regenerating; rename,
delete, publish to and unpublish from the community gallery.

Saving copies the image (and thumbnail) under `kept/`, outside the prefix the retention rule expires,
so a saved or published avatar outlives ImageRetentionDays and an erased job. Deleting the avatar
deletes that copy.
"""

from __future__ import annotations

import contextlib

from avatarsmith.dal.community import AlreadyPublished, entry_keys
from avatarsmith.dal.storage import KEPT_PREFIX, community_key, kept_key
from avatarsmith.dal.table import ConditionFailed, TransactionCancelled
from avatarsmith.errors import (
    AvatarNotFoundError,
    ImageGoneError,
    InvalidRequestError,
    JobNotCompletedError,
    StorageError,
)
from avatarsmith.ids import new_avatar_id, new_community_id
from avatarsmith.logic.clock import now_iso
from avatarsmith.logic.cursors import decode_cursor, encode_cursor
from avatarsmith.logic.jobs import get_job
from avatarsmith.logic.services import Services
from avatarsmith.models.api import SaveAvatarRequest
from avatarsmith.models.domain import CommunityEntry, JobStatus, SavedAvatar
from avatarsmith.observability import logger

GENERATION_PREFIX = "job_"


def generation_avatar_id(job_id: str) -> str:
    """The avatar a generation id stands for (Percify's Get/Publish Avatar take the generation's id):
    the same time-ordered suffix under `ava_`, so it is found without an index and made once."""
    return f"ava_{job_id.removeprefix(GENERATION_PREFIX)}"


def saved_avatar_id(avatar_or_job_id: str) -> str:
    """An avatar id as given, or the one a generation id stands for."""
    if avatar_or_job_id.startswith(GENERATION_PREFIX):
        return generation_avatar_id(avatar_or_job_id)
    return avatar_or_job_id


def avatar_for_generation(services: Services, tenant_id: str, job_id: str) -> SavedAvatar:
    """The generation's first image as a saved avatar, saved on first use (the generation must be
    completed and its image still stored)."""
    existing = services.avatars.get(tenant_id, generation_avatar_id(job_id))
    if existing is not None:
        return existing
    request = SaveAvatarRequest(job_id=job_id)
    return save_avatar(services, tenant_id, request, avatar_id=generation_avatar_id(job_id))


def save_avatar(
    services: Services, tenant_id: str, request: SaveAvatarRequest, *, avatar_id: str | None = None
) -> SavedAvatar:
    job = get_job(services, tenant_id, request.job_id)
    if job.status != JobStatus.COMPLETED:
        raise JobNotCompletedError(
            f"job {job.id} is {job.status.value}; only completed jobs can be saved", param="job_id"
        )
    if job.erased_at:
        raise ImageGoneError(
            f"job {job.id} was erased on {job.erased_at}; its images are no longer stored", param="job_id"
        )
    variation = next((v for v in job.variations if v.index == request.variation), None)
    if variation is None or variation.status != "completed" or not variation.image_key:
        raise InvalidRequestError(
            f"job {job.id} has no completed variation {request.variation}", param="variation"
        )
    fixed_id = avatar_id is not None
    avatar_id = avatar_id or new_avatar_id()
    image_format = variation.format or job.spec.output.format
    kept_image = kept_key(tenant_id, avatar_id, f"image.{variation.image_key.rsplit('.', 1)[-1]}")
    services.images.copy(variation.image_key, kept_image)
    kept_thumbnail = None
    if variation.thumbnail_key:
        kept_thumbnail = kept_key(tenant_id, avatar_id, f"thumb.{variation.thumbnail_key.rsplit('.', 1)[-1]}")
        services.images.copy(variation.thumbnail_key, kept_thumbnail)
    avatar = SavedAvatar(
        id=avatar_id,
        tenant_id=tenant_id,
        label=request.label,
        job_id=job.id,
        variation=variation.index,
        image_key=kept_image,
        thumbnail_key=kept_thumbnail,
        width=variation.width or job.spec.output.width,
        height=variation.height or job.spec.output.height,
        format=image_format,
        created_at=now_iso(),
        style=job.spec.style,
    )
    try:
        services.avatars.create(avatar)
    except ConditionFailed:
        winner = services.avatars.get(tenant_id, avatar_id) if fixed_id else None
        if winner is not None:  # a concurrent first use saved it (to the same keys): keep its copies
            return winner
        _delete_kept(services, avatar)
        raise
    except BaseException:
        _delete_kept(services, avatar)
        raise
    return avatar


def _kept_keys(avatar: SavedAvatar) -> list[str]:
    """The avatar's own copies (avatars saved before copies existed point at the job's images)."""
    keys = [avatar.image_key, avatar.thumbnail_key]
    return [k for k in keys if k and k.startswith(KEPT_PREFIX)]


def _delete_kept(services: Services, avatar: SavedAvatar) -> None:
    _delete_quietly(services, _kept_keys(avatar))


def _delete_quietly(services: Services, keys: list[str]) -> None:
    with contextlib.suppress(StorageError):
        services.images.delete(keys)


def get_avatar(services: Services, tenant_id: str, avatar_id: str) -> SavedAvatar:
    avatar = services.avatars.get(tenant_id, avatar_id)
    if avatar is None:
        raise AvatarNotFoundError(f"no saved avatar with id {avatar_id}", param="avatar_id")
    return avatar


def rename_avatar(services: Services, tenant_id: str, avatar_id: str, label: str | None) -> SavedAvatar:
    avatar = services.avatars.update_label(tenant_id, avatar_id, label, now=now_iso())
    if avatar is None:
        raise AvatarNotFoundError(f"no saved avatar with id {avatar_id}", param="avatar_id")
    if avatar.published_id:  # the gallery shows the new label too
        entry = services.community.get(avatar.published_id)
        if entry is not None:
            services.community.replace(entry.model_copy(update={"label": label}))
    return avatar


def delete_avatar(services: Services, tenant_id: str, avatar_id: str) -> None:
    """Delete the saved avatar, its gallery entry and its kept image copies."""
    avatar = services.avatars.delete(tenant_id, avatar_id)
    if avatar is None:
        raise AvatarNotFoundError(f"no saved avatar with id {avatar_id}", param="avatar_id")
    keys = _kept_keys(avatar)
    if avatar.published_id:
        entry = services.community.get(avatar.published_id)
        services.community.remove_entry(avatar.published_id)
        keys += entry_keys(entry) if entry else []
    services.images.delete(keys)
    logger.info("saved avatar deleted", extra={"avatar_id": avatar_id})


def publish_avatar(services: Services, tenant_id: str, avatar_id: str) -> SavedAvatar:
    """Share to the community gallery (publishing twice is a no-op). A generation id publishes the
    generation's first image (saved on first use)."""
    if avatar_id.startswith(GENERATION_PREFIX):
        avatar = avatar_for_generation(services, tenant_id, avatar_id)
        avatar_id = avatar.id
    else:
        avatar = get_avatar(services, tenant_id, avatar_id)
    if avatar.published_id:
        return avatar
    now = now_iso()
    entry_id = new_community_id()
    image = community_key(entry_id, f"image.{avatar.image_key.rsplit('.', 1)[-1]}")
    services.images.copy(avatar.image_key, image)
    thumbnail = None
    if avatar.thumbnail_key:
        thumbnail = community_key(entry_id, f"thumb.{avatar.thumbnail_key.rsplit('.', 1)[-1]}")
        services.images.copy(avatar.thumbnail_key, thumbnail)
    entry = CommunityEntry(
        id=entry_id,
        tenant_id=tenant_id,
        avatar_id=avatar.id,
        label=avatar.label,
        style=avatar.style,
        image_key=image,
        thumbnail_key=thumbnail,
        width=avatar.width,
        height=avatar.height,
        format=avatar.format,
        created_at=now,
    )
    try:
        services.community.publish(entry, now=now)
    except AlreadyPublished:  # a concurrent publish won: drop this copy
        _delete_quietly(services, entry_keys(entry))
    except ConditionFailed as exc:
        _delete_quietly(services, entry_keys(entry))
        raise AvatarNotFoundError(f"no saved avatar with id {avatar_id}", param="avatar_id") from exc
    return get_avatar(services, tenant_id, avatar_id)


def unpublish_avatar(services: Services, tenant_id: str, avatar_id: str) -> SavedAvatar:
    """Remove from the community gallery (unpublishing an unpublished avatar is a no-op)."""
    avatar_id = saved_avatar_id(avatar_id)
    avatar = get_avatar(services, tenant_id, avatar_id)
    if avatar.published_id:
        entry = services.community.get(avatar.published_id)
        with contextlib.suppress(TransactionCancelled):  # a concurrent unpublish or takedown won
            services.community.unpublish(tenant_id, avatar_id, avatar.published_id, now=now_iso())
        if entry is not None:
            services.images.delete(entry_keys(entry))
    return get_avatar(services, tenant_id, avatar_id)


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
