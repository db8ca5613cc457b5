"""Synchronous providers (OpenAI, Automatic1111, Bedrock) answer the images in the call itself.

Image bytes cannot cross the state machine (256 KB), so `submit` only validates and plans (the BackendJob
says `succeeded` with the plan's adjustments) and the call happens in `fetch`, inside StoreImages, which
writes the images to S3 at once. A throttled/5xx call fails StoreImages with a typed error that the ASL
retries; the job's deadline bounds each call's timeout.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from avatarsmith.backends.base import BackendJob, VariationOutput
from avatarsmith.backends.http import check_deadline
from avatarsmith.backends.mapping import Plan
from avatarsmith.models.domain import GenerationSpec


class SyncGeneration:
    name = "sync"

    def plan(self, spec: GenerationSpec) -> Plan:
        raise NotImplementedError

    def generate(
        self,
        spec: GenerationSpec,
        plan: Plan,
        references: list[bytes],
        timeout: float,
        skip: frozenset[int] = frozenset(),
    ) -> Iterable[VariationOutput]:
        """Generate the variations not in `skip`. Backends that make one image per call skip those calls;
        backends that make every image in one call make it again and the already stored ones are dropped."""
        raise NotImplementedError

    def submit(self, spec: GenerationSpec, references: list[bytes], *, deadline: float) -> BackendJob:
        plan = self.plan(spec)
        state: dict[str, Any] = {"adjustments": plan.adjustments}
        return BackendJob(
            backend=self.name,
            backend_job_id=f"{self.name}-sync",
            status="succeeded",
            deadline=deadline,
            state=state,
        )

    def poll(self, spec: GenerationSpec, job: BackendJob) -> BackendJob:
        return job

    def fetch(
        self,
        spec: GenerationSpec,
        references: list[bytes],
        job: BackendJob,
        *,
        skip: frozenset[int] = frozenset(),
    ) -> Iterator[VariationOutput]:
        left = check_deadline(job.deadline, self.name)
        for output in self.generate(spec, self.plan(spec), references, left, skip):
            if output.index not in skip:
                yield output
