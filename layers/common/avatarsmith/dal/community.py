"""The community gallery: one partition (COMMUNITY / PUB#<entry id>); entry ids are time-ordered, so a
reverse query lists the newest first. Publishing and unpublishing change the saved avatar and the
gallery entry in one transaction."""

from __future__ import annotations

import contextlib
from typing import Any

from avatarsmith.models.domain import CommunityEntry

from .table import (
    ConditionFailed,
    Table,
    TransactionCancelled,
    avatar_sk,
    tenant_pk,
    to_item,
    update_operation,
)
from .unreadable import parse_one, parse_readable

COMMUNITY_PK = "COMMUNITY"
ENTRY_PREFIX = "PUB#"


def entry_sk(entry_id: str) -> str:
    return f"{ENTRY_PREFIX}{entry_id}"


def entry_from_item(item: dict[str, Any]) -> CommunityEntry:
    return CommunityEntry.model_validate({k: v for k, v in item.items() if k in CommunityEntry.model_fields})


def entry_keys(entry: CommunityEntry) -> list[str]:
    """The entry's own image copies."""
    return [k for k in (entry.image_key, entry.thumbnail_key) if k]


class AlreadyPublished(Exception):
    pass


class CommunityRepository:
    def __init__(self, table: Table):
        self.table = table

    def publish(self, entry: CommunityEntry, *, now: str) -> None:
        """Create the entry and mark the avatar published, or neither (AlreadyPublished / ConditionFailed
        when the avatar is gone)."""
        item = {"pk": COMMUNITY_PK, "sk": entry_sk(entry.id), "type": "community", **entry.model_dump()}
        mark = update_operation(
            tenant_pk(entry.tenant_id),
            avatar_sk(entry.avatar_id),
            set_values={"published_id": entry.id, "published_at": now, "updated_at": now},
            condition="attribute_exists(pk) AND attribute_not_exists(published_id)",
        )
        try:
            self.table.transact(
                [
                    {"Put": {"Item": to_item(item), "ConditionExpression": "attribute_not_exists(pk)"}},
                    {"Update": mark},
                ]
            )
        except TransactionCancelled as exc:
            current = exc.reason(1).item
            if current and current.get("published_id"):
                raise AlreadyPublished() from exc
            raise ConditionFailed(current) from exc

    def unpublish(self, tenant_id: str, avatar_id: str, entry_id: str, *, now: str) -> None:
        """Remove the entry and the avatar's mark together (the avatar may be gone: takedown after delete)."""
        self.table.transact(
            [
                {"Delete": {"Key": to_item({"pk": COMMUNITY_PK, "sk": entry_sk(entry_id)})}},
                {
                    "Update": update_operation(
                        tenant_pk(tenant_id),
                        avatar_sk(avatar_id),
                        set_values={"updated_at": now},
                        condition="attribute_exists(pk) AND published_id = :entry",
                        condition_values={":entry": entry_id},
                        remove=("published_id", "published_at"),
                    )
                },
            ]
        )

    def replace(self, entry: CommunityEntry) -> None:
        """Rewrite an existing entry (a renamed avatar); a removed one stays removed."""
        item = {"pk": COMMUNITY_PK, "sk": entry_sk(entry.id), "type": "community", **entry.model_dump()}
        with contextlib.suppress(ConditionFailed):
            self.table._call("put_item", Item=to_item(item), ConditionExpression="attribute_exists(pk)")

    def remove_entry(self, entry_id: str) -> None:
        self.table.delete(COMMUNITY_PK, entry_sk(entry_id))

    def get(self, entry_id: str) -> CommunityEntry | None:
        item = self.table.get(COMMUNITY_PK, entry_sk(entry_id))
        return parse_one("community_entry", item, entry_from_item)

    def list_page(self, *, limit: int, after_entry_id: str | None) -> tuple[list[CommunityEntry], str | None]:
        start = {"pk": COMMUNITY_PK, "sk": entry_sk(after_entry_id)} if after_entry_id else None
        items, _ = self.table.query_page(
            partition_key=("pk", COMMUNITY_PK),
            sort_prefix=("sk", ENTRY_PREFIX),
            limit=limit + 1,
            start_key=start,
        )
        page, more = items[:limit], len(items) > limit
        # An unreadable entry is logged, counted and left out: it never takes the gallery down.
        entries = parse_readable("community_entry", page, entry_from_item)
        return entries, (str(page[-1]["sk"])[len(ENTRY_PREFIX) :] if more else None)
