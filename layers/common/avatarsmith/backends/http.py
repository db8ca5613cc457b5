"""What every HTTP backend adapter shares: calls with timeouts, one error classification, safe downloads
of provider-returned URLs, and the submit-then-poll scaffold for asynchronous providers.

Error classes (the ASL matches the class names):
- 429 (not quota), 408, 5xx, timeouts, connection errors -> BackendThrottledError / BackendUnavailableError
  (retried by the state machine with backoff, jitter and a max delay);
- 401/403 -> BackendAuthError; 402 and quota 429s -> BackendQuotaExhaustedError; 404 ->
  BackendModelNotFoundError; moderation -> ContentModeratedError; other 4xx -> GenerationRejectedError
  (terminal: caught into MarkFailed).

`Retry-After` is carried on the typed error. On the poll path the adapter honours it exactly by answering
"still pending, poll again in Retry-After seconds" (the Wait state's SecondsPath) instead of raising; on
submit/fetch paths the ASL backoff applies (it cannot read the header).
"""

from __future__ import annotations

import base64
import email.utils
import ipaddress
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import requests

from avatarsmith.backends.base import BackendJob, VariationOutput
from avatarsmith.backends.mapping import Plan, poll_seconds
from avatarsmith.errors import (
    BackendAuthError,
    BackendModelNotFoundError,
    BackendQuotaExhaustedError,
    BackendThrottledError,
    BackendUnavailableError,
    ContentModeratedError,
    GenerationRejectedError,
    GenerationTimeoutError,
    WorkflowError,
)
from avatarsmith.models.domain import GenerationSpec
from avatarsmith.observability import logger
from avatarsmith.urlguard import UnsafeUrlError, fetch_bytes

MAX_OUTPUT_BYTES = 50 * 1024 * 1024
ADAPTER_VERSION = "adapters-1"


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _detail(response: requests.Response) -> str:
    """A short, single-line excerpt of the provider's error body (never headers: they may echo keys)."""
    text = response.text[:300] if response.content else ""
    return " ".join(text.split())


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def data_uri(data: bytes) -> str:
    from avatarsmith.logic.references import sniff_media_type

    return f"data:{sniff_media_type(data) or 'image/png'};base64,{b64(data)}"


class HttpAdapter:
    name = "http"
    version = ADAPTER_VERSION
    capabilities: frozenset[str] = frozenset()
    timeout_seconds = 60.0
    default_poll_seconds = 2

    def __init__(self, base_url: str, api_key: str | None, *, allow_loopback: bool = False):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.allow_loopback = allow_loopback
        self.session = requests.Session()

    # --- hooks ----------------------------------------------------------------------------------
    def auth_headers(self) -> dict[str, str]:
        return {}

    def is_moderation(self, status: int, body: Any) -> bool:
        return False

    def is_quota(self, status: int, body: Any) -> bool:
        return status == 402

    # --- calls ----------------------------------------------------------------------------------
    def call(
        self,
        method: str,
        url: str,
        *,
        ok: tuple[int, ...] = (200, 201, 202),
        timeout: float | None = None,
        wait_retry_after: float = 0.0,
        **kwargs: Any,
    ) -> requests.Response:
        """One call; a 429/503 whose `Retry-After` fits in `wait_retry_after` seconds (in total) is waited
        out exactly and the call made again, otherwise the typed error goes up to the ASL's backoff."""
        waited = 0.0
        while True:
            try:
                return self._call_once(method, url, ok=ok, timeout=timeout, **kwargs)
            except (BackendThrottledError, BackendUnavailableError) as exc:
                delay = getattr(exc, "retry_after", None)
                if delay is None or waited + delay > wait_retry_after:
                    raise
                time.sleep(delay)
                waited += delay

    def _call_once(
        self, method: str, url: str, *, ok: tuple[int, ...], timeout: float | None, **kwargs: Any
    ) -> requests.Response:
        headers = {**self.auth_headers(), **kwargs.pop("headers", {})}
        try:
            response = self.session.request(
                method,
                url,
                headers=headers,
                timeout=timeout or self.timeout_seconds,
                allow_redirects=False,
                **kwargs,
            )
        except requests.Timeout as exc:
            raise BackendUnavailableError(f"{self.name} did not answer in time") from exc
        except requests.RequestException as exc:  # connection refused/reset, DNS, TLS
            raise BackendUnavailableError(f"{self.name} could not be reached ({type(exc).__name__})") from exc
        if response.status_code in ok:
            return response
        raise self.classify(response)

    def classify(self, response: requests.Response) -> WorkflowError:
        status = response.status_code
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        detail = _detail(response)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        where = f"{self.name} answered HTTP {status}"
        if self.is_moderation(status, body):
            return ContentModeratedError(f"the request was blocked by {self.name}'s content moderation")
        if self.is_quota(status, body):
            return BackendQuotaExhaustedError(f"{where}: the account's quota or balance is exhausted")
        if status == 429:
            return BackendThrottledError(f"{where}: rate limited", retry_after=retry_after)
        if status == 408 or status >= 500:
            return BackendUnavailableError(f"{where}: {detail[:120]}", retry_after=retry_after)
        if status in (401, 403):
            # an operator error (a wrong or revoked key): logged for the operator, never with the key
            logger.error(
                "backend refused the deployment's credentials",
                extra={"backend": self.name, "status": status, "operator_action": "check the backend key"},
            )
            return BackendAuthError(f"{where}: {self.name} refused the credentials")
        if status == 404:
            return BackendModelNotFoundError(f"{where}: the model or endpoint does not exist")
        return GenerationRejectedError(f"{where}: {detail[:200]}")

    def get_json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self.call(method, url, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise BackendUnavailableError(f"{self.name} answered with a body that is not JSON") from exc

    # --- provider-returned URLs ------------------------------------------------------------------
    def _check_provider_url(self, url: str, *, same_site: bool) -> None:
        """SSRF-check a URL the provider gave us; API URLs we send our key to must be the provider's own."""
        from avatarsmith.urlguard import resolve_checked

        try:
            resolve_checked(url, allow_loopback=self.allow_loopback, param=f"{self.name} URL")
        except UnsafeUrlError as exc:
            raise GenerationRejectedError(f"{self.name} returned an unsafe URL: {exc.message}") from exc
        if same_site and not _same_site(url, self.base_url):
            raise GenerationRejectedError(f"{self.name} returned an API URL outside its own domain")

    def call_provider_url(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self._check_provider_url(url, same_site=True)
        return self.call(method, url, **kwargs)

    def download(self, url: str) -> bytes:
        """Fetch an output at once (provider URLs expire in minutes): SSRF-checked, capped, no redirects."""
        try:
            return fetch_bytes(
                url,
                allow_loopback=self.allow_loopback,
                param=f"{self.name} output",
                max_bytes=MAX_OUTPUT_BYTES,
                timeout=self.timeout_seconds,
            )
        except UnsafeUrlError as exc:
            if "answered HTTP 5" in exc.message or "answered HTTP 429" in exc.message:
                raise BackendUnavailableError(f"{self.name} output download failed: {exc.message}") from exc
            raise GenerationRejectedError(
                f"{self.name} output could not be downloaded: {exc.message}"
            ) from exc
        except OSError as exc:
            raise BackendUnavailableError(
                f"{self.name} output download failed ({type(exc).__name__})"
            ) from exc


def _site(host: str) -> str:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return host
    except ValueError:
        return ".".join(host.split(".")[-2:])


def _same_site(url: str, base_url: str) -> bool:
    a, b = urlsplit(url).hostname or "", urlsplit(base_url).hostname or ""
    return bool(a) and _site(a.lower()) == _site(b.lower())


class TaskFailed(Exception):
    """One variation's task ended without an image."""

    def __init__(self, error: WorkflowError):
        super().__init__(error.message)
        self.error = error


class AsyncTaskAdapter(HttpAdapter):
    """Submit one provider task per variation (each with its own seed), poll until all are done, then
    fetch each output. The BackendJob state holds only task ids, status URLs and output URLs."""

    def plan(self, spec: GenerationSpec) -> Plan:
        raise NotImplementedError

    def start_task(
        self, spec: GenerationSpec, plan: Plan, references: list[bytes], index: int
    ) -> dict[str, Any]:
        raise NotImplementedError

    def check_task(self, spec: GenerationSpec, task: dict[str, Any]) -> dict[str, Any]:
        """Return the task updated: status pending|succeeded|failed, `outputs` (URLs) or `error_code`.

        Raise TaskFailed for a per-task terminal failure; raise typed errors for whole-job problems."""
        raise NotImplementedError

    def download_output(self, task: dict[str, Any]) -> bytes:
        return self.download(task["outputs"][0])

    def cancel_task(self, task: dict[str, Any]) -> None:
        """Best effort; the default is a backend without cancellation."""

    def options(self, spec: GenerationSpec) -> dict[str, Any]:
        from avatarsmith import catalog

        entry = catalog.find_route(spec.model, self.name)
        return entry.options if entry else {}

    # --- GenerationBackend ------------------------------------------------------------------------
    def submit(self, spec: GenerationSpec, references: list[bytes], *, deadline: float) -> BackendJob:
        plan = self.plan(spec)
        tasks: list[dict[str, Any]] = []
        try:
            for index in range(spec.num_variations):
                task = self.start_task(spec, plan, references, index)
                task.update(index=index, status="pending")
                tasks.append(task)
        except Exception:
            for task in tasks:  # do not leave paid tasks running when the submit is retried
                self._cancel_quietly(task)
            raise
        return BackendJob(
            backend=self.name,
            backend_job_id=",".join(str(t["id"]) for t in tasks)[:400],
            status="pending",
            poll_after_seconds=poll_seconds(self.name, self.default_poll_seconds, self.options(spec)),
            deadline=deadline,
            state={"tasks": tasks, "adjustments": plan.adjustments},
        )

    def poll(self, spec: GenerationSpec, job: BackendJob) -> BackendJob:
        tasks = [dict(t) for t in job.state.get("tasks", [])]
        wait = poll_seconds(self.name, self.default_poll_seconds, self.options(spec))
        for task in tasks:
            if task["status"] != "pending":
                continue
            try:
                task.update(self.check_task(spec, task))
            except TaskFailed as failed:
                task.update(status="failed", error_code=failed.error.code, message=failed.error.message[:200])
            except (BackendThrottledError, BackendUnavailableError) as exc:  # 429/503 + Retry-After
                if exc.retry_after is None:
                    raise
                wait = max(wait, min(300, int(exc.retry_after + 0.999)))  # honour Retry-After exactly
                break
        state = dict(job.state, tasks=tasks)
        pending = any(t["status"] == "pending" for t in tasks)
        if not pending and not any(t["status"] == "succeeded" for t in tasks):
            codes = {t.get("error_code") for t in tasks}
            message = next((t.get("message") for t in tasks if t.get("message")), "every task failed")
            if codes == {ContentModeratedError.code}:
                raise ContentModeratedError(str(message))
            raise GenerationRejectedError(str(message))
        return job.model_copy(
            update={
                "polls": job.polls + 1,
                "status": "pending" if pending else "succeeded",
                "poll_after_seconds": wait,
                "state": state,
            }
        )

    def fetch(
        self,
        spec: GenerationSpec,
        references: list[bytes],
        job: BackendJob,
        *,
        skip: frozenset[int] = frozenset(),
    ) -> Iterator[VariationOutput]:
        """Download each finished task's image (provider URLs expire: at once), one at a time."""
        if job.status != "succeeded":
            raise GenerationRejectedError(f"{self.name} job fetched before it finished")
        for task in job.state.get("tasks", []):
            index = int(task["index"])
            if index in skip:
                continue
            seed = task.get("seed")
            if task["status"] != "succeeded":
                yield VariationOutput(index, None, seed, task.get("error_code") or "generation_failed")
                continue
            yield VariationOutput(index, self.download_output(task), seed)

    def cancel(self, spec: GenerationSpec, job: BackendJob) -> None:
        for task in job.state.get("tasks", []):
            if task.get("status") == "pending":
                self._cancel_quietly(task)

    def _cancel_quietly(self, task: dict[str, Any]) -> None:
        try:
            self.cancel_task(task)
        except Exception:  # cancellation is best effort; the job fails either way
            logger.warning(
                "backend task could not be cancelled", extra={"backend": self.name, "task": task.get("id")}
            )


def check_deadline(deadline: float, name: str) -> float:
    """Seconds left before the job's deadline; GenerationTimeoutError when none are."""
    left = deadline - time.time()
    if left <= 0:
        raise GenerationTimeoutError(f"{name} did not finish before the job's deadline")
    return left
