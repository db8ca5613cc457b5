"""Reference-photo uploads: one item per upload under the tenant's partition (T#<tenant> / UPL#<id>)."""

from __future__ import annotations

from typing import Any

from avatarsmith.models.domain import Upload

from .table import Table, tenant_pk
from .unreadable import parse_one

UPLOAD_PREFIX = "UPL#"


def upload_sk(upload_id: str) -> str:
    return f"{UPLOAD_PREFIX}{upload_id}"


class UploadRepository:
    def __init__(self, table: Table):
        self.table = table

    def create(self, upload: Upload, *, expires_epoch: int) -> None:
        item: dict[str, Any] = {
            "pk": tenant_pk(upload.tenant_id),
            "sk": upload_sk(upload.id),
            "type": "upload",
            **upload.model_dump(exclude_none=True),
            "expires_at": expires_epoch,  # the table's TTL attribute: removed some time after it is unusable
        }
        self.table.put_new(item)

    def get(self, tenant_id: str, upload_id: str) -> Upload | None:
        item = self.table.get(tenant_pk(tenant_id), upload_sk(upload_id))
        return parse_one("upload", item, _upload_from_item)


def _upload_from_item(item: dict[str, Any]) -> Upload:
    return Upload.model_validate({k: v for k, v in item.items() if k in Upload.model_fields})
