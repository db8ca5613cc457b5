"""Saved avatars: one item per saved avatar under the tenant's partition."""

from __future__ import annotations

from typing import Any

from avatarsmith.models.domain import SavedAvatar

from .table import ConditionFailed, Table, avatar_sk, from_item, tenant_pk, to_item
from .unreadable import parse_one, parse_readable

AVATAR_PREFIX = "AVA#"


def avatar_to_item(avatar: SavedAvatar) -> dict[str, Any]:
    return {
        "pk": tenant_pk(avatar.tenant_id),
        "sk": avatar_sk(avatar.id),
        "type": "avatar",
        **avatar.model_dump(exclude_none=True),
    }


def avatar_from_item(item: dict[str, Any]) -> SavedAvatar:
    fields = {k: v for k, v in item.items() if k in SavedAvatar.model_fields}
    return SavedAvatar.model_validate(fields)


class AvatarRepository:
    def __init__(self, table: Table):
        self.table = table

    def create(self, avatar: SavedAvatar) -> None:
        self.table.put_new(avatar_to_item(avatar))

    def get(self, tenant_id: str, avatar_id: str) -> SavedAvatar | None:
        item = self.table.get(tenant_pk(tenant_id), avatar_sk(avatar_id))
        return parse_one("avatar", item, avatar_from_item)

    def list_page(
        self, tenant_id: str, *, limit: int, after_avatar_id: str | None
    ) -> tuple[list[SavedAvatar], str | None]:
        pk = tenant_pk(tenant_id)
        start = {"pk": pk, "sk": avatar_sk(after_avatar_id)} if after_avatar_id else None
        items, _ = self.table.query_page(
            partition_key=("pk", pk), sort_prefix=("sk", AVATAR_PREFIX), limit=limit + 1, start_key=start
        )
        # The cursor comes from the raw items: an unreadable item is left out, never the end of the list.
        avatars = parse_readable("avatar", items[:limit], avatar_from_item)
        if len(items) > limit:
            return avatars, str(items[limit - 1]["sk"]).removeprefix(AVATAR_PREFIX)
        return avatars, None

    def list_offset(self, tenant_id: str, *, limit: int, offset: int) -> tuple[list[SavedAvatar], bool]:
        """Pi-style offset paging (meant for small per-tenant lists): reads offset+limit+1 items."""
        wanted = offset + limit + 1
        collected: list[SavedAvatar] = []
        after: str | None = None
        while len(collected) < wanted:
            page, after = self.list_page(
                tenant_id, limit=min(wanted - len(collected), 500), after_avatar_id=after
            )
            collected.extend(page)
            if after is None:
                break
        window = collected[offset : offset + limit]
        return window, len(collected) > offset + limit

    def count(self, tenant_id: str) -> int:
        return self.table.count(pk=tenant_pk(tenant_id), sort_prefix=AVATAR_PREFIX)

    def update_label(
        self, tenant_id: str, avatar_id: str, label: str | None, *, now: str
    ) -> SavedAvatar | None:
        """Rename; None when the avatar does not exist."""
        try:
            item = self.table.update(
                tenant_pk(tenant_id),
                avatar_sk(avatar_id),
                set_values={"label": label, "updated_at": now},
                condition="attribute_exists(pk)",
            )
        except ConditionFailed:
            return None
        return avatar_from_item(item)

    def delete(self, tenant_id: str, avatar_id: str) -> SavedAvatar | None:
        """Delete and return the avatar as it was; None when it did not exist."""
        response = self.table._call(
            "delete_item",
            Key=to_item({"pk": tenant_pk(tenant_id), "sk": avatar_sk(avatar_id)}),
            ReturnValues="ALL_OLD",
        )
        old = response.get("Attributes")
        return avatar_from_item(from_item(old)) if old else None
