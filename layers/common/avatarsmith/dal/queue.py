"""The generation queue: the api enqueues job ids, the dispatcher starts executions."""

from __future__ import annotations

import json

from avatarsmith.errors import ServiceUnavailableError

from .clients import client


class GenerationQueue:
    def __init__(self, url: str):
        self.url = url

    def enqueue(self, *, tenant_id: str, job_id: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        body = json.dumps({"job_id": job_id, "tenant_id": tenant_id}, separators=(",", ":"))
        try:
            client("sqs").send_message(QueueUrl=self.url, MessageBody=body)
        except (ClientError, BotoCoreError) as exc:
            raise ServiceUnavailableError("the generation queue is unavailable; try again") from exc
