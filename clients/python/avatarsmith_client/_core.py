"""What the sync and async clients share: settings, the retry policy, request and reply shaping,
reference images and file names. No I/O here."""

from __future__ import annotations

import base64
import email.utils
import os
import random
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ._version import __version__
from .errors import AvatarsmithError, ConnectionFailed, InvalidRequest, Timeout, error_from_response

DEFAULT_BASE_URL = "http://127.0.0.1:3000"
DEFAULT_TIMEOUT = 60.0  # one API call, retries included
DEFAULT_WAIT_TIMEOUT = 600.0  # waiting for a job
DEFAULT_MAX_RETRIES = 3
LONG_POLL_SECONDS = 25  # the API holds a submit up to 60 s; stay under API Gateway's 30 s cap
POLL_SECONDS = 1.0  # between job reads while waiting (docs/cost.md: cheaper than held reads on AWS)
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_MAX_REFERENCE_BYTES = 15 * 1024 * 1024
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def new_idempotency_key() -> str:
    return f"sdk-{uuid.uuid4()}"


@dataclass(frozen=True)
class Settings:
    base_url: str
    api_key: str | None
    timeout: float
    max_retries: int
    backoff_base: float = 0.5
    backoff_cap: float = 20.0
    user_agent: str = f"avatarsmith-python/{__version__}"

    @classmethod
    def resolve(
        cls, base_url: str | None, api_key: str | None, timeout: float | None, max_retries: int | None
    ) -> Settings:
        url = base_url or os.environ.get("AVATARSMITH_BASE_URL") or DEFAULT_BASE_URL
        return cls(
            base_url=url.rstrip("/"),
            api_key=api_key or os.environ.get("AVATARSMITH_API_KEY") or None,
            timeout=DEFAULT_TIMEOUT if timeout is None else float(timeout),
            max_retries=DEFAULT_MAX_RETRIES if max_retries is None else max(0, int(max_retries)),
        )

    def headers(self, *, idempotency_key: str | None = None, extra: dict[str, str] | None = None) -> dict:
        headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        headers.update(extra or {})
        return headers


@dataclass
class Attempts:
    """One call's retry state: a deadline for the whole call and the attempts made so far."""

    settings: Settings
    deadline: float
    attempt: int = 0
    last_error: AvatarsmithError | None = field(default=None)

    @classmethod
    def start(cls, settings: Settings, timeout: float | None) -> Attempts:
        return cls(settings, time.monotonic() + (settings.timeout if timeout is None else timeout))

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def request_timeout(self, floor: float = 0.05) -> httpx.Timeout:
        left = max(floor, self.remaining())
        return httpx.Timeout(left, connect=min(left, 10.0))

    def next_delay(self, retry_after: float | None) -> float | None:
        """Seconds to sleep before the next attempt, or None when the retries or the deadline are spent."""
        if self.attempt >= self.settings.max_retries:
            return None
        backoff = min(self.settings.backoff_cap, self.settings.backoff_base * 2**self.attempt)
        delay = random.uniform(backoff / 2, backoff)
        if retry_after is not None:
            delay = max(delay, retry_after)
        if delay >= self.remaining():
            return None
        self.attempt += 1
        return delay

    def out_of_time(self) -> AvatarsmithError:
        if self.last_error is not None:
            return self.last_error
        return Timeout("the call's deadline passed before the API answered")

    def after(
        self, response: httpx.Response | None, error: httpx.TransportError | None = None
    ) -> tuple[httpx.Response | None, float]:
        """Decide after one attempt: `(response, 0)` to hand it back, `(None, delay)` to sleep and retry.
        Raises the typed error of a transport failure that may not be retried any more."""
        if response is not None and not is_retryable_response(response):
            return response, 0.0
        if error is not None:
            self.last_error = transport_error(error)
        delay = self.next_delay(retry_after_seconds(response) if response is not None else None)
        if delay is None:
            if response is not None:
                return response, 0.0
            raise self.out_of_time()
        return None, delay


def prepare_request(
    settings: Settings,
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None,
    json: Any,
    headers: dict[str, str] | None,
    timeout: float | None,
    idempotency_key: str | None,
) -> dict[str, Any]:
    """Keyword arguments of one API call for `_send`. A POST gets its Idempotency-Key here, once per call:
    every retry of the call sends the same key."""
    method = method.upper()
    if method == "POST" and idempotency_key is None:
        idempotency_key = new_idempotency_key()
    query = {k: v for k, v in (params or {}).items() if v is not None}
    return {
        "method": method,
        "url": settings.base_url + path,
        "params": query or None,
        "json": json,
        "headers": settings.headers(idempotency_key=idempotency_key, extra=headers),
        "timeout": timeout,
    }


class Pager:
    """Follows `next_cursor` through a list endpoint; `take(page)` returns the items to yield."""

    def __init__(self, params: dict[str, Any], limit: int | None):
        self.params = params
        self.query = dict(params)
        self.limit = limit
        self.seen = 0
        self.done = False

    def take(self, page: dict[str, Any]) -> list[Any]:
        items = list(page.get("data", []))
        if self.limit is not None:
            items = items[: max(0, self.limit - self.seen)]
        self.seen += len(items)
        cursor = page.get("next_cursor")
        if not page.get("has_more") or not cursor or (self.limit is not None and self.seen >= self.limit):
            self.done = True
        else:
            self.query = {k: v for k, v in {**self.params, "cursor": cursor}.items() if k != "offset"}
        return items


class WaitPlan:
    """The schedule of `jobs.wait`: plain reads (no `Prefer: wait`), 0.5 s then every second, and one
    deadline for the whole wait. On AWS a held read bills the api function for every second it waits
    (512 MB: $0.0067 per 1,000 s), a plain read about 40 ms and one API request: reading every second
    costs about a quarter as much for the same latency (the API's own long-poll looks at the job about
    once a second too). See docs/cost.md."""

    def __init__(self, job_id: str, timeout: float | None, call_timeout: float):
        self.job_id = job_id
        self.budget = DEFAULT_WAIT_TIMEOUT if timeout is None else timeout
        self.deadline = time.monotonic() + self.budget
        self.call_timeout = call_timeout
        self.interval = 0.5
        self.status = "unknown"

    def next_read(self) -> dict[str, Any] | None:
        """`request()` keyword arguments of the next job read, or None when the deadline has passed."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            return None
        return {"timeout": min(remaining, self.call_timeout)}

    def pause_after(self, status: str) -> float:
        """Seconds to sleep after a read that found the job still running."""
        self.status = status
        pause = max(0.0, min(self.interval, self.deadline - time.monotonic()))
        self.interval = POLL_SECONDS
        return pause

    def timed_out(self, *, canceled: bool) -> Timeout:
        still = f"job {self.job_id} was still {self.status} after {self.budget:g} s"
        if canceled:
            return Timeout(f"{still}; it has been canceled")
        return Timeout(f"{still}; resume with client.jobs.wait({self.job_id!r})")


def save_body(job_id: str, label: str, variation: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"job_id": job_id, "label": label}
    if variation is not None:
        body["variation"] = variation
    return body


def endpoint_body(url: str, events: list[str] | None, description: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url}
    if events is not None:
        body["events"] = events
    if description is not None:
        body["description"] = description
    return body


def write_download(
    response: httpx.Response, path: str | os.PathLike[str] | None, job_id: str, index: int, fmt: str | None
) -> Path:
    decode(response)
    target = download_target(path, job_id, index, response, fmt)
    target.write_bytes(response.content)
    return target


def retry_after_seconds(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(raw) if raw else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def is_retryable_response(response: httpx.Response) -> bool:
    if response.status_code in RETRY_STATUSES:
        return True
    if response.status_code == 409:  # the first try with the same Idempotency-Key is still running
        return b"request_in_progress" in response.content
    return False


def transport_error(exc: httpx.HTTPError) -> AvatarsmithError:
    if isinstance(exc, httpx.TimeoutException):
        return Timeout(f"the API did not answer in time ({type(exc).__name__})")
    return ConnectionFailed(f"could not reach the API: {exc or type(exc).__name__}")


def decode(response: httpx.Response) -> Any:
    """The JSON body of a success, or the typed error of a failure."""
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    if response.status_code >= 400:
        raise error_from_response(
            response.status_code,
            body,
            request_id=response.headers.get("x-request-id"),
            retry_after=retry_after_seconds(response),
        )
    return body


# --- reference images --------------------------------------------------------------------------------
def sniff_media_type(data: bytes) -> str:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise InvalidRequest("a reference image must be a JPEG, PNG or WebP file", param="reference_images")


@dataclass(frozen=True)
class LocalImage:
    data: bytes
    media_type: str

    def data_url(self) -> str:
        return f"data:{self.media_type};base64,{base64.b64encode(self.data).decode()}"


def classify_reference(ref: str | bytes | os.PathLike[str]) -> str | LocalImage:
    """A value the API takes as is (URL, data URL, upload id), or local bytes to upload."""
    if isinstance(ref, bytes | bytearray):
        data = bytes(ref)
    elif isinstance(ref, str) and ref.startswith(("https://", "http://", "data:", "upl_")):
        return ref
    else:
        path = Path(ref)
        if not path.is_file():
            raise InvalidRequest(f"reference image {str(ref)[:80]!r} is not a URL nor a readable file")
        data = path.read_bytes()
    if len(data) > _MAX_REFERENCE_BYTES:
        raise InvalidRequest("a reference image is at most 15 MB", param="reference_images")
    return LocalImage(data, sniff_media_type(data))


def upload_request(upload: dict[str, Any], image: LocalImage) -> dict[str, Any]:
    """httpx keyword arguments that send `image` to a presigned upload (S3 POST form or PUT)."""
    method = str(upload.get("method") or "POST").upper()
    if method == "POST":
        return {
            "method": "POST",
            "url": upload["upload_url"],
            "data": dict(upload.get("fields") or {}),
            "files": {"file": ("reference", image.data, image.media_type)},
            "headers": dict(upload.get("headers") or {}),
        }
    headers = {"Content-Type": image.media_type, **dict(upload.get("headers") or {})}
    return {"method": method, "url": upload["upload_url"], "content": image.data, "headers": headers}


def generate_body(
    prompt: str | None, style: str | int | None, model: str | None, num_variations: int | None, fields: dict
) -> dict[str, Any]:
    body: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
    for key, value in (
        ("prompt", prompt),
        ("style", style),
        ("model", model),
        ("num_variations", num_variations),
    ):
        if value is not None:
            body[key] = value
    return body


def image_file_name(job_id: str, index: int, media_type: str | None, fmt: str | None) -> str:
    ext = (fmt or "").lower().replace("jpeg", "jpg") or _EXTENSIONS.get(
        (media_type or "").split(";")[0], "png"
    )
    return f"{job_id}-{index}.{ext}"


def download_target(
    path: str | os.PathLike[str] | None, job_id: str, index: int, response: httpx.Response, fmt: str | None
) -> Path:
    name = image_file_name(job_id, index, response.headers.get("content-type"), fmt)
    if path is None:
        return Path(name)
    target = Path(path)
    if target.is_dir() or str(path).endswith(os.sep):
        target.mkdir(parents=True, exist_ok=True)
        return target / name
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def submit_call(remaining: float, call_timeout: float, wait: bool) -> dict[str, Any]:
    """`request()` keyword arguments of a submit: with `wait`, `Prefer: wait=N` (one call: the API answers
    200 with the finished job if it ends within N s, else the usual 202, and the SDK then polls)."""
    hold = next_wait(remaining) if wait else 0
    if not hold:
        return {"timeout": min(call_timeout, max(0.1, remaining))}
    return {"headers": {"Prefer": f"wait={hold}"}, "timeout": min(remaining, hold + call_timeout)}


def next_wait(remaining: float) -> int:
    """Seconds to ask the API to hold the next job read (`Prefer: wait=N`)."""
    return max(0, min(LONG_POLL_SECONDS, int(remaining) - 1))
