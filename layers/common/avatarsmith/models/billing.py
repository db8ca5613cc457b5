"""Credits, limits and ledger entries: what a tenant's account is, independent of HTTP and storage."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

LedgerKind = Literal["grant", "deduct", "reserve", "charge", "refund"]


class TenantLimits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_concurrent_jobs: int = Field(default=50, ge=1, le=100_000)
    submits_per_minute: int = Field(default=600, ge=1, le=1_000_000)
    requests_per_minute: int = Field(default=6000, ge=1, le=10_000_000)


class LedgerEntry(BaseModel):
    """One change to a tenant's credits.

    `amount` is the change to the spendable balance and `reserved_delta` the change to the reserved credits,
    so the balance is always the sum of every entry's `amount` and the reserved credits the sum of
    `reserved_delta`. A reserve moves credits from balance to reserved; a charge spends reserved credits;
    a refund moves reserved credits back to the balance.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    kind: LedgerKind
    amount: int
    reserved_delta: int = 0
    job_id: str | None = None
    note: str | None = None
    created_at: str


class Account(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: str
    name: str
    balance: int
    reserved: int
    running_jobs: int
    limits: TenantLimits
    created_at: str | None = None
