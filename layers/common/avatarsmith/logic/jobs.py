"""Generation jobs from the API's side: create, read, wait, list."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable

from avatarsmith import catalog
from avatarsmith.dal.jobs import StaleJobError
from avatarsmith.errors import (
    CapabilityUnsupportedError,
    JobNotFoundError,
    ModelUnavailableError,
    ServiceUnavailableError,
)
from avatarsmith.ids import new_job_id
from avatarsmith.logic.clock import epoch_of, iso_at, now_iso
from avatarsmith.logic.cursors import decode_cursor, encode_cursor
from avatarsmith.logic.prompting import prompt_budget
from avatarsmith.logic.references import store_references
from avatarsmith.logic.services import Services
from avatarsmith.models.api import MAX_SEED, GenerateAvatarRequest
from avatarsmith.models.domain import Credits, GenerationSpec, Job, JobError, JobStatus, Variation
from avatarsmith.observability import logger
from avatarsmith.urlguard import check_url_syntax

MAX_WAIT_SECONDS = 30


def resolve_model(requested: str | None, *, include_test: bool) -> tuple[catalog.ModelEntry, str | None]:
    """The image model to run and, for 302.AI-style requests, the prompt-rewriting model named."""
    if not requested:
        return _model(catalog.DEFAULT_MODEL, include_test), None
    entry = catalog.find_model(requested, include_test=include_test)
    if entry:
        return entry, None
    if catalog.looks_like_prompt_model(requested):
        return _model(catalog.DEFAULT_MODEL, include_test), requested
    names = ", ".join(m.id for m in catalog.available_models(include_test=include_test))
    why = ""
    if requested.strip().lower() in catalog.catalog_ids() and not catalog.offline_fallback_allowed():
        why = " (none of its backends is configured, and this deployment refuses the offline fallback)"
    raise ModelUnavailableError(
        f"model '{requested}' is not available here{why}; available: {names}", param="model"
    )


def check_backend_limits(model: catalog.ModelEntry, spec: GenerationSpec) -> None:
    """Refuse at submit (400 capability_unsupported) what the model's backend cannot take: a prompt or a
    negative prompt longer than its limits, and reference images on a backend that cannot use them. The
    composer's own additions never count against the user: it leaves them out to fit (see prompting)."""
    prompt = spec.prompt or ""
    negative = spec.negative_prompt or ""
    where = f"model '{model.id}' ({model.backend})"
    if len(prompt) > model.max_prompt_chars:
        raise CapabilityUnsupportedError(
            f"the prompt is {len(prompt)} characters; {where} accepts at most {model.max_prompt_chars}",
            param="prompt",
        )
    if "negative_prompt" in model.capabilities:
        if model.max_negative_chars is not None and len(negative) > model.max_negative_chars:
            raise CapabilityUnsupportedError(
                f"negative_prompt is {len(negative)} characters; {where} accepts at most "
                f"{model.max_negative_chars}",
                param="negative_prompt",
            )
    elif negative and prompt_budget(model, spec) < len(prompt):
        # folded into the prompt by the backend adapter: the sum must fit
        raise CapabilityUnsupportedError(
            f"prompt and negative_prompt together exceed the {model.max_prompt_chars} characters {where} "
            "accepts (it has no separate negative prompt)",
            param="negative_prompt",
        )
    if spec.reference_images and "reference_images" not in model.capabilities:
        raise CapabilityUnsupportedError(
            f"{where} cannot use reference images; choose a model whose "
            "capabilities include reference_images (GET /v1/models)",
            param="reference_images",
        )


def _model(model_id: str, include_test: bool) -> catalog.ModelEntry:
    entry = catalog.find_model(model_id, include_test=include_test)
    assert entry is not None, "the default model is always in the catalog"
    return entry


def build_generation_job(services: Services, tenant_id: str, request: GenerateAvatarRequest) -> Job:
    """Validate the request and build the queued job (reference uploads are stored here); nothing is
    written to DynamoDB yet."""
    model, prompt_model = resolve_model(request.model, include_test=services.include_test_models)
    if request.callback_url:
        check_url_syntax(
            request.callback_url, allow_loopback=services.allow_loopback_urls, param="callback_url"
        )
    job_id = new_job_id()
    references = store_references(
        services, tenant_id=tenant_id, job_id=job_id, values=request.reference_inputs()
    )
    attributes = request.merged_attributes()
    spec = GenerationSpec(
        prompt=request.description(),
        negative_prompt=request.negative_prompt,
        model=model.id,
        style=request.style_name(),
        attributes=attributes,
        hints=request.hint_map(),
        reference_images=references,
        output=request.output_spec(attributes),
        guidance_scale=request.guidance(),
        seed=request.seed if request.seed is not None else secrets.randbelow(MAX_SEED + 1),
        num_variations=request.variations(),
        prompt_model=prompt_model,
        backend=model.backend,
        backend_model=model.backend_model,
    )
    check_backend_limits(model, spec)
    now = now_iso()
    job = Job(
        id=job_id,
        tenant_id=tenant_id,
        status=JobStatus.QUEUED,
        created_at=now,
        updated_at=now,
        spec=spec,
        credits=Credits(reserved=model.credits_per_variation * spec.num_variations),
        variations=[Variation(index=i, seed=spec.variation_seed(i)) for i in range(spec.num_variations)],
        client_reference_id=request.client_reference_id,
        metadata=request.metadata or {},
        callback_url=request.callback_url,
        callback_id=request.callback_id,
        deadline_at=iso_at(epoch_of(now) + request.deadline_seconds) if request.deadline_seconds else None,
        reference_retention=request.reference_retention,
    )
    return job


def enqueue_or_fail(services: Services, job: Job) -> None:
    """Enqueue a stored job. If the queue refuses, the job is failed and its credits refunded (in one
    transaction with the transition), and ServiceUnavailableError propagates."""
    assert services.queue is not None, "the api function always has a queue"
    try:
        services.queue.enqueue(
            tenant_id=job.tenant_id,
            job_id=job.id,
            model=job.spec.model,
            credits_reserved=job.credits.reserved,
            created_at=job.created_at,
            backend=job.spec.backend,
            metadata=job.metadata or None,
        )
    except ServiceUnavailableError:
        logger.exception("enqueue failed; failing the job", extra={"job_id": job.id})
        with contextlib.suppress(StaleJobError):  # someone else already moved it on
            services.billing.finish_job(
                job,
                to=JobStatus.FAILED,
                allowed_from=(JobStatus.QUEUED,),
                now=now_iso(),
                changes={
                    "error": JobError(code="enqueue_failed", message="the job could not be queued"),
                    "credits": job.credits.model_copy(update={"refunded": job.credits.reserved}),
                },
            )
        raise
    logger.info(
        "job queued",
        extra={"job_id": job.id, "model": job.spec.model, "variations": job.spec.num_variations},
    )


def get_job(services: Services, tenant_id: str, job_id: str) -> Job:
    job = services.jobs.get(tenant_id, job_id)
    if job is None:
        raise JobNotFoundError(f"no job with id {job_id}", param="job_id")
    return job


def wait_for_job(
    services: Services,
    tenant_id: str,
    job_id: str,
    *,
    timeout_seconds: float,
    sleep: Callable[[float], None] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> Job:
    """Long-poll: return as soon as the job is terminal, or when the timeout runs out."""
    sleep = sleep or time.sleep  # looked up per call, so that a meter wrapping time.sleep sees the wait
    deadline = monotonic() + max(0.0, min(timeout_seconds, MAX_WAIT_SECONDS))
    job = get_job(services, tenant_id, job_id)
    interval = 0.1
    while not job.status.is_terminal:
        remaining = deadline - monotonic()
        if remaining <= 0:
            break
        sleep(min(interval, remaining))
        interval = min(interval * 1.5, 1.0)
        job = get_job(services, tenant_id, job_id)
    return job


def list_jobs(
    services: Services,
    tenant_id: str,
    *,
    limit: int,
    cursor: str | None,
    status: JobStatus | None,
    client_reference_id: str | None,
) -> tuple[list[Job], str | None]:
    filters = {"status": status.value if status else None, "client_reference_id": client_reference_id}
    after = decode_cursor(cursor, "jobs", filters) if cursor else None
    jobs, next_after = services.jobs.list_page(
        tenant_id, limit=limit, after_job_id=after, status=status, client_reference_id=client_reference_id
    )
    return jobs, (encode_cursor("jobs", next_after, filters) if next_after else None)
