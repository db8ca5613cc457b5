"""The routes' side of waiting for a job (logic/waiting.py): how long the caller asked to wait, and the
answers of a long-poll read and of a submit with `Prefer: wait=N` (RFC 7240)."""

from __future__ import annotations

import json
import re

from aws_lambda_powertools.event_handler import Response

from avatarsmith.config import get_api_settings
from avatarsmith.logic import batches as batch_logic
from avatarsmith.logic import billing as billing_logic
from avatarsmith.logic import jobs as job_logic
from avatarsmith.logic import waiting
from avatarsmith.logic.presenters import present_job
from avatarsmith.logic.services import Services
from avatarsmith.models.domain import Job

from .common import header, replayable, requested_wait, time_left

_PREFER_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*(\d{1,9})\s*(?:$|[,;\s])", re.IGNORECASE)


def policy() -> waiting.WaitPolicy:
    settings = get_api_settings()
    return waiting.WaitPolicy(
        in_front_door=settings.WAIT_IN_FRONT_DOOR, waits_per_tenant=settings.WAITS_PER_TENANT
    )


def _budget(asked: float, rules: waiting.WaitPolicy) -> float:
    """What remains of `asked` (the front door's second asks), never past what this invocation may hold."""
    left = waiting.front_door_left(rules, header(waiting.WAIT_LEFT_HEADER), asked)
    return left if rules.in_front_door else max(0.0, min(left, time_left()))


def long_poll(services: Services, tenant_id: str, job_id: str) -> tuple[Job, dict[str, str]]:
    """GET of a job with `wait_for_completion`/`timeout_seconds` or `Prefer: wait`: the job, and the
    headers to add (`Preference-Applied`, a front-door deferral)."""
    asked, applied = requested_wait()
    headers = {"Preference-Applied": applied} if applied else {}
    if not asked:
        return job_logic.get_job(services, tenant_id, job_id), headers
    rules = policy()
    job, more = waiting.read_job_waiting(
        services, tenant_id, job_id, seconds=_budget(asked, rules), policy=rules
    )
    return job, {**headers, **more}


def answer_batch_submit(
    services: Services, tenant_id: str, result: billing_logic.ApiResult, asked: int | None
) -> Response[str]:
    """A batch submit's answer: with `Prefer: wait=N`, 200 and the batch when every job of it ends within
    N s, else the usual 202; `Preference-Applied: wait=N` either way."""
    if asked is None or result.status_code != 202:
        return replayable(result)
    rules = policy()
    seconds = _budget(float(asked), rules)
    applied = {"Preference-Applied": f"wait={int(seconds) if not rules.in_front_door else asked}"}
    batch_id = json.loads(result.body).get("id")
    if not isinstance(batch_id, str):
        return replayable(result)
    ended, more = waiting.finish_batch_waiting(services, tenant_id, batch_id, seconds=seconds, policy=rules)
    if not ended:
        headers = {**result.headers, **applied, **more}
        return replayable(billing_logic.ApiResult(result.status_code, result.body, headers, result.replayed))
    batch, jobs = batch_logic.get_batch(services, tenant_id, batch_id)
    body = json.dumps(batch_logic.present_batch(batch, jobs), separators=(",", ":"))
    return replayable(billing_logic.ApiResult(200, body, {**result.headers, **applied}, result.replayed))


def submit_wait() -> int | None:
    """Seconds of `Prefer: wait=N` on a submit (capped at 60), None without it."""
    found = _PREFER_WAIT.search(header("prefer") or "")
    return min(int(found.group(1)), waiting.MAX_SUBMIT_WAIT_SECONDS) if found else None


def answer_submit(
    services: Services, tenant_id: str, result: billing_logic.ApiResult, asked: int | None
) -> Response[str]:
    """A submit's answer: with `Prefer: wait=N`, 200 and the finished job when it ends within N s, else the
    usual 202; `Preference-Applied: wait=N` either way (N as honoured: this invocation's time bounds it)."""
    if asked is None or result.status_code != 202:
        return replayable(result)
    rules = policy()
    seconds = _budget(float(asked), rules)
    applied = {"Preference-Applied": f"wait={int(seconds) if not rules.in_front_door else asked}"}
    job_id = json.loads(result.body).get("id")
    if not isinstance(job_id, str):
        return replayable(result)
    queued = job_logic.get_job(services, tenant_id, job_id)
    done, more = waiting.finish_submit_waiting(services, tenant_id, queued, seconds=seconds, policy=rules)
    if done is None:
        return replayable(
            billing_logic.ApiResult(
                result.status_code, result.body, {**result.headers, **applied, **more}, result.replayed
            )
        )
    body = json.dumps(present_job(done, services), separators=(",", ":"))
    headers = {**result.headers, **applied}
    return replayable(billing_logic.ApiResult(200, body, headers, result.replayed))
