"""Typed errors: one class per error `code` of the API's envelope, falling back to the HTTP status.

Every error carries `code`, `message`, `request_id` (quote it when asking the operator), `status_code`,
and `param`/`details` when the API names the offending field.
"""

from __future__ import annotations

from typing import Any


class AvatarsmithError(Exception):
    """Base of every error the SDK raises."""

    code: str = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        request_id: str | None = None,
        status_code: int | None = None,
        param: str | None = None,
        details: list[dict[str, Any]] | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.request_id = request_id
        self.status_code = status_code
        self.param = param
        self.details = details or []
        self.retry_after = retry_after

    def __str__(self) -> str:
        where = f" (param {self.param})" if self.param else ""
        rid = f" [request {self.request_id}]" if self.request_id else ""
        return f"{self.code}: {self.message}{where}{rid}"


class APIError(AvatarsmithError):
    """The API answered with an error envelope."""


class InvalidRequest(APIError):
    code = "invalid_request"


class Unauthorized(APIError):
    code = "unauthorized"


class InsufficientCredits(APIError):
    code = "insufficient_credits"


class NotFound(APIError):
    code = "not_found"


class Conflict(APIError):
    code = "conflict"


class IdempotencyKeyMismatch(Conflict):
    code = "idempotency_key_mismatch"


class RequestInProgress(Conflict):
    code = "request_in_progress"


class JobNotCancelable(Conflict):
    code = "job_not_cancelable"


class PayloadTooLarge(APIError):
    code = "payload_too_large"


class UnsupportedMediaType(APIError):
    code = "unsupported_media_type"


class ValidationFailed(APIError):
    code = "validation_error"


class RateLimited(APIError):
    code = "rate_limited"


class ServerError(APIError):
    code = "internal_error"


class ConnectionFailed(AvatarsmithError):
    """The API could not be reached (refused, reset, dropped) even after the retries."""

    code = "connection_error"


class Timeout(AvatarsmithError):
    """The call's deadline passed: the HTTP read timed out, or a wait ran out of time."""

    code = "timeout"


class JobFailed(AvatarsmithError):
    """`wait(raise_on_failure=True)` found the job failed or canceled; `job` is the final job."""

    code = "job_failed"

    def __init__(self, message: str, *, job: Any, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.job = job


_BY_CODE: dict[str, type[APIError]] = {
    cls.code: cls
    for cls in (
        InvalidRequest,
        Unauthorized,
        InsufficientCredits,
        NotFound,
        Conflict,
        IdempotencyKeyMismatch,
        RequestInProgress,
        JobNotCancelable,
        PayloadTooLarge,
        UnsupportedMediaType,
        ValidationFailed,
        RateLimited,
    )
}
_BY_STATUS: dict[int, type[APIError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    402: InsufficientCredits,
    403: Unauthorized,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: ValidationFailed,
    429: RateLimited,
}


def error_from_response(
    status_code: int, body: Any, *, request_id: str | None = None, retry_after: float | None = None
) -> APIError:
    """The typed error for an error response (`body` is the parsed JSON, or None when it is not JSON)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {}
    code = str(error.get("code") or "")
    cls = (
        _BY_CODE.get(code) or _BY_STATUS.get(status_code) or (ServerError if status_code >= 500 else APIError)
    )
    message = str(error.get("message") or (body.get("message") if isinstance(body, dict) else None) or "")
    details = error.get("details")
    return cls(
        message or f"HTTP {status_code}",
        code=code or cls.code,
        request_id=str(error.get("request_id") or request_id or "") or None,
        status_code=status_code,
        param=error.get("param"),
        details=details if isinstance(details, list) else None,
        retry_after=retry_after,
    )
