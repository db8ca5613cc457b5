"""The synchronous client: `Client`, its resources and the `Job` handle."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
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


class GeneratedAvatar(JobAvatar):
    """One variation of a job; `download()` saves its image."""

    def download(self, path: PathLike | None = None) -> Path:
        """Save the image to `path` (a directory gets `<job_id>-<index>.<ext>`); returns the file written."""
        if not self.image_url or self._client is None:
            raise Timeout(f"variation {self.index} has no image yet (status {self.status})")
        response = self._client._send("GET", self.image_url, headers={"Accept": "image/*"})
        return write_download(response, path, self._job_id, self.index, self.format)


class Job(JobData):
    """A generation job. `wait()`, `cancel()` and `refresh()` update it in place and return it."""

    avatars: list[GeneratedAvatar] = []  # type: ignore[assignment]

    def refresh(self) -> Job:
        self.absorb(self._api().jobs.get(self.id))
        return self

    def wait(
        self,
        timeout: float | None = None,
        *,
        raise_on_failure: bool = False,
        cancel_on_timeout: bool = False,
        on_update: Callable[[Job], None] | None = None,
    ) -> Job:
        self.absorb(
            self._api().jobs.wait(
                self.id, timeout=timeout, cancel_on_timeout=cancel_on_timeout, on_update=on_update
            )
        )
        if raise_on_failure and self.status != "completed":
            reason = f": {self.error.code}: {self.error.message}" if self.error else ""
            raise JobFailed(f"job {self.id} ended {self.status}{reason}", job=self)
        return self

    def cancel(self) -> Job:
        self.absorb(self._api().jobs.cancel(self.id))
        return self

    def download_all(self, directory: PathLike = ".") -> list[Path]:
        return [a.download(directory) for a in self.avatars if a.image_url]

    def _api(self) -> Client:
        if not isinstance(self._client, Client):
            raise RuntimeError("this job is not bound to a client")
        return self._client


class Client:
    """Synchronous Avatarsmith client.

    `base_url` and `api_key` default to `AVATARSMITH_BASE_URL` and `AVATARSMITH_API_KEY`. `timeout` is the
    deadline of one API call, retries included; `max_retries` bounds the retries on 429, 5xx and dropped
    connections (with backoff, jitter and `Retry-After`). Every POST carries one Idempotency-Key minted per
    call and reused on each retry, so a retried generation is never charged twice.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        *,
        http_client: httpx.Client | None = None,
    ):
        self._settings = Settings.resolve(base_url, api_key, timeout, max_retries)
        self._http = http_client or httpx.Client()
        self._uploads_supported: bool | None = None
        self.jobs = Jobs(self)
        self.avatars = Avatars(self)
        self.webhooks = Webhooks(self)

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport ----------------------------------------------------------------------------------
    def _send(self, method: str, url: str, *, timeout: float | None = None, **kwargs: Any) -> httpx.Response:
        """Send with retries on dropped connections and retryable statuses, within one deadline."""
        attempts = Attempts.start(self._settings, timeout)
        while True:
            try:
                response, error = (
                    self._http.request(method, url, timeout=attempts.request_timeout(), **kwargs),
                    None,
                )
            except httpx.TransportError as exc:
                response, error = None, exc
            final, delay = attempts.after(response, error)
            if final is not None:
                return final
            time.sleep(delay)

    def request(
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
        """One API call; returns the decoded JSON or raises the typed error."""
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
        return decode(self._send(**call))

    def _paginate(self, path: str, params: dict[str, Any], limit: int | None) -> Iterator[Any]:
        pager = Pager(params, limit)
        while not pager.done:
            yield from pager.take(self.request("GET", path, params=pager.query))

    # --- generation ---------------------------------------------------------------------------------
    def generate(
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
        on_update: Callable[[Job], None] | None = None,
        **fields: Any,
    ) -> Job:
        """Queue a generation (`fields` are any other request fields: `output`, `seed`, `attributes`...).

        With `wait=True`, returns once the job is completed, failed or canceled: the submit itself asks the
        API to wait (`Prefer: wait=N`, N up to 25 s) and gets the finished job in one call when it ends in
        time; otherwise (202) the job is read until it ends. `submit_wait` sends (or not) that preference
        independently of `wait`. `timeout` bounds the whole call (submission and waiting) and raises
        `Timeout` when it passes (cancelling the job first with `cancel_on_timeout=True`)."""
        deadline = time.monotonic() + (timeout if timeout is not None else DEFAULT_WAIT_TIMEOUT)
        body = generate_body(prompt, style, model, num_variations, fields)
        if reference_images:
            body["reference_images"] = [self._reference(ref) for ref in reference_images]
        one_call = wait if submit_wait is None else submit_wait
        call = submit_call(deadline - time.monotonic(), self._settings.timeout, one_call)
        path, key = "/v1/avatars/generate", idempotency_key
        data = self.request("POST", path, json=body, idempotency_key=key, **call)
        job = bind_job(Job, self, data)
        if on_update is not None:
            on_update(job)
        if wait and not job.done:
            job.wait(
                timeout=max(0.0, deadline - time.monotonic()),
                cancel_on_timeout=cancel_on_timeout,
                on_update=on_update,
            )
        return job

    def upload(self, image: PathLike | bytes) -> Upload:
        """Send a local image to the API's upload route; the returned id goes in `reference_images`."""
        local = classify_reference(image)
        if not isinstance(local, LocalImage):
            raise TypeError("upload() takes a file path or bytes")
        asked = {"content_type": local.media_type, "size": len(local.data)}
        upload = Upload.model_validate(self.request("POST", "/v1/uploads", json=asked))
        decode(self._send(**upload_request(upload.model_dump(), local)))
        return upload

    def _reference(self, ref: PathLike | bytes) -> str:
        value = classify_reference(ref)
        if isinstance(value, str):
            return value
        if self._uploads_supported is not False:
            try:
                upload = self.upload(value.data)
            except NotFound:
                self._uploads_supported = False  # an older server: send the image inline
            else:
                self._uploads_supported = True
                return upload.id
        return value.data_url()

    # --- catalog and account ------------------------------------------------------------------------
    def styles(self) -> list[Style]:
        return [Style.model_validate(s) for s in self.request("GET", "/v1/styles")["data"]]

    def models(self) -> list[ModelInfo]:
        return [ModelInfo.model_validate(m) for m in self.request("GET", "/v1/models")["data"]]

    def account(self) -> Account:
        return Account.model_validate(self.request("GET", "/v1/account"))


class Jobs:
    def __init__(self, client: Client):
        self._client = client

    def get(self, job_id: str, **read: Any) -> Job:
        return bind_job(Job, self._client, self._client.request("GET", f"/v1/jobs/{job_id}", **read))

    def list(
        self,
        *,
        status: str | None = None,
        client_reference_id: str | None = None,
        page_size: int = 50,
        limit: int | None = None,
    ) -> Iterator[Job]:
        """Every job, newest first, fetching pages as the iteration goes (`limit` stops early)."""
        params = {"status": status, "client_reference_id": client_reference_id, "limit": page_size}
        for item in self._client._paginate("/v1/jobs", params, limit):
            yield bind_job(Job, self._client, item)

    def cancel(self, job_id: str) -> Job:
        return bind_job(Job, self._client, self._client.request("POST", f"/v1/jobs/{job_id}/cancel"))

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        cancel_on_timeout: bool = False,
        on_update: Callable[[Job], None] | None = None,
    ) -> Job:
        """Read the job every second until it ends or `timeout` passes (docs/cost.md: why not held reads)."""
        plan = WaitPlan(job_id, timeout, self._client._settings.timeout)
        while (read := plan.next_read()) is not None:
            try:
                job = self.get(job_id, **read)
            except Timeout:
                break
            if on_update is not None:
                on_update(job)
            if job.done:
                return job
            time.sleep(plan.pause_after(job.status))
        if cancel_on_timeout:
            self.cancel(job_id)
        raise plan.timed_out(canceled=cancel_on_timeout)


class Avatars:
    def __init__(self, client: Client):
        self._client = client

    def save(self, job_id: str, *, label: str, variation: int | None = None) -> SavedAvatarData:
        body = save_body(job_id, label, variation)
        return SavedAvatarData.model_validate(self._client.request("POST", "/v1/avatars/save", json=body))

    def list(self, *, page_size: int = 50, limit: int | None = None) -> Iterator[SavedAvatarData]:
        for item in self._client._paginate("/v1/avatars", {"limit": page_size}, limit):
            yield SavedAvatarData.model_validate(item)

    def get(self, avatar_id: str) -> SavedAvatarData:
        return SavedAvatarData.model_validate(self._client.request("GET", f"/v1/avatars/{avatar_id}"))

    def publish(self, avatar_id: str) -> SavedAvatarData:
        return SavedAvatarData.model_validate(
            self._client.request("POST", f"/v1/avatars/{avatar_id}/publish")
        )

    def community(self, *, page_size: int = 50, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """The public community gallery (published avatars of every tenant)."""
        yield from self._client._paginate("/v1/community", {"limit": page_size}, limit)


class Webhooks:
    def __init__(self, client: Client):
        self._client = client

    def create(
        self, url: str, *, events: list[str] | None = None, description: str | None = None
    ) -> WebhookEndpoint:
        body = endpoint_body(url, events, description)
        return WebhookEndpoint.model_validate(
            self._client.request("POST", "/v1/webhook-endpoints", json=body)
        )

    def list(self) -> list[WebhookEndpoint]:
        page = self._client.request("GET", "/v1/webhook-endpoints")
        return [WebhookEndpoint.model_validate(e) for e in page["data"]]

    def get(self, endpoint_id: str) -> WebhookEndpoint:
        return WebhookEndpoint.model_validate(
            self._client.request("GET", f"/v1/webhook-endpoints/{endpoint_id}")
        )

    def delete(self, endpoint_id: str) -> None:
        self._client.request("DELETE", f"/v1/webhook-endpoints/{endpoint_id}")

    def rotate_secret(self, endpoint_id: str) -> WebhookEndpoint:
        path = f"/v1/webhook-endpoints/{endpoint_id}/rotate-secret"
        return WebhookEndpoint.model_validate(self._client.request("POST", path, json={}))

    def test(self, endpoint_id: str) -> WebhookDelivery:
        path = f"/v1/webhook-endpoints/{endpoint_id}/test"
        return WebhookDelivery.model_validate(self._client.request("POST", path))

    def rotate_callback_secret(self) -> str:
        return str(self._client.request("POST", "/v1/webhook-callback-secret", json={})["secret"])

    def deliveries(self, *, job_id: str | None = None, limit: int | None = None) -> Iterator[WebhookDelivery]:
        for item in self._client._paginate("/v1/webhook-deliveries", {"job_id": job_id, "limit": 50}, limit):
            yield WebhookDelivery.model_validate(item)

    def replay(self, delivery_id: str) -> WebhookDelivery:
        path = f"/v1/webhook-deliveries/{delivery_id}/replay"
        return WebhookDelivery.model_validate(self._client.request("POST", path))
