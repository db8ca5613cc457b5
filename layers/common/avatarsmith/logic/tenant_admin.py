"""Operator actions on tenants, keys, credits and limits (used by `avatarsmith-admin`, the local stack's
demo tenant and the tests). Not reachable from the public API."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from avatarsmith.dal.billing import BillingRepository, SubmitRejected, TenantMissingError
from avatarsmith.dal.table import Table
from avatarsmith.dal.tenants import TenantRepository
from avatarsmith.ids import new_api_key, new_tenant_id
from avatarsmith.logic.clock import now_iso
from avatarsmith.models.billing import Account, LedgerEntry, TenantLimits
from avatarsmith.models.domain import Tenant


class AdminError(Exception):
    """An operator mistake (unknown tenant or key, a deduction larger than the balance)."""


@dataclass
class TenantAdmin:
    tenants: TenantRepository
    billing: BillingRepository

    @classmethod
    def for_table(cls, table_name: str) -> TenantAdmin:
        table = Table(table_name)
        return cls(TenantRepository(table), BillingRepository(table))

    def create_tenant(
        self,
        name: str,
        *,
        credits: int = 0,
        limits: TenantLimits | None = None,
        tenant_id: str | None = None,
        api_key: str | None = None,
    ) -> dict[str, Any]:
        """A tenant, its first API key (the secret is returned here and never again) and its credits."""
        tenant = Tenant(id=tenant_id or new_tenant_id(), name=name)
        now = now_iso()
        self.tenants.create_tenant(tenant, created_at=now, limits=limits)
        secret = api_key or new_api_key()
        key = self.tenants.add_api_key(tenant.id, secret, created_at=now)
        if credits:
            self.billing.adjust_balance(tenant.id, credits, now=now, note="initial credits")
        return {"tenant_id": tenant.id, "name": name, "api_key": secret, "key": key, "credits": credits}

    def issue_key(self, tenant_id: str) -> dict[str, Any]:
        secret = new_api_key()
        try:
            key = self.tenants.add_api_key(tenant_id, secret, created_at=now_iso())
        except LookupError as exc:
            raise AdminError(str(exc)) from exc
        return {"tenant_id": tenant_id, "api_key": secret, "key": key}

    def ensure_key(self, tenant_id: str, api_key: str) -> dict[str, Any]:
        """Make `api_key` an active key of the tenant (added when new): the local stack honours an
        explicit AVATARSMITH_API_KEY on a state folder made with another. A key that belongs to another
        tenant, or was revoked, is an AdminError (never silently another tenant's key)."""
        found = self.tenants.find_key(api_key)
        if found is None:
            try:
                key = self.tenants.add_api_key(tenant_id, api_key, created_at=now_iso())
            except LookupError as exc:
                raise AdminError(str(exc)) from exc
            return {"tenant_id": tenant_id, "key": key, "added": True}
        if found.get("tenant_id") != tenant_id:
            raise AdminError("the key belongs to another tenant")
        if found.get("status") != "active":
            raise AdminError("the key was revoked")
        return {"tenant_id": tenant_id, "key": found, "added": False}

    def list_keys(self, tenant_id: str) -> list[dict[str, Any]]:
        self._require(tenant_id)
        return self.tenants.list_keys(tenant_id)

    def revoke_key(self, tenant_id: str, key_id: str) -> dict[str, Any]:
        try:
            return self.tenants.revoke_key(tenant_id, key_id, now=now_iso())
        except LookupError as exc:
            raise AdminError(str(exc)) from exc

    def rotate_key(self, tenant_id: str, key_id: str) -> dict[str, Any]:
        """Issue a new key, then revoke the old one (warm containers honour the revocation within the key
        cache time)."""
        issued = self.issue_key(tenant_id)
        revoked = self.revoke_key(tenant_id, key_id)
        return {**issued, "revoked": revoked}

    def adjust_credits(self, tenant_id: str, amount: int, *, note: str | None = None) -> LedgerEntry:
        try:
            return self.billing.adjust_balance(tenant_id, amount, now=now_iso(), note=note)
        except TenantMissingError as exc:
            raise AdminError(f"no tenant {tenant_id}") from exc
        except SubmitRejected as exc:
            balance = int((exc.tenant or {}).get("balance", 0))
            raise AdminError(f"cannot deduct {-amount} credits: the balance is {balance}") from exc

    def set_limits(self, tenant_id: str, **changes: int | None) -> TenantLimits:
        account = self._require(tenant_id)
        limits = account.limits.model_copy(update={k: v for k, v in changes.items() if v is not None})
        limits = TenantLimits.model_validate(limits.model_dump())
        self.tenants.set_limits(tenant_id, limits, now=now_iso())
        return limits

    def account(self, tenant_id: str, *, ledger_limit: int = 20) -> dict[str, Any]:
        account = self._require(tenant_id)
        entries = self.billing.ledger(tenant_id, limit=ledger_limit)
        return {
            **account.model_dump(),
            "recent_ledger_entries": [e.model_dump(exclude_none=True) for e in entries],
        }

    def audit(self, tenant_id: str) -> dict[str, Any]:
        """Does the ledger add up? balance == sum(amount) and reserved == sum(reserved_delta)."""
        # A consistent snapshot while jobs run: every change to the tenant's credits writes a ledger entry
        # in the same transaction, so if the ledger is the same before and after reading the balance,
        # nothing changed in between.
        entries = self.billing.all_ledger_entries(tenant_id)
        for _ in range(50):
            account = self._require(tenant_id)
            after = self.billing.all_ledger_entries(tenant_id)
            if [e.id for e in after] == [e.id for e in entries]:
                break
            entries = after
        ledger_balance = sum(e.amount for e in entries)
        ledger_reserved = sum(e.reserved_delta for e in entries)
        kinds = Counter(e.kind for e in entries)
        granted = sum(e.amount for e in entries if e.kind in ("grant", "deduct"))
        charged = -sum(e.reserved_delta for e in entries if e.kind == "charge")
        return {
            "tenant_id": tenant_id,
            "balance": account.balance,
            "reserved": account.reserved,
            "charged": charged,
            "granted": granted,
            "ledger_balance": ledger_balance,
            "ledger_reserved": ledger_reserved,
            "entries": len(entries),
            "entries_by_kind": dict(sorted(kinds.items())),
            "balanced": ledger_balance == account.balance
            and ledger_reserved == account.reserved
            and account.balance + account.reserved + charged == granted,
        }

    def list_tenants(self) -> list[dict[str, Any]]:
        keep = ("tenant_id", "name", "balance", "reserved", "running", "created_at")
        return [{k: t.get(k) for k in keep} for t in self.tenants.list_tenants()]

    def _require(self, tenant_id: str) -> Account:
        account = self.billing.account(tenant_id)
        if account is None:
            raise AdminError(f"no tenant {tenant_id}")
        return account
