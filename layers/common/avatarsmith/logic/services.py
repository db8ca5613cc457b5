"""The resources a piece of logic talks to, built once per container from typed settings."""

from __future__ import annotations

from dataclasses import dataclass

from avatarsmith.dal.avatars import AvatarRepository
from avatarsmith.dal.batches import BatchRepository
from avatarsmith.dal.billing import BillingRepository
from avatarsmith.dal.community import CommunityRepository
from avatarsmith.dal.events import EventPublisher
from avatarsmith.dal.jobs import JobRepository
from avatarsmith.dal.queue import GenerationQueue
from avatarsmith.dal.storage import ImageStore
from avatarsmith.dal.table import Table
from avatarsmith.dal.tenants import TenantRepository
from avatarsmith.dal.uploads import UploadRepository
from avatarsmith.dal.webhooks import DeliveryQueue, WebhookRepository


@dataclass(frozen=True)
class Services:
    jobs: JobRepository
    avatars: AvatarRepository
    tenants: TenantRepository
    images: ImageStore
    queue: GenerationQueue | None
    billing: BillingRepository
    uploads: UploadRepository
    community: CommunityRepository
    batches: BatchRepository
    include_test_models: bool = False
    allow_loopback_urls: bool = False
    presigned_url_ttl: int = 3600
    events: EventPublisher | None = None
    webhooks: WebhookRepository | None = None
    delivery_queue: DeliveryQueue | None = None

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
        event_bus_name: str | None = None,
        webhook_queue_url: str | None = None,
        webhook_dead_letter_queue_url: str | None = None,
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
            events=EventPublisher(event_bus_name) if event_bus_name else None,
            webhooks=WebhookRepository(table),
            delivery_queue=DeliveryQueue(webhook_queue_url, webhook_dead_letter_queue_url)
            if webhook_queue_url
            else None,
            uploads=UploadRepository(table),
            community=CommunityRepository(table),
            batches=BatchRepository(table),
        )
