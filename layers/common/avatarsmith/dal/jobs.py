"""Job persistence: mapping between the domain `Job` and its DynamoDB item, and its transitions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from avatarsmith.models.domain import (
    Credits,
    GenerationSpec,
    Job,
    JobError,
    JobStatus,
    Provenance,
    Variation,
)

from .storage import job_prefix
from .table import (
    BY_CLIENT_REFERENCE_INDEX,
    BY_STATUS_INDEX,
    ConditionFailed,
    Table,
    client_reference_pk,
    dumps,
    job_sk,
    status_pk,
    tenant_pk,
    update_operation,
)
from .unreadable import parse_one, parse_readable

JOB_PREFIX = "JOB#"


def job_to_item(job: Job) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": tenant_pk(job.tenant_id),
        "sk": job_sk(job.id),
        "type": "job",
        "job_id": job.id,
        "tenant_id": job.tenant_id,
        "status": job.status.value,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "spec": spec_json(job.spec),
        "credits": job.credits.model_dump(),
        "variations": variations_json(job, job.variations),
        "provenance": provenance_json(job, job.provenance),
        "gsi1pk": status_pk(job.tenant_id, job.status.value),
        "gsi1sk": job.id,
    }
    if job.metadata:
        item["metadata"] = dumps(job.metadata)
    if job.error:
        item["error"] = job.error.model_dump_json()
    if job.client_reference_id is not None:
        item["client_reference_id"] = job.client_reference_id
        item["gsi2pk"] = client_reference_pk(job.tenant_id, job.client_reference_id)
        item["gsi2sk"] = job.id
    if job.callback_url is not None:
        item["callback_url"] = job.callback_url
    if job.callback_id is not None:
        item["callback_id"] = job.callback_id
    for name in ("deadline_at", "references_purged_at", "erased_at"):
        if getattr(job, name):
            item[name] = getattr(job, name)
    if job.batch_id:
        item["batch_id"] = job.batch_id
    if job.variations_stored:
        item["variations_stored"] = job.variations_stored
    if job.reference_retention != "delete":
        item["reference_retention"] = job.reference_retention
    return item


def job_from_item(item: dict[str, Any]) -> Job:
    spec = GenerationSpec.model_validate_json(item["spec"])
    return Job(
        id=item["job_id"],
        tenant_id=item["tenant_id"],
        status=JobStatus(item["status"]),
        created_at=item["created_at"],
        updated_at=item["updated_at"],
        spec=spec,
        credits=Credits.model_validate(item.get("credits") or {}),
        variations=_variations_from(item, spec),
        provenance=_provenance_from(item.get("provenance"), spec),
        error=JobError.model_validate_json(item["error"]) if item.get("error") else None,
        client_reference_id=item.get("client_reference_id"),
        metadata=json.loads(item.get("metadata") or "{}"),
        callback_url=item.get("callback_url"),
        callback_id=item.get("callback_id"),
        generation_run=item.get("generation_run"),
        generation_claimed_at=item.get("generation_claimed_at"),
        settled_by=item.get("settled_by"),
        deadline_at=item.get("deadline_at"),
        reference_retention=item.get("reference_retention") or "delete",
        references_purged_at=item.get("references_purged_at"),
        erased_at=item.get("erased_at"),
        variations_stored=int(item.get("variations_stored") or 0),
        batch_id=item.get("batch_id"),
    )


# Variations are stored compactly (a job item under 1 KB costs one write unit, not two): image keys under
# the job's own prefix as "./<name>", and the size and format left out ("o": 1) when they are the output's.
_HERE = "./"


def variations_json(job: Job, variations: list[Any]) -> str:
    prefix = job_prefix(job.tenant_id, job.id)
    output = job.spec.output
    same = {"width": output.width, "height": output.height, "format": output.format}
    compact = []
    for variation in variations:
        v = variation.model_dump(exclude_none=True) if hasattr(variation, "model_dump") else dict(variation)
        for name in ("image_key", "thumbnail_key"):
            if isinstance(v.get(name), str) and v[name].startswith(prefix):
                v[name] = _HERE + v[name][len(prefix) :]
        if all(v.get(k) == same[k] for k in same):
            for k in same:
                del v[k]
            v["o"] = 1
        compact.append(v)
    return dumps(compact)


def spec_json(spec: GenerationSpec) -> str:
    """The spec without its empty collections (they read back as their defaults)."""
    values = json.loads(spec.model_dump_json(exclude_none=True))
    return dumps({k: v for k, v in values.items() if v not in ({}, [])})


_PROMPT = "\u0000prompt\u0000"  # in a stored final prompt: the request's prompt (it never holds NUL)


def provenance_json(job: Job, provenance: Provenance) -> str:
    """Provenance without what the spec already says: the backend and model it was routed to ("b": 1),
    the request's prompt inside the final prompt, and default values."""
    values = provenance.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    spec = job.spec
    if spec.backend and (values.get("backend"), values.get("backend_model")) == (
        spec.backend,
        spec.backend_model,
    ):
        del values["backend"]
        values.pop("backend_model", None)
        values["b"] = 1
    final = values.get("final_prompt")
    if spec.prompt and isinstance(final, str) and spec.prompt in final and "\u0000" not in final:
        values["final_prompt"] = final.replace(spec.prompt, _PROMPT, 1)
    if values.get("scene") and values["scene"] == _scene_of(spec):
        del values["scene"]  # a text job's scene follows from its spec: recomputed on read (~1 ms)
        values["sc"] = 1
    return dumps(values)


def _scene_of(spec: GenerationSpec) -> dict[str, Any]:
    """What the offline renderer draws for the spec's first variation (renderer.describe, Pillow-free).
    Keeps a completed text job's item under 1 KB: the scene is not stored when this reproduces it."""
    from avatarsmith.renderer.describe import describe

    return describe(spec, 0).summary()


def _provenance_from(text: str | None, spec: GenerationSpec) -> Provenance:
    values = json.loads(text or "{}")
    if values.pop("b", None):
        values.update(backend=spec.backend, backend_model=spec.backend_model)
    final = values.get("final_prompt")
    if isinstance(final, str) and _PROMPT in final:
        values["final_prompt"] = final.replace(_PROMPT, spec.prompt or "", 1)
    if values.pop("sc", None):
        values["scene"] = _scene_of(spec)
    return Provenance.model_validate(values)


def _variations_from(item: dict[str, Any], spec: GenerationSpec) -> list[Variation]:
    prefix = job_prefix(str(item["tenant_id"]), str(item["job_id"]))
    output = {"width": spec.output.width, "height": spec.output.height, "format": spec.output.format}
    variations = []
    for v in json.loads(item.get("variations") or "[]"):
        if v.pop("o", None):
            v.update(output)
        for name in ("image_key", "thumbnail_key"):
            if isinstance(v.get(name), str) and v[name].startswith(_HERE):
                v[name] = prefix + v[name][len(_HERE) :]
        variations.append(Variation.model_validate(v))
    return variations


class JobRepository:
    def __init__(self, table: Table):
        self.table = table

    def create(self, job: Job) -> None:
        self.table.put_new(job_to_item(job))

    def get(self, tenant_id: str, job_id: str, *, consistent: bool = False) -> Job | None:
        item = self.table.get(tenant_pk(tenant_id), job_sk(job_id), consistent=consistent)
        return parse_one("job", item, job_from_item)

    def transition(
        self,
        job: Job,
        *,
        to: JobStatus,
        allowed_from: tuple[JobStatus, ...],
        now: str,
        changes: dict[str, Any] | None = None,
    ) -> Job:
        """Move the job to `to` if it is currently in one of `allowed_from` (a conditional write).

        Raises ConditionFailed (carrying the job as stored now) when another writer got there first.
        """
        set_values, condition, placeholders = _transition_parts(job, to, allowed_from, now, changes)
        try:
            item = self.table.update(
                tenant_pk(job.tenant_id),
                job_sk(job.id),
                set_values=set_values,
                condition=condition,
                condition_values=placeholders,
            )
        except ConditionFailed as exc:
            current = job_from_item(exc.current) if exc.current else None
            raise StaleJobError(current) from exc
        return job_from_item(item)

    def start(
        self, tenant_id: str, job_id: str, *, now: str, changes: dict[str, Any] | None = None
    ) -> tuple[Job | None, bool]:
        """queued -> processing in one conditional write that answers the job as written, without reading
        it first: (the job, True). A job that is not queued comes back as stored, from the failed
        condition: (the job, False); (None, False) when there is no such job."""
        set_values = {"status": JobStatus.PROCESSING.value, "updated_at": now}
        set_values["gsi1pk"] = status_pk(tenant_id, JobStatus.PROCESSING.value)
        set_values.update(changes or {})  # plain attributes only (a run's claim)
        try:
            item = self.table.update(
                tenant_pk(tenant_id),
                job_sk(job_id),
                set_values=set_values,
                condition="#status = :queued",
                condition_values={":queued": JobStatus.QUEUED.value},
            )
        except ConditionFailed as exc:
            return (job_from_item(exc.current) if exc.current else None), False
        return job_from_item(item), True

    def claim_generation(self, job: Job, *, run_id: str, now: int, stale_before: int) -> Job:
        """Make `run_id` the run that generates this processing job: it has no owner yet, already owns
        it, or its owner's claim is older than `stale_before` (that run cannot still be alive).

        Raises StaleJobError (with the job as stored now) when another live run owns it.
        """
        try:
            item = self.table.update(
                tenant_pk(job.tenant_id),
                job_sk(job.id),
                set_values={"generation_run": run_id, "generation_claimed_at": now},
                condition=(
                    "#status = :processing AND (attribute_not_exists(generation_run) "
                    "OR generation_run = :run OR generation_claimed_at < :stale)"
                ),
                condition_values={":processing": "processing", ":run": run_id, ":stale": stale_before},
            )
        except ConditionFailed as exc:
            raise StaleJobError(job_from_item(exc.current) if exc.current else None) from exc
        return job_from_item(item)

    def record(self, job: Job, *, set_values: dict[str, Any]) -> Job | None:
        """Set plain attributes on an existing job (no status change); None when it is gone."""
        try:
            item = self.table.update(
                tenant_pk(job.tenant_id),
                job_sk(job.id),
                set_values={k: _encode_change(job, k, v) for k, v in set_values.items()},
                condition="attribute_exists(pk)",
            )
        except ConditionFailed:
            return None
        return job_from_item(item)

    def list_page(
        self,
        tenant_id: str,
        *,
        limit: int,
        after_job_id: str | None,
        status: JobStatus | None,
        client_reference_id: str | None,
    ) -> tuple[list[Job], str | None]:
        """Newest first. Returns the jobs and the id to continue after (None at the end).

        Reads limit+1 items so that `has_more` is exact instead of DynamoDB's "maybe".
        """
        pk = tenant_pk(tenant_id)
        start: dict[str, str] | None = None
        fetch = limit + 1
        if client_reference_id:
            gpk = client_reference_pk(tenant_id, client_reference_id)
            if after_job_id:
                start = {"pk": pk, "sk": job_sk(after_job_id), "gsi2pk": gpk, "gsi2sk": after_job_id}
            items, last = self.table.query_page(
                partition_key=("gsi2pk", gpk),
                index=BY_CLIENT_REFERENCE_INDEX,
                limit=fetch,
                start_key=start,
                filter_expression="#status = :status" if status else None,
                filter_values={":status": status.value} if status else None,
            )
        elif status:
            gpk = status_pk(tenant_id, status.value)
            if after_job_id:
                start = {"pk": pk, "sk": job_sk(after_job_id), "gsi1pk": gpk, "gsi1sk": after_job_id}
            items, last = self.table.query_page(
                partition_key=("gsi1pk", gpk), index=BY_STATUS_INDEX, limit=fetch, start_key=start
            )
        else:
            if after_job_id:
                start = {"pk": pk, "sk": job_sk(after_job_id)}
            items, last = self.table.query_page(
                partition_key=("pk", pk), sort_prefix=("sk", JOB_PREFIX), limit=fetch, start_key=start
            )
        # The cursor comes from the raw items: an unreadable item is left out, never the end of the list.
        jobs = parse_readable("job", items[:limit], job_from_item)
        if len(items) > limit:
            return jobs, str(items[limit - 1]["sk"]).removeprefix(JOB_PREFIX)
        if last and status and client_reference_id:
            # A filtered page can come back short while more items remain: continue after what was read.
            return jobs, str(last["sk"]).removeprefix(JOB_PREFIX)
        return jobs, None


def transition_operation(
    job: Job,
    *,
    to: JobStatus,
    allowed_from: tuple[JobStatus, ...],
    now: str,
    changes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The same conditional transition as `JobRepository.transition`, as one transaction operation."""
    set_values, condition, placeholders = _transition_parts(job, to, allowed_from, now, changes)
    # A settled job's generation claim has served its purpose (settled_by records the run that won)
    remove = ("generation_run", "generation_claimed_at") if to.is_terminal else ()
    return {
        "Update": update_operation(
            tenant_pk(job.tenant_id),
            job_sk(job.id),
            set_values=set_values,
            condition=condition,
            condition_values=placeholders,
            remove=remove,
        )
    }


def _transition_parts(
    job: Job,
    to: JobStatus,
    allowed_from: tuple[JobStatus, ...],
    now: str,
    changes: dict[str, Any] | None,
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    set_values: dict[str, Any] = {
        "status": to.value,
        "updated_at": now,
        "gsi1pk": status_pk(job.tenant_id, to.value),
    }
    for key, value in (changes or {}).items():
        set_values[key] = _encode_change(job, key, value)
    placeholders = {f":from{i}": s.value for i, s in enumerate(allowed_from)}
    return set_values, f"#status IN ({', '.join(placeholders)})", placeholders


class StaleJobError(Exception):
    """A transition lost a race; `current` is the job as stored now (None if it vanished)."""

    def __init__(self, current: Job | None):
        super().__init__("job changed concurrently")
        self.current = current


def _encode_change(job: Job, key: str, value: Any) -> Any:
    if key in ("variations",):
        return variations_json(job, value)
    if key == "provenance":
        return provenance_json(job, value)
    if key == "error":
        return value.model_dump_json(exclude_none=True)
    if key == "credits":
        return value.model_dump()
    return value


UNFINISHED = (JobStatus.QUEUED, JobStatus.PROCESSING)


def scan_unfinished(table: Table) -> Iterator[dict[str, Any]]:
    """Every queued or processing job item in the table, as raw items (the reaper's sweep)."""
    start: dict[str, Any] | None = None
    while True:
        items, start = table.scan_page(
            filter_expression="#type = :job AND #status IN (:queued, :processing)",
            names={"#type": "type", "#status": "status"},
            values={":job": "job", ":queued": "queued", ":processing": "processing"},
            start_key=start,
        )
        yield from items
        if not start:
            return


def mark_redriven(table: Table, job: Job, *, now: str, count: int) -> bool:
    """Record a re-drive on the job, if nobody moved it meanwhile (conditional on its status and
    updated_at). Returns False when the job changed: the re-drive is skipped."""
    try:
        table.update(
            tenant_pk(job.tenant_id),
            job_sk(job.id),
            set_values={"redriven_at": now, "redrive_count": count},
            condition="#status = :status AND updated_at = :updated",
            condition_values={":status": job.status.value, ":updated": job.updated_at},
        )
    except ConditionFailed:
        return False
    return True
