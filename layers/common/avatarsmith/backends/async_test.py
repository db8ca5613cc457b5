"""An asynchronous stand-in backend for tests and the local stack.

It needs `AVATARSMITH_TEST_BACKEND_POLLS` polls (default 3), `AVATARSMITH_TEST_BACKEND_POLL_SECONDS`
apart (default 1), then serves the offline renderer's images. Stateless like a real client: every call
may run in a different Lambda container, so the poll count lives in the BackendJob.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from avatarsmith.backends.base import BackendJob, VariationOutput
from avatarsmith.backends.offline import render_all, spec_digest
from avatarsmith.errors import GenerationRejectedError, GenerationTimeoutError
from avatarsmith.models.domain import GenerationSpec
from avatarsmith.renderer import RENDERER_VERSION

POLLS_ENV = "AVATARSMITH_TEST_BACKEND_POLLS"
POLL_SECONDS_ENV = "AVATARSMITH_TEST_BACKEND_POLL_SECONDS"


def _env_int(name: str, default: str, low: int, high: int) -> int:
    return max(low, min(high, int(os.environ.get(name, default))))


CANCELED: set[str] = set()  # backend job ids whose cancellation was asked for (this process)


class AsyncTestBackend:
    name = "async-test"
    version = RENDERER_VERSION

    def cancel(self, spec: GenerationSpec, job: BackendJob) -> None:
        """Like a real provider's cancel: the task stops (here: it is only remembered)."""
        CANCELED.add(job.backend_job_id)

    def submit(self, spec: GenerationSpec, references: list[bytes], *, deadline: float) -> BackendJob:
        polls_needed = _env_int(POLLS_ENV, "3", 0, 1000)
        return BackendJob(
            backend=self.name,
            backend_job_id=f"att_{spec_digest(spec)}",
            status="pending" if polls_needed > 0 else "succeeded",
            poll_after_seconds=_env_int(POLL_SECONDS_ENV, "1", 0, 300),
            deadline=deadline,
            state={"polls_needed": polls_needed},
        )

    def poll(self, spec: GenerationSpec, job: BackendJob) -> BackendJob:
        if time.time() > job.deadline:
            raise GenerationTimeoutError(f"generation did not finish before its deadline ({job.polls} polls)")
        if job.status == "succeeded":
            return job
        polls = job.polls + 1
        done = polls >= int(job.state.get("polls_needed", 0))
        return job.model_copy(update={"polls": polls, "status": "succeeded" if done else "pending"})

    def fetch(
        self,
        spec: GenerationSpec,
        references: list[bytes],
        job: BackendJob,
        *,
        skip: frozenset[int] = frozenset(),
    ) -> Iterator[VariationOutput]:
        if job.status != "succeeded":
            raise GenerationRejectedError(f"job {job.backend_job_id} was fetched before it succeeded")
        return render_all(spec, references, skip)
