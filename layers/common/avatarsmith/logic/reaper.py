"""The reaper: jobs that stopped moving are re-driven or failed with `stalled`, refunded, announced once.

For each queued/processing job, Step Functions is asked what became of the job's execution (the ARN the
job recorded, else the one its name rule gives: execution name = job id):

| execution | job                                   | action                                           |
|-----------|---------------------------------------|--------------------------------------------------|
| RUNNING   | started < deadline + margin ago       | leave it (the workflow's own timeouts apply)     |
| RUNNING   | started longer ago                    | stop it, fail the job `stalled`                  |
| ended     | still queued/processing               | fail `stalled` (it ended outside the Catch)      |
| MISSING   | processing, or queued past the grace  | re-drive (re-enqueue) up to MAX_REDRIVES times, |
|           |                                       | then fail `stalled`                              |
| UNKNOWN   | not moved for deadline + margin       | fail `stalled` (e.g. an EXPRESS execution)       |

Re-driving puts the job's message back on the generation queue; the dispatcher's execution name rule
keeps it to one execution. Failing uses the same settle-once transaction as the workflow's MarkFailed,
and the failed event is published only by the run whose transition succeeded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from avatarsmith.dal.billing import BillingRepository
from avatarsmith.dal.events import EventPublisher
from avatarsmith.dal.executions import ExecutionInspector, ExecutionState, execution_arn_for
from avatarsmith.dal.jobs import StaleJobError, job_from_item, mark_redriven, scan_unfinished
from avatarsmith.dal.queue import GenerationQueue
from avatarsmith.dal.table import Table
from avatarsmith.errors import JobStalledError
from avatarsmith.logic.clock import now_iso
from avatarsmith.logic.events import detail_type_for, job_event_detail
from avatarsmith.models.domain import Job, JobError, JobStatus
from avatarsmith.observability import logger


@dataclass(frozen=True)
class ReaperPolicy:
    deadline_seconds: int
    margin_seconds: int = 300
    queued_grace_seconds: int = 900  # a queued job with no execution gets this long before a re-drive
    max_redrives: int = 2


@dataclass
class Reaper:
    table: Table
    billing: BillingRepository
    queue: GenerationQueue
    events: EventPublisher
    executions: ExecutionInspector
    state_machine_arn: str
    policy: ReaperPolicy
    clock: Any = time.time

    def sweep(self, *, queued_grace_seconds: int | None = None) -> dict[str, Any]:
        """One pass over every unfinished job. Returns counts and the ids acted on."""
        report: dict[str, Any] = {"checked": 0, "redriven": [], "failed": [], "errors": 0}
        grace = self.policy.queued_grace_seconds if queued_grace_seconds is None else queued_grace_seconds
        for item in scan_unfinished(self.table):
            report["checked"] += 1
            try:
                job = job_from_item(item)
            except ValueError:  # an unreadable item never takes the sweep down
                report["errors"] += 1
                logger.warning("unreadable job item skipped", extra={"sk": item.get("sk")})
                continue
            try:
                action = self._reap(job, item, grace)
            except Exception:  # one job's trouble (a throttled call) must not stop the others
                report["errors"] += 1
                logger.exception("reaping a job failed", extra={"job_id": job.id})
                continue
            if action:
                report[action].append(job.id)
        return report

    def _reap(self, job: Job, item: dict[str, Any], queued_grace: int) -> str | None:
        arn = str(item.get("execution_arn") or execution_arn_for(self.state_machine_arn, job.id))
        state = self.executions.describe(arn)
        now = self.clock()
        idle = now - max(_epoch(job.updated_at), _epoch(item.get("redriven_at")))
        limit = self.policy.deadline_seconds + self.policy.margin_seconds
        if state.status == "RUNNING":
            if state.started_at is not None and now - state.started_at > limit:
                self.executions.stop(arn, cause="the job did not finish within its deadline")
                return self._fail(job, "its execution ran past the job's deadline")
            return None
        if state.ended:
            return self._fail(job, f"its execution ended ({state.status.lower()}) without finishing the job")
        if state.status == "MISSING":
            return self._missing(job, item, idle, queued_grace)
        if idle > limit:
            return self._fail(job, "it did not move before its deadline")
        return None

    def _missing(self, job: Job, item: dict[str, Any], idle: float, queued_grace: int) -> str | None:
        if job.status == JobStatus.QUEUED and idle < queued_grace:
            return None  # the dispatcher may still be on it (message in flight or being retried)
        count = int(item.get("redrive_count") or 0)
        if count >= self.policy.max_redrives:
            if idle < self.policy.margin_seconds:
                return None  # the last re-drive gets its chance
            return self._fail(job, "its workflow could not be started")
        return self._redrive(job, count + 1, state=ExecutionState("MISSING"))

    def _redrive(self, job: Job, count: int, *, state: ExecutionState) -> str | None:
        if not mark_redriven(self.table, job, now=now_iso(), count=count):
            return None  # it moved meanwhile
        self.queue.enqueue(
            tenant_id=job.tenant_id,
            job_id=job.id,
            model=job.spec.model,
            credits_reserved=job.credits.reserved,
            created_at=job.created_at,
        )
        logger.info(
            "job re-driven", extra={"job_id": job.id, "redrive_count": count, "execution": state.status}
        )
        return "redriven"

    def _fail(self, job: Job, why: str) -> str | None:
        error = JobError(
            code=JobStalledError.code, message=f"the job stalled: {why}; its credits were refunded"
        )
        variations = [
            v.model_copy(update={"status": "failed", "error_code": error.code})
            if v.status != "completed"
            else v
            for v in job.variations
        ]
        credits = job.credits.model_copy(update={"charged": 0, "refunded": job.credits.reserved})
        try:
            failed = self.billing.finish_job(
                job,
                to=JobStatus.FAILED,
                allowed_from=(JobStatus.QUEUED, JobStatus.PROCESSING),
                now=now_iso(),
                changes={"error": error, "credits": credits, "variations": variations},
            )
        except StaleJobError:
            return None  # someone else finished it (and announced it)
        self.events.put(detail_type_for(failed.status.value), job_event_detail(failed))
        logger.info("stalled job failed", extra={"job_id": job.id, "reason": why})
        return "failed"


def _epoch(value: Any) -> float:
    if not value:
        return 0.0
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
