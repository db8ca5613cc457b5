"""The one small interface every generation backend implements: submit, poll, fetch.

A `BackendJob` is the JSON-serialisable handle the state machine carries between SubmitGeneration,
PollGeneration and StoreImages (it must stay far below Step Functions' 256 KB payload limit: never put
image bytes in it). Synchronous backends return `succeeded` from `submit`; asynchronous ones return
`pending` with `poll_after_seconds`, and the state machine Waits then calls `poll`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from avatarsmith.models.domain import GenerationSpec


class BackendJob(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: str
    backend_job_id: str
    status: Literal["pending", "succeeded"]
    poll_after_seconds: int = Field(default=0, ge=0, le=300)
    polls: int = 0
    deadline: float  # epoch seconds after which the job fails with generation_timeout
    state: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class VariationOutput:
    """One generated image. `image` is encoded bytes, or a PIL image from the built-in renderer."""

    index: int
    image: Any | None
    seed: int | None
    error_code: str | None = None


class GenerationBackend(Protocol):
    name: str
    version: str

    def submit(self, spec: GenerationSpec, references: list[bytes], *, deadline: float) -> BackendJob: ...

    def poll(self, spec: GenerationSpec, job: BackendJob) -> BackendJob: ...

    def fetch(
        self,
        spec: GenerationSpec,
        references: list[bytes],
        job: BackendJob,
        *,
        skip: frozenset[int] = frozenset(),
    ) -> Iterable[VariationOutput]:
        """The outputs of every variation not in `skip` (those a retried StoreImages already stored).

        May yield them one by one: StoreImages stores each as it arrives, so a failure part-way through
        loses (and a retry pays for) nothing already generated."""
        ...
