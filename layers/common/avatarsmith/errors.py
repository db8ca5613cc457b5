"""One error hierarchy for the whole product.

Every error a caller can see is an `AvatarsmithError` with an HTTP status and a stable snake_case
`code`; the api function maps them to the error envelope in one place. Workflow steps raise the
`Backend*`/`Generation*` errors; the state machine retries the transient ones by class name and
catches the rest into MarkFailed.
"""

from __future__ import annotations

from typing import Any


class AvatarsmithError(Exception):
    status_code: int = 500
    code: str = "internal_error"

    def __init__(
        self, message: str, *, param: str | None = None, details: list[dict[str, Any]] | None = None
    ):
        super().__init__(message)
        self.message = message
        self.param = param
        self.details = details
        self.headers: dict[str, str] = {}


# --- client errors -----------------------------------------------------------------------------
class InvalidRequestError(AvatarsmithError):
    status_code = 400
    code = "invalid_request"


class ModelUnavailableError(InvalidRequestError):
    code = "model_unavailable"


class PromptTooLongError(InvalidRequestError):
    code = "prompt_too_long"


class CapabilityUnsupportedError(InvalidRequestError):
    code = "capability_unsupported"


class InvalidPromptError(InvalidRequestError):
    """A prompt that was given but says nothing (Percify's "Invalid Prompt")."""

    code = "invalid_prompt"


class UnauthorizedError(AvatarsmithError):
    status_code = 401
    code = "unauthorized"


class NotFoundError(AvatarsmithError):
    status_code = 404
    code = "not_found"


class JobNotFoundError(NotFoundError):
    pass


class AvatarNotFoundError(NotFoundError):
    pass


class ConflictError(AvatarsmithError):
    status_code = 409
    code = "conflict"


class JobNotCompletedError(ConflictError):
    code = "job_not_completed"


class IdempotencyKeyMismatchError(ConflictError):
    code = "idempotency_key_mismatch"


class RequestInProgressError(ConflictError):
    code = "request_in_progress"


class JobNotCancelableError(ConflictError):
    code = "job_not_cancelable"


class JobNotFinishedError(ConflictError):
    code = "job_not_finished"


class ImageGoneError(ConflictError):
    """The stored image an operation needs is no longer there (the job was erased, or it expired)."""

    code = "image_gone"


class UploadNotFoundError(NotFoundError):
    pass


class UploadIncompleteError(ConflictError):
    code = "upload_incomplete"


class UploadExpiredError(AvatarsmithError):
    status_code = 410
    code = "upload_expired"


class StoredImageUnreadableError(AvatarsmithError):
    """A stored object that should be an image does not decode as one (422, never a 5xx)."""

    status_code = 422
    code = "image_unreadable"


class InsufficientCreditsError(AvatarsmithError):
    status_code = 402
    code = "insufficient_credits"

    def __init__(self, message: str, *, cost: int, balance: int):
        super().__init__(message, details=[{"cost": cost, "balance": balance}])
        self.cost = cost
        self.balance = balance
        self.headers = {"X-Credits-Balance": str(balance)}


class RateLimitedError(AvatarsmithError):
    """429 with `Retry-After` and the IETF `RateLimit-*` headers."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, limit: int, reset_seconds: int, param: str | None = None):
        super().__init__(message, param=param)
        reset = max(1, int(reset_seconds))
        self.headers = {
            "Retry-After": str(reset),
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(reset),
        }


class PayloadTooLargeError(AvatarsmithError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaTypeError(AvatarsmithError):
    status_code = 415
    code = "unsupported_media_type"


class RequestValidationError(AvatarsmithError):
    status_code = 422
    code = "validation_error"


# --- our own faults ----------------------------------------------------------------------------
class ServiceUnavailableError(AvatarsmithError):
    status_code = 503
    code = "service_unavailable"


class StorageError(AvatarsmithError):
    """A DynamoDB/S3/SQS call failed in a way the caller cannot fix."""

    status_code = 503
    code = "storage_unavailable"


# --- workflow errors (names are matched by the ASL Retry/Catch) --------------------------------
class WorkflowError(AvatarsmithError):
    """Base of errors raised inside the generation workflow; `code` lands in the job's `error`."""

    code = "generation_failed"


class BackendThrottledError(WorkflowError):
    """Transient: the backend asked us to slow down (429, ThrottlingException). Retried by the ASL."""

    code = "backend_throttled"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class BackendUnavailableError(WorkflowError):
    """Transient: 5xx, timeouts, connection resets. Retried by the ASL (`retry_after` when the backend
    said)."""

    code = "backend_unavailable"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class GenerationRejectedError(WorkflowError):
    """Terminal: the backend refused the request (validation, moderation, auth, quota)."""

    code = "generation_rejected"


class ContentModeratedError(GenerationRejectedError):
    code = "content_moderated"


class BackendAuthError(GenerationRejectedError):
    """Terminal: the backend refused our credentials (401/403, AccessDeniedException)."""

    code = "backend_auth_failed"


class BackendQuotaExhaustedError(GenerationRejectedError):
    """Terminal: the account's quota or balance is exhausted (OpenAI insufficient_quota, Bedrock quota)."""

    code = "backend_quota_exhausted"


class BackendModelNotFoundError(GenerationRejectedError):
    """Terminal: the backend does not know the configured model (404, unknown model id)."""

    code = "backend_model_not_found"


class BackendNotConfiguredError(GenerationRejectedError):
    """Terminal: the job names a backend this deployment has no configuration or credentials for."""

    code = "backend_not_configured"


class InvalidReferenceImageError(GenerationRejectedError):
    code = "invalid_reference_image"


class GenerationTimeoutError(WorkflowError):
    code = "generation_timeout"


class DeadlineExceededError(WorkflowError):
    """The job's own deadline (Cancel-After / deadline_seconds) passed: it ends canceled, refunded."""

    code = "deadline_exceeded"


class JobNotRunnableError(WorkflowError):
    """The job is no longer queued/processing (cancelled, or already finished by a duplicate run)."""

    code = "job_not_runnable"


class GenerationClaimedError(WorkflowError):
    """Another live run of the job's EXPRESS workflow owns its generation; this duplicate run stops."""

    code = "generation_in_progress"


class JobStalledError(WorkflowError):
    """The job stopped moving (its execution never started, vanished or ended outside the workflow's
    error handling); the reaper failed it and refunded its credits."""

    code = "stalled"


def error_code_for(error_name: str) -> str:
    """Map an ASL error name (an exception class name or a States.* error) to a public error code."""
    cls = _WORKFLOW_ERRORS.get(error_name)
    if cls is not None:
        return cls.code
    if error_name == "States.Timeout":
        return GenerationTimeoutError.code
    return WorkflowError.code


def _all_subclasses(cls: type[AvatarsmithError]) -> list[type[AvatarsmithError]]:
    found: list[type[AvatarsmithError]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


_WORKFLOW_CLASSES: list[type[AvatarsmithError]] = [WorkflowError, *_all_subclasses(WorkflowError)]
_WORKFLOW_ERRORS: dict[str, type[AvatarsmithError]] = {c.__name__: c for c in _WORKFLOW_CLASSES}
