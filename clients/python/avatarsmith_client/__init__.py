"""Python SDK for the Avatarsmith avatar generation API.

from avatarsmith_client import Client
job = Client().generate("smiling woman with red hair", style="professional", wait=True)
job.avatars[0].download("out/")
"""

from ._async import AsyncClient, AsyncGeneratedAvatar, AsyncJob
from ._sync import Client, GeneratedAvatar, Job
from ._version import __version__
from .errors import (
    APIError,
    AvatarsmithError,
    Conflict,
    ConnectionFailed,
    IdempotencyKeyMismatch,
    InsufficientCredits,
    InvalidRequest,
    JobFailed,
    JobNotCancelable,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    RequestInProgress,
    ServerError,
    Timeout,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from .webhooks import WebhookVerificationError, verify_webhook

__all__ = [
    "APIError",
    "AsyncClient",
    "AsyncGeneratedAvatar",
    "AsyncJob",
    "AvatarsmithError",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "GeneratedAvatar",
    "IdempotencyKeyMismatch",
    "InsufficientCredits",
    "InvalidRequest",
    "Job",
    "JobFailed",
    "JobNotCancelable",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "RequestInProgress",
    "ServerError",
    "Timeout",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
    "WebhookVerificationError",
    "__version__",
    "verify_webhook",
]
