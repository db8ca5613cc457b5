"""The asynchronous client: `AsyncClient`, the same surface as `Client` with `await`."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx

from ._core import (
    DEFAULT_WAIT_TIMEOUT,
    Attempts,
    LocalImage,
    Pager,
    Settings,
    WaitPlan,
    classify_reference,
    decode,
    endpoint_body,
    generate_body,
    prepare_request,
    save_body,
    submit_call,
    upload_request,
    write_download,
)
from .errors import JobFailed, NotFound, Timeout
from .models import (
    Account,
    JobAvatar,
    JobData,
    ModelInfo,
    SavedAvatarData,
    Style,
    Upload,
    WebhookDelivery,
    WebhookEndpoint,
    bind_job,
)

PathLike = str | os.PathLike[str]


class AsyncGeneratedAvatar(JobAvatar):
    async def download(self, path: PathLike | None = None) -> Path:
        if not self.image_url or self._client is None:
            raise Timeout(f"variation {self.index} has no image yet (status {self.status})")
        response = await self._client._send("GET", self.image_url, headers={"Accept": "image/*"})
        return write_download(response, path, self._job_id, self.index, self.format)


class AsyncJob(JobData):
    avatars: list[AsyncGeneratedAvatar] = []  # type: ignore[assignment]

    async def refresh(self) -> AsyncJob:
        self.absorb(await self._api().jobs.get(self.id))
        return self

    async def wait(
        self,
        timeout: float | None = None,
        *,
        raise_on_failure: bool = False,
        cancel_on_timeout: bool = False,
        on_update: Callable[[AsyncJob], None] | None = None,
    ) -> AsyncJob:
        jobs = self._api().jobs
        self.absorb(
            await jobs.wait(
                self.id, timeout=timeout, cancel_on_timeout=cancel_on_timeout, on_update=on_update
            )
        )
        if raise_on_failure and self.status != "completed":
            reason = f": {self.error.code}: {self.error.message}" if self.error else ""
            raise JobFailed(f"job {self.id} ended {self.status}{reason}", job=self)
        return self

    async def cancel(self) -> AsyncJob:
        self.absorb(await self._api().jobs.cancel(self.id))
        return self

    async def download_all(self, directory: PathLike = ".") -> list[Path]:
        return [await a.download(directory) for a in self.avatars if a.image_url]

    def _api(self) -> AsyncClient:
        if not isinstance(self._client, AsyncClient):
            raise RuntimeError("this job is not bound to a client")
        return self._client


class AsyncClient:
    """Asynchronous Avatarsmith client; see `Client` for the settings and the retry rules."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        *,
        http_client: httpx.AsyncClient | None = None,
    ):
        self._settings = Settings.resolve(base_url, api_key, timeout, max_retries)
        self._http = http_client or httpx.AsyncClient()
        self._uploads_supported: bool | None = None
        self.jobs = AsyncJobs(self)
        self.avatars = AsyncAvatars(self)
        self.webhooks = AsyncWebhooks(self)

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _send(
        self, method: str, url: str, *, timeout: float | None = None, **kwargs: Any
    ) -> httpx.Response:
        attempts = Attempts.start(self._settings, timeout)
        while True:
            try:
                response = await self._http.request(method, url, timeout=attempts.request_timeout(), **kwargs)
                error = None
            except httpx.TransportError as exc:
                response, error = None, exc
            final, delay = attempts.after(response, error)
            if final is not None:
                return final
            await asyncio.sleep(delay)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        call = prepare_request(
            self._settings,
            method,
            path,
            params=params,
            json=json,
            headers=headers,
            timeout=timeout,
            idempotency_key=idempotency_key,
        )
        return decode(await self._send(**call))

    async def _paginate(self, path: str, params: dict[str, Any], limit: int | None) -> AsyncIterator[Any]:
        pager = Pager(params, limit)
        while not pager.done:
            for item in pager.take(await self.request("GET", path, params=pager.query)):
                yield item

    async def generate(
        self,
        prompt: str | None = None,
        *,
        style: str | int | None = None,
        model: str | None = None,
        num_variations: int | None = None,
        reference_images: list[PathLike | bytes] | None = None,
        wait: bool = False,
        submit_wait: bool | None = None,
        timeout: float | None = None,
        cancel_on_timeout: bool = False,
        idempotency_key: str | None = None,
        on_update: Callable[[AsyncJob], None] | None = None,
        **fields: Any,
    ) -> AsyncJob:
        deadline = time.monotonic() + (timeout if timeout is not None else DEFAULT_WAIT_TIMEOUT)
        body = generate_body(prompt, style, model, num_variations, fields)
        if reference_images:
            body["reference_images"] = [await self._reference(ref) for ref in reference_images]
        one_call = wait if submit_wait is None else submit_wait
        call = submit_call(deadline - time.monotonic(), self._settings.timeout, one_call)
        path, key = "/v1/avatars/generate", idempotency_key
        data = await self.request("POST", path, json=body, idempotency_key=key, **call)
        job = bind_job(AsyncJob, self, data)
        if on_update is not None:
            on_update(job)
        if wait and not job.done:
            left = max(0.0, deadline - time.monotonic())
            await job.wait(timeout=left, cancel_on_timeout=cancel_on_timeout, on_update=on_update)
        return job

    async def upload(self, image: PathLike | bytes) -> Upload:
        local = classify_reference(image)
        if not isinstance(local, LocalImage):
            raise TypeError("upload() takes a file path or bytes")
        asked = {"content_type": local.media_type, "size": len(local.data)}
        upload = Upload.model_validate(await self.request("POST", "/v1/uploads", json=asked))
        decode(await self._send(**upload_request(upload.model_dump(), local)))
        return upload

    async def _reference(self, ref: PathLike | bytes) -> str:
        value = classify_reference(ref)
        if isinstance(value, str):
            return value
        if self._uploads_supported is not False:
            try:
                upload = await self.upload(value.data)
            except NotFound:
                self._uploads_supported = False
            else:
                self._uploads_supported = True
                return upload.id
        return value.data_url()

    async def styles(self) -> list[Style]:
        return [Style.model_validate(s) for s in (await self.request("GET", "/v1/styles"))["data"]]

    async def models(self) -> list[ModelInfo]:
        return [ModelInfo.model_validate(m) for m in (await self.request("GET", "/v1/models"))["data"]]

    async def account(self) -> Account:
        return Account.model_validate(await self.request("GET", "/v1/account"))


class AsyncJobs:
    def __init__(self, client: AsyncClient):
        self._client = client

    async def get(self, job_id: str, **read: Any) -> AsyncJob:
        return bind_job(
            AsyncJob, self._client, await self._client.request("GET", f"/v1/jobs/{job_id}", **read)
        )

    async def list(
        self,
        *,
        status: str | None = None,
        client_reference_id: str | None = None,
        page_size: int = 50,
        limit: int | None = None,
    ) -> AsyncIterator[AsyncJob]:
        params = {"status": status, "client_reference_id": client_reference_id, "limit": page_size}
        async for item in self._client._paginate("/v1/jobs", params, limit):
            yield bind_job(AsyncJob, self._client, item)

    async def cancel(self, job_id: str) -> AsyncJob:
        return bind_job(
            AsyncJob, self._client, await self._client.request("POST", f"/v1/jobs/{job_id}/cancel")
        )

    async def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        cancel_on_timeout: bool = False,
        on_update: Callable[[AsyncJob], None] | None = None,
    ) -> AsyncJob:
        plan = WaitPlan(job_id, timeout, self._client._settings.timeout)
        while (read := plan.next_read()) is not None:
            try:
                job = await self.get(job_id, **read)
            except Timeout:
                break
            if on_update is not None:
                on_update(job)
            if job.done:
                return job
            await asyncio.sleep(plan.pause_after(job.status))
        if cancel_on_timeout:
            await self.cancel(job_id)
        raise plan.timed_out(canceled=cancel_on_timeout)


class AsyncAvatars:
    def __init__(self, client: AsyncClient):
        self._client = client

    async def save(self, job_id: str, *, label: str, variation: int | None = None) -> SavedAvatarData:
        body = save_body(job_id, label, variation)
        return SavedAvatarData.model_validate(
            await self._client.request("POST", "/v1/avatars/save", json=body)
        )

    async def list(self, *, page_size: int = 50, limit: int | None = None) -> AsyncIterator[SavedAvatarData]:
        async for item in self._client._paginate("/v1/avatars", {"limit": page_size}, limit):
            yield SavedAvatarData.model_validate(item)

    async def get(self, avatar_id: str) -> SavedAvatarData:
        return SavedAvatarData.model_validate(await self._client.request("GET", f"/v1/avatars/{avatar_id}"))

    async def publish(self, avatar_id: str) -> SavedAvatarData:
        path = f"/v1/avatars/{avatar_id}/publish"
        return SavedAvatarData.model_validate(await self._client.request("POST", path))

    async def community(
        self, *, page_size: int = 50, limit: int | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        async for item in self._client._paginate("/v1/community", {"limit": page_size}, limit):
            yield item


class AsyncWebhooks:
    def __init__(self, client: AsyncClient):
        self._client = client

    async def create(
        self, url: str, *, events: list[str] | None = None, description: str | None = None
    ) -> WebhookEndpoint:
        body = endpoint_body(url, events, description)
        return WebhookEndpoint.model_validate(
            await self._client.request("POST", "/v1/webhook-endpoints", json=body)
        )

    async def list(self) -> list[WebhookEndpoint]:
        page = await self._client.request("GET", "/v1/webhook-endpoints")
        return [WebhookEndpoint.model_validate(e) for e in page["data"]]

    async def get(self, endpoint_id: str) -> WebhookEndpoint:
        path = f"/v1/webhook-endpoints/{endpoint_id}"
        return WebhookEndpoint.model_validate(await self._client.request("GET", path))

    async def delete(self, endpoint_id: str) -> None:
        await self._client.request("DELETE", f"/v1/webhook-endpoints/{endpoint_id}")

    async def rotate_secret(self, endpoint_id: str) -> WebhookEndpoint:
        path = f"/v1/webhook-endpoints/{endpoint_id}/rotate-secret"
        return WebhookEndpoint.model_validate(await self._client.request("POST", path, json={}))

    async def test(self, endpoint_id: str) -> WebhookDelivery:
        path = f"/v1/webhook-endpoints/{endpoint_id}/test"
        return WebhookDelivery.model_validate(await self._client.request("POST", path))

    async def rotate_callback_secret(self) -> str:
        return str((await self._client.request("POST", "/v1/webhook-callback-secret", json={}))["secret"])

    async def deliveries(
        self, *, job_id: str | None = None, limit: int | None = None
    ) -> AsyncIterator[WebhookDelivery]:
        async for item in self._client._paginate(
            "/v1/webhook-deliveries", {"job_id": job_id, "limit": 50}, limit
        ):
            yield WebhookDelivery.model_validate(item)

    async def replay(self, delivery_id: str) -> WebhookDelivery:
        path = f"/v1/webhook-deliveries/{delivery_id}/replay"
        return WebhookDelivery.model_validate(await self._client.request("POST", path))
