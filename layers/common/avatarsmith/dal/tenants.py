"""Tenants and their API keys. Keys are stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
from typing import Any

from avatarsmith.models.domain import Tenant

from .table import Table, api_key_pk, tenant_pk

KEY_SK = "KEY"
TENANT_SK = "TENANT"


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


class TenantRepository:
    def __init__(self, table: Table):
        self.table = table

    def create_tenant(self, tenant: Tenant, *, created_at: str) -> None:
        self.table.put_new(
            {
                "pk": tenant_pk(tenant.id),
                "sk": TENANT_SK,
                "type": "tenant",
                "tenant_id": tenant.id,
                "name": tenant.name,
                "created_at": created_at,
            }
        )

    def add_api_key(self, tenant_id: str, api_key: str, *, created_at: str) -> None:
        self.table.put_new(
            {
                "pk": api_key_pk(hash_api_key(api_key)),
                "sk": KEY_SK,
                "type": "api_key",
                "tenant_id": tenant_id,
                "prefix": api_key[:8],
                "status": "active",
                "created_at": created_at,
            }
        )

    def find_key(self, api_key: str) -> dict[str, Any] | None:
        return self.table.get(api_key_pk(hash_api_key(api_key)), KEY_SK)
