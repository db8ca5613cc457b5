"""The asynchronous client: `AsyncClient`, the same surface as `Client` with `await`."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
from pydantic import PrivateAttr

from ._core import (
    DEFAULT_WAIT_TIMEOUT,
    Attempts,
    LocalImage,
    Settings,
    classify_reference,
    decode,
    download_target,
    generate_body,
    is_retryable_response,
    new_idempotency_key,
    next_wait,
    retry_after_seconds,
    transport_error,
    upload_request,
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
)

PathLike = str | os.PathLike[str]


class AsyncGeneratedAvatar(JobAvatar):
    _client: AsyncClient | None = PrivateAttr(None)
    _job_id: str = PrivateAttr("")

    async def download(self, path: PathLike | None = None) -> Path:
        if not self.image_url or self._client is None:
            raise Timeout(f"variation {self.index} has no image yet (status {self.status})")
        response = await self._client._send("GET", self.image_url, headers={"Accept": "image/*"})
        decode(response)
        target = download_target(path, self._job_id, self.index, response, self.format)
        target.write_bytes(response.content)
        return target


class AsyncJob(JobData):
    avatars: list[AsyncGeneratedAvatar] = []  # type: ignore[assignment]
    _client: AsyncClient | None = PrivateAttr(None)

    async def refresh(self) -> AsyncJob:
        return self._absorb(await self._api().jobs.get(self.id))

    async def wait(
        self,
        timeout: float | None = None,
        *,
        raise_on_failure: bool = False,
        cancel_on_timeout: bool = False,
        on_update: Callable[[AsyncJob], None] | None = None,
    ) -> AsyncJob:
        final = await self._api().jobs.wait(
            self.id, timeout=timeout, cancel_on_timeout=cancel_on_timeout, on_update=on_update
        )
        self._absorb(final)
        if raise_on_failure and self.status != "completed":
            reason = f": {self.error.code}: {self.error.message}" if self.error else ""
            raise JobFailed(f"job {self.id} ended {self.status}{reason}", job=self)
        return self

    async def cancel(self) -> AsyncJob:
        return self._absorb(await self._api().jobs.cancel(self.id))

    async def download_all(self, directory: PathLike = ".") -> list[Path]:
        return [await a.download(directory) for a in self.avatars if a.image_url]

    def _api(self) -> AsyncClient:
        if self._client is None:
            raise RuntimeError("this job is not bound to a client")
        return self._client

    def _absorb(self, other: AsyncJob) -> AsyncJob:
        for name in type(self).model_fields:
            object.__setattr__(self, name, getattr(other, name))
        object.__setattr__(self, "__pydantic_extra__", other.__pydantic_extra__)
        return self


def bind_job(client: AsyncClient, data: Any) -> AsyncJob:
    job = AsyncJob.model_validate(data)
    job._client = client
    for avatar in job.avatars:
        avatar._client = client
        avatar._job_id = job.id
    return job


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
            retry_after = None
            last: httpx.Response | None = None
            try:
                last = await self._http.request(method, url, timeout=attempts.request_timeout(), **kwargs)
            except httpx.TransportError as exc:
                attempts.last_error = transport_error(exc)
            else:
                if not is_retryable_response(last):
                    return last
                retry_after = retry_after_seconds(last)
            delay = attempts.next_delay(retry_after)
            if delay is None:
                if last is not None:
                    return last
                raise attempts.out_of_time()
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
        if method.upper() == "POST" and idempotency_key is None:
            idempotency_key = new_idempotency_key()
        query = {k: v for k, v in (params or {}).items() if v is not None}
        response = await self._send(
            method.upper(),
            self._settings.base_url + path,
            params=query or None,
            json=json,
            headers=self._settings.headers(idempotency_key=idempotency_key, extra=headers),
            timeout=timeout,
        )
        return decode(response)

    async def _paginate(self, path: str, params: dict[str, Any], limit: int | None) -> AsyncIterator[Any]:
        query = dict(params)
        seen = 0
        while True:
            page = await self.request("GET", path, params=query)
            for item in page.get("data", []):
                if limit is not None and seen >= limit:
                    return
                seen += 1
                yield item
            cursor = page.get("next_cursor")
            if not page.get("has_more") or not cursor:
                return
            query = {**params, "cursor": cursor}
            query.pop("offset", None)

    async def generate(
        self,
        prompt: str | None = None,
        *,
        style: str | int | None = None,
        model: str | None = None,
        num_variations: int | None = None,
        reference_images: list[PathLike | bytes] | None = None,
        wait: bool = False,
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
        submit_timeout = min(self._settings.timeout, max(0.1, deadline - time.monotonic()))
        data = await self.request(
            "POST", "/v1/avatars/generate", json=body, idempotency_key=idempotency_key, timeout=submit_timeout
        )
        job = bind_job(self, data)
        if on_update is not None:
            on_update(job)
        if wait and not job.done:
            await job.wait(
                timeout=max(0.0, deadline - time.monotonic()),
                cancel_on_timeout=cancel_on_timeout,
                on_update=on_update,
            )
        return job

    async def upload(self, image: PathLike | bytes) -> Upload:
        local = classify_reference(image)
        if not isinstance(local, LocalImage):
            raise TypeError("upload() takes a file path or bytes")
        upload = Upload.model_validate(
            await self.request(
                "POST", "/v1/uploads", json={"content_type": local.media_type, "size": len(local.data)}
            )
        )
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

    async def get(self, job_id: str) -> AsyncJob:
        return bind_job(self._client, await self._client.request("GET", f"/v1/jobs/{job_id}"))

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
            yield bind_job(self._client, item)

    async def cancel(self, job_id: str) -> AsyncJob:
        return bind_job(self._client, await self._client.request("POST", f"/v1/jobs/{job_id}/cancel"))

    async def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        cancel_on_timeout: bool = False,
        on_update: Callable[[AsyncJob], None] | None = None,
    ) -> AsyncJob:
        budget = DEFAULT_WAIT_TIMEOUT if timeout is None else timeout
        deadline = time.monotonic() + budget
        interval = 0.5
        job: AsyncJob | None = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            hold = next_wait(remaining)
            started = time.monotonic()
            try:
                data = await self._client.request(
                    "GET",
                    f"/v1/jobs/{job_id}",
                    headers={"Prefer": f"wait={hold}"} if hold else None,
                    timeout=min(remaining, hold + self._client._settings.timeout),
                )
            except Timeout:
                break
            job = bind_job(self._client, data)
            if on_update is not None:
                on_update(job)
            if job.done:
                return job
            if time.monotonic() - started < max(0.5, hold / 2):
                await asyncio.sleep(max(0.0, min(interval, deadline - time.monotonic())))
                interval = min(interval * 1.5, 5.0)
        status = job.status if job else "unknown"
        if cancel_on_timeout:
            await self.cancel(job_id)
            raise Timeout(f"job {job_id} was still {status} after {budget:g} s; it has been canceled")
        raise Timeout(
            f"job {job_id} was still {status} after {budget:g} s; resume with client.jobs.wait({job_id!r})"
        )


class AsyncAvatars:
    def __init__(self, client: AsyncClient):
        self._client = client

    async def save(self, job_id: str, *, label: str, variation: int | None = None) -> SavedAvatarData:
        body: dict[str, Any] = {"job_id": job_id, "label": label}
        if variation is not None:
            body["variation"] = variation
        return SavedAvatarData.model_validate(
            await self._client.request("POST", "/v1/avatars/save", json=body)
        )

    async def list(self, *, page_size: int = 50, limit: int | None = None) -> AsyncIterator[SavedAvatarData]:
        async for item in self._client._paginate("/v1/avatars", {"limit": page_size}, limit):
            yield SavedAvatarData.model_validate(item)

    async def get(self, avatar_id: str) -> SavedAvatarData:
        return SavedAvatarData.model_validate(await self._client.request("GET", f"/v1/avatars/{avatar_id}"))

    async def publish(self, avatar_id: str) -> SavedAvatarData:
        return SavedAvatarData.model_validate(
            await self._client.request("POST", f"/v1/avatars/{avatar_id}/publish")
        )

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
        body: dict[str, Any] = {"url": url}
        if events is not None:
            body["events"] = events
        if description is not None:
            body["description"] = description
        return WebhookEndpoint.model_validate(
            await self._client.request("POST", "/v1/webhook-endpoints", json=body)
        )

    async def list(self) -> list[WebhookEndpoint]:
        page = await self._client.request("GET", "/v1/webhook-endpoints")
        return [WebhookEndpoint.model_validate(e) for e in page["data"]]

    async def get(self, endpoint_id: str) -> WebhookEndpoint:
        return WebhookEndpoint.model_validate(
            await self._client.request("GET", f"/v1/webhook-endpoints/{endpoint_id}")
        )

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
        params = {"job_id": job_id, "limit": 50}
        async for item in self._client._paginate("/v1/webhook-deliveries", params, limit):
            yield WebhookDelivery.model_validate(item)

    async def replay(self, delivery_id: str) -> WebhookDelivery:
        path = f"/v1/webhook-deliveries/{delivery_id}/replay"
        return WebhookDelivery.model_validate(await self._client.request("POST", path))
