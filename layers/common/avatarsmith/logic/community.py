"""The public community gallery: what tenants chose to publish, newest first, with nothing that
identifies the tenant (no tenant id, prompt or metadata ever leaves through here)."""

from __future__ import annotations

from typing import Any

from avatarsmith.dal.community import CommunityRepository, entry_keys
from avatarsmith.dal.storage import ImageStore
from avatarsmith.dal.table import TransactionCancelled
from avatarsmith.errors import NotFoundError
from avatarsmith.logic.clock import now_iso
from avatarsmith.logic.cursors import decode_cursor, encode_cursor
from avatarsmith.logic.services import Services
from avatarsmith.logic.thumbnails import thumbnail_url
from avatarsmith.models.domain import CommunityEntry


def list_community(
    services: Services, *, limit: int, cursor: str | None
) -> tuple[list[CommunityEntry], str | None]:
    after = decode_cursor(cursor, "community", {}) if cursor else None
    entries, next_after = services.community.list_page(limit=limit, after_entry_id=after)
    return entries, (encode_cursor("community", next_after, {}) if next_after else None)


def present_entry(entry: CommunityEntry, services: Services) -> dict[str, Any]:
    ttl = services.presigned_url_ttl
    return {
        "id": entry.id,
        "object": "community_avatar",
        "label": entry.label,
        "style": entry.style,
        "image_url": services.images.presign(entry.image_key, expires_in=ttl),
        "thumbnail_url": services.images.presign(entry.thumbnail_key, expires_in=ttl)
        if entry.thumbnail_key
        else thumbnail_url(services, entry.image_key, expires_in=ttl),
        "width": entry.width,
        "height": entry.height,
        "format": entry.format,
        "created_at": entry.created_at,
    }


def take_down(community: CommunityRepository, images: ImageStore, entry_id: str) -> CommunityEntry:
    """Operator takedown: the entry and its image copies leave the gallery, and the owner's avatar shows
    it unpublished (the owner's saved copy stays)."""
    entry = community.get(entry_id)
    if entry is None:
        raise NotFoundError(f"no community entry with id {entry_id}", param="entry_id")
    try:
        community.unpublish(entry.tenant_id, entry.avatar_id, entry.id, now=now_iso())
    except TransactionCancelled:  # the avatar is gone or no longer points here: just drop the entry
        community.remove_entry(entry.id)
    images.delete(entry_keys(entry))
    return entry
