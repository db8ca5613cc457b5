"""Tenants and their API keys. Keys are stored only as SHA-256 hashes.

KEY#<sha256(key)> / KEY          -> the key: tenant id, key id, visible prefix, status, last_used_at and
                                    the tenant's request limits (copied so authentication is one read)
T#<tenant>        / APIKEY#<id>  -> the tenant's index of its keys (key id -> hash), for list/revoke
T#<tenant>        / TENANT       -> the tenant: name, credits (see dal/billing.py) and limits
"""

from __future__ import annotations

import hashlib
from typing import Any

from avatarsmith.models.billing import TenantLimits
from avatarsmith.models.domain import Tenant

from .table import ConditionFailed, Table, api_key_pk, tenant_pk, to_item

KEY_SK = "KEY"
TENANT_SK = "TENANT"
API_KEY_INDEX_PREFIX = "APIKEY#"
KEY_PREFIX_LENGTH = 12


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def _key_limits(limits: TenantLimits) -> dict[str, int]:
    return {
        "submits_per_minute": limits.submits_per_minute,
        "requests_per_minute": limits.requests_per_minute,
    }


class TenantRepository:
    def __init__(self, table: Table):
        self.table = table

    def create_tenant(self, tenant: Tenant, *, created_at: str, limits: TenantLimits | None = None) -> None:
        """A tenant with a zero balance; credits arrive as ledger entries (BillingRepository)."""
        limits = limits or TenantLimits()
        self.table.put_new(
            {
                "pk": tenant_pk(tenant.id),
                "sk": TENANT_SK,
                "type": "tenant",
                "tenant_id": tenant.id,
                "name": tenant.name,
                "created_at": created_at,
                "balance": 0,
                "reserved": 0,
                "running": 0,
                **limits.model_dump(),
            }
        )

    def get_tenant(self, tenant_id: str) -> dict[str, Any] | None:
        return self.table.get(tenant_pk(tenant_id), TENANT_SK, consistent=True)

    def add_api_key(
        self, tenant_id: str, api_key: str, *, created_at: str, key_id: str | None = None
    ) -> dict[str, Any]:
        """Store a new key (hash only) and its index entry; returns the key's public record."""
        from avatarsmith.ids import new_api_key_id

        tenant = self.get_tenant(tenant_id)
        if tenant is None:
            raise LookupError(f"no tenant {tenant_id}")
        limits = TenantLimits.model_validate(
            {k: tenant[k] for k in TenantLimits.model_fields if tenant.get(k) is not None}
        )
        key_id = key_id or new_api_key_id()
        digest = hash_api_key(api_key)
        record = {
            "key_id": key_id,
            "tenant_id": tenant_id,
            "prefix": api_key[:KEY_PREFIX_LENGTH],
            "status": "active",
            "created_at": created_at,
        }
        self.table.transact(
            [
                {
                    "Put": {
                        "Item": to_item(
                            {"pk": api_key_pk(digest), "sk": KEY_SK, "type": "api_key", **record}
                            | {"limits": _key_limits(limits)}
                        ),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "Item": to_item(
                            {
                                "pk": tenant_pk(tenant_id),
                                "sk": API_KEY_INDEX_PREFIX + key_id,
                                "type": "api_key_index",
                                "key_hash": digest,
                                **record,
                            }
                        ),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
        return record

    def find_key(self, api_key: str) -> dict[str, Any] | None:
        return self.table.get(api_key_pk(hash_api_key(api_key)), KEY_SK)

    def use_key(self, api_key: str, *, now: str) -> dict[str, Any] | None:
        """Authenticate and record the last use in one call: None unless the key exists and is active."""
        try:
            return self.table.update(
                api_key_pk(hash_api_key(api_key)),
                KEY_SK,
                set_values={"last_used_at": now},
                condition="attribute_exists(pk) AND #status = :active",
                condition_values={":active": "active"},
            )
        except ConditionFailed:
            return None

    def list_keys(self, tenant_id: str) -> list[dict[str, Any]]:
        """Every key of the tenant (newest first) with its status and last use; never the secret or hash."""
        index = self.table.query_prefix(tenant_pk(tenant_id), API_KEY_INDEX_PREFIX, limit=1000)
        keys = []
        for entry in index:
            stored = self.table.get(api_key_pk(entry["key_hash"]), KEY_SK) or {}
            keys.append(
                {
                    "key_id": entry["key_id"],
                    "prefix": entry["prefix"],
                    "status": stored.get("status", entry.get("status")),
                    "created_at": entry["created_at"],
                    "last_used_at": stored.get("last_used_at"),
                    "revoked_at": stored.get("revoked_at"),
                }
            )
        return keys

    def revoke_key(self, tenant_id: str, key_id: str, *, now: str) -> dict[str, Any]:
        entry = self.table.get(tenant_pk(tenant_id), API_KEY_INDEX_PREFIX + key_id, consistent=True)
        if entry is None:
            raise LookupError(f"tenant {tenant_id} has no key {key_id}")
        self.table.update(
            api_key_pk(entry["key_hash"]), KEY_SK, set_values={"status": "revoked", "revoked_at": now}
        )
        self.table.update(
            tenant_pk(tenant_id), API_KEY_INDEX_PREFIX + key_id, set_values={"status": "revoked"}
        )
        return {"key_id": key_id, "prefix": entry["prefix"], "status": "revoked", "revoked_at": now}

    def set_limits(self, tenant_id: str, limits: TenantLimits, *, now: str) -> None:
        """Update the tenant's limits and the copy on each of its keys (seen by warm containers after
        their key cache expires)."""
        self.table.update(
            tenant_pk(tenant_id),
            TENANT_SK,
            set_values={**limits.model_dump(), "updated_at": now},
            condition="attribute_exists(pk)",
        )
        for entry in self.table.query_prefix(tenant_pk(tenant_id), API_KEY_INDEX_PREFIX, limit=1000):
            self.table.update(
                api_key_pk(entry["key_hash"]), KEY_SK, set_values={"limits": _key_limits(limits)}
            )

    def list_tenants(self) -> list[dict[str, Any]]:
        """Operator view (a Scan: the admin command only, never the API)."""
        items: list[dict[str, Any]] = []
        start = None
        while True:
            kwargs: dict[str, Any] = {
                "FilterExpression": "#t = :tenant",
                "ExpressionAttributeNames": {"#t": "type"},
                "ExpressionAttributeValues": to_item({":tenant": "tenant"}),
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            response = self.table._call("scan", **kwargs)
            from .table import from_item

            items.extend(from_item(i) for i in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start:
                return items
