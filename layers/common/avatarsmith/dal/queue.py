"""The generation queue: the api enqueues job ids, the dispatcher starts executions."""

from __future__ import annotations

import json

from avatarsmith.errors import ServiceUnavailableError

from .clients import client


class GenerationQueue:
    def __init__(self, url: str):
        self.url = url

    def enqueue(
        self,
        *,
        tenant_id: str,
        job_id: str,
        model: str | None = None,
        credits_reserved: int | None = None,
        created_at: str | None = None,
        backend: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        """The message also carries what the dispatcher's `queued` event needs (no table read there)."""
        from botocore.exceptions import BotoCoreError, ClientError

        message = {
            "job_id": job_id,
            "tenant_id": tenant_id,
            "model": model,
            "credits_reserved": credits_reserved,
            "created_at": created_at,
            "backend": backend,
            "metadata": metadata or None,
        }
        body = json.dumps({k: v for k, v in message.items() if v is not None}, separators=(",", ":"))
        try:
            client("sqs").send_message(QueueUrl=self.url, MessageBody=body)
        except (ClientError, BotoCoreError) as exc:
            raise ServiceUnavailableError("the generation queue is unavailable; try again") from exc
