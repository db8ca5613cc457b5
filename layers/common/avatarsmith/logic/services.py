"""The resources a piece of logic talks to, built once per container from typed settings."""

from __future__ import annotations

from dataclasses import dataclass

from avatarsmith.dal.avatars import AvatarRepository
from avatarsmith.dal.billing import BillingRepository
from avatarsmith.dal.jobs import JobRepository
from avatarsmith.dal.queue import GenerationQueue
from avatarsmith.dal.storage import ImageStore
from avatarsmith.dal.table import Table
from avatarsmith.dal.tenants import TenantRepository


@dataclass(frozen=True)
class Services:
    jobs: JobRepository
    avatars: AvatarRepository
    tenants: TenantRepository
    images: ImageStore
    queue: GenerationQueue | None
    billing: BillingRepository
    include_test_models: bool = False
    allow_loopback_urls: bool = False
    presigned_url_ttl: int = 3600

    @classmethod
    def build(
        cls,
        *,
        table_name: str,
        bucket_name: str,
        queue_url: str | None = None,
        include_test_models: bool = False,
        allow_loopback_urls: bool = False,
        presigned_url_ttl: int = 3600,
    ) -> Services:
        table = Table(table_name)
        return cls(
            jobs=JobRepository(table),
            avatars=AvatarRepository(table),
            tenants=TenantRepository(table),
            images=ImageStore(bucket_name),
            queue=GenerationQueue(queue_url) if queue_url else None,
            billing=BillingRepository(table),
            include_test_models=include_test_models,
            allow_loopback_urls=allow_loopback_urls,
            presigned_url_ttl=presigned_url_ttl,
        )
