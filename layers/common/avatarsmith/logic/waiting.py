"""Waiting for a job without taking capacity that other requests need.

Two places can hold a request open until its job ends (a long-poll read, `Prefer: wait` on a submit):
- the api function itself (AWS): the wait holds one Lambda instance, and that instance's bill, for its
  length. Each tenant may hold at most `WAITS_PER_TENANT` such waits at once (a conditional DynamoDB count,
  dal/waits.py, given back in a `finally` and expiring on its own); past it a long-poll read answers 429
  with `Retry-After`, and a submit simply answers 202 without waiting.
- the front door (`WAIT_IN_FRONT_DOOR`, the local stack): the function answers at once with the job as it
  is and a `X-Avatarsmith-Wait-For` header naming the job and the seconds left; the front door strips the
  header, waits on its own thread (woken by the job's event, local/waiting.py) and asks again with
  `x-avatarsmith-wait-left` set to what remains. No function instance is held while a request waits.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from avatarsmith.dal.waits import WaitSlots
from avatarsmith.errors import RateLimitedError
from avatarsmith.logic import jobs as job_logic
from avatarsmith.logic.batches import get_batch
from avatarsmith.logic.services import Services
from avatarsmith.models.domain import Job

#: The most a submit's `Prefer: wait=N` asks for (a long-poll read takes at most jobs.MAX_WAIT_SECONDS).
MAX_SUBMIT_WAIT_SECONDS = 60
#: Response header of a deferred wait: `<job id>; seconds=<left>` (front-door mode only, never sent on).
DEFER_HEADER = "X-Avatarsmith-Wait-For"
#: Request header the front door sets when it asks again: seconds of the client's wait that remain.
WAIT_LEFT_HEADER = "x-avatarsmith-wait-left"
#: Every holder gives its slot back before this many seconds (the api function's timeout is 29 s).
SLOT_HOLD_SECONDS = 35.0
_DEFER_VALUE = re.compile(r"^\s*([A-Za-z0-9_-]{1,100})\s*;\s*seconds=(\d{1,5}(?:\.\d{1,6})?)\s*$")


@dataclass(frozen=True)
class WaitPolicy:
    in_front_door: bool = False
    waits_per_tenant: int = 16


def defer_header(job_id: str, seconds: float) -> dict[str, str]:
    return {DEFER_HEADER: f"{job_id}; seconds={max(0.0, seconds):.3f}"}


def parse_defer_header(value: str | None) -> tuple[str, float] | None:
    """(job id, seconds left) of a deferred wait's header, None if absent or malformed."""
    found = _DEFER_VALUE.match(value or "")
    return (found.group(1), float(found.group(2))) if found else None


def front_door_left(policy: WaitPolicy, raw: str | None, asked: float) -> float:
    """The seconds still to wait: what the client asked, or, when the front door asks again, what remains
    of it. The header counts only in front-door mode (anywhere else a client could send it)."""
    if not policy.in_front_door or raw is None:
        return asked
    try:
        left = float(raw)
    except ValueError:
        return asked
    return max(0.0, min(asked, left)) if left == left else asked  # NaN: ignore it


@contextlib.contextmanager
def wait_slot(services: Services, tenant_id: str, policy: WaitPolicy) -> Iterator[bool]:
    """One of the tenant's wait slots for the block (True), or False when they are all taken."""
    slots = WaitSlots(services.jobs.table)
    taken = slots.acquire(
        tenant_id, limit=policy.waits_per_tenant, hold_seconds=SLOT_HOLD_SECONDS, now=time.time()
    )
    try:
        yield taken
    finally:
        if taken:
            slots.release(tenant_id)


def too_many_waits(policy: WaitPolicy) -> RateLimitedError:
    return RateLimitedError(
        f"this key's tenant already has {policy.waits_per_tenant} requests waiting for jobs; "
        "retry later, or read the job without waiting",
        limit=policy.waits_per_tenant,
        reset_seconds=5,
    )


def read_job_waiting(
    services: Services, tenant_id: str, job_id: str, *, seconds: float, policy: WaitPolicy
) -> tuple[Job, dict[str, str]]:
    """A long-poll read: the job once terminal or when `seconds` pass, and the headers to add (a deferral
    in front-door mode). 429 when the tenant holds all its wait slots."""
    job = job_logic.get_job(services, tenant_id, job_id)
    if job.status.is_terminal or seconds <= 0:
        return job, {}
    if policy.in_front_door:
        return job, defer_header(job_id, seconds)
    with wait_slot(services, tenant_id, policy) as taken:
        if not taken:
            raise too_many_waits(policy)
        return job_logic.wait_for_job(services, tenant_id, job_id, timeout_seconds=seconds), {}


BATCH_ENDED = ("completed", "failed")


def finish_batch_waiting(
    services: Services,
    tenant_id: str,
    batch_id: str,
    *,
    seconds: float,
    policy: WaitPolicy,
    sleep: Callable[[float], None] | None = None,
) -> tuple[bool, dict[str, str]]:
    """After a batch submit with `Prefer: wait`: whether every job of the batch ended within `seconds`
    (answer 200 with the batch), and the headers to add (a deferral in front-door mode)."""
    if seconds <= 0:
        return False, {}
    if policy.in_front_door:
        return False, defer_header(batch_id, seconds)
    sleep = sleep or time.sleep
    with wait_slot(services, tenant_id, policy) as taken:
        if not taken:
            return False, {}
        deadline = time.monotonic() + seconds
        interval = 0.2
        while get_batch(services, tenant_id, batch_id)[0].status not in BATCH_ENDED:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False, {}
            sleep(min(interval, remaining))
            interval = min(interval * 1.5, 1.0)
    return True, {}


def finish_submit_waiting(
    services: Services, tenant_id: str, job: Job, *, seconds: float, policy: WaitPolicy
) -> tuple[Job | None, dict[str, str]]:
    """After a submit with `Prefer: wait`: the finished job if it ended within `seconds` (answer 200), else
    None (answer the usual 202), and the headers to add. A tenant out of wait slots gets its 202 at once."""
    if job.status.is_terminal:
        return job, {}
    if seconds <= 0:
        return None, {}
    if policy.in_front_door:
        return None, defer_header(job.id, seconds)
    with wait_slot(services, tenant_id, policy) as taken:
        if not taken:
            return None, {}
        done = job_logic.wait_for_job(services, tenant_id, job.id, timeout_seconds=seconds)
    return (done if done.status.is_terminal else None), {}
