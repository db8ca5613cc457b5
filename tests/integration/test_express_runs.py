"""The EXPRESS workflow (synchronous backends) runs at least once: a run may be duplicated and run
concurrently, and any step may run twice. The real ASL runs in moto; these tests duplicate runs and steps
and check what a tenant and an operator would see: the backend paid once per variation, credits charged or
refunded once, one terminal event per job."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from PIL import Image

from avatarsmith.backends import registry
from avatarsmith.backends.base import BackendJob, VariationOutput
from avatarsmith.errors import GenerationRejectedError
from avatarsmith.models.domain import GenerationSpec
from tests.conftest import AwsAccount, lambda_context
from tests.integration.helpers import api_call, wait_for_execution

pytestmark = pytest.mark.statemachine


class _CountingBackend:
    """A synchronous backend that counts paid calls per variation; each call is slow enough for
    duplicated runs to overlap."""

    name = "offline"
    version = "counting-1"
    lock = threading.Lock()
    paid: list[int] = []
    fail_all = False

    def submit(self, spec: GenerationSpec, references: list[bytes], *, deadline: float) -> BackendJob:
        return BackendJob(backend="offline", backend_job_id="sync", status="succeeded", deadline=deadline)

    def poll(self, spec: GenerationSpec, job: BackendJob) -> BackendJob:
        return job

    def fetch(
        self,
        spec: GenerationSpec,
        references: list[bytes],
        job: BackendJob,
        *,
        skip: frozenset[int] = frozenset(),
    ) -> list[VariationOutput]:
        if _CountingBackend.fail_all:
            raise GenerationRejectedError("the backend refused the prompt")
        outputs = []
        for i in range(spec.num_variations):
            if i in skip:
                continue
            with _CountingBackend.lock:
                _CountingBackend.paid.append(i)
            time.sleep(0.3)
            outputs.append(VariationOutput(index=i, image=Image.new("RGB", (32, 32), "teal"), seed=i))
        return outputs


@pytest.fixture
def counting_backend(monkeypatch: pytest.MonkeyPatch) -> type[_CountingBackend]:
    monkeypatch.setitem(registry._FACTORIES, "offline", _CountingBackend)
    monkeypatch.setattr(_CountingBackend, "paid", [])
    monkeypatch.setattr(_CountingBackend, "fail_all", False)
    return _CountingBackend


def _tenant_with_endpoint(aws: AwsAccount) -> tuple[str, str]:
    """A tenant with a webhook endpoint: its terminal events reach the webhook queue, where tests see them."""
    tenant_id, key = aws.add_tenant(credits=100)
    status, _, _ = api_call("create_webhook_endpoint", key, body={"url": "http://127.0.0.1:9/hooks"})
    assert status == 201
    return tenant_id, key


def _terminal_events(aws: AwsAccount, job_id: str) -> list[str]:
    """Job events the bus routed to the webhook queue, for this job, that are terminal."""
    sqs = aws.client("sqs")
    found: list[str] = []
    for _ in range(20):
        messages = sqs.receive_message(
            QueueUrl=aws.env["WEBHOOK_QUEUE_URL"], MaxNumberOfMessages=10, VisibilityTimeout=60
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            event = json.loads(message["Body"])
            detail = event.get("detail", {})
            if detail.get("job_id") == job_id and event.get("detail-type") in (
                "Avatar Job Completed",
                "Avatar Job Failed",
            ):
                found.append(event["detail-type"])
    return found


def _start_duplicated_runs(aws: AwsAccount, job_id: str, tenant_id: str, runs: int) -> list[dict[str, Any]]:
    """Start `runs` executions of the EXPRESS workflow for one job at once (as duplicated deliveries do;
    AWS gives duplicates the same name, moto needs distinct ones) and wait for all of them."""
    sfn = aws.client("stepfunctions")
    machine = aws.env["EXPRESS_STATE_MACHINE_ARN"]
    payload = json.dumps({"job_id": job_id, "tenant_id": tenant_id})
    barrier = threading.Barrier(runs)

    def start(n: int) -> str:
        barrier.wait()
        name = job_id if n == 0 else f"{job_id}-dup{n}"
        return str(sfn.start_execution(stateMachineArn=machine, name=name, input=payload)["executionArn"])

    with ThreadPoolExecutor(runs) as pool:
        arns = list(pool.map(start, range(runs)))
    return [{"arn": arn, **wait_for_execution(sfn, arn)} for arn in arns]


def _states(aws: AwsAccount, arn: str) -> list[str]:
    events = aws.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def _ledger_kinds(aws: AwsAccount, tenant_id: str, job_id: str) -> list[str]:
    from avatarsmith.logic.tenant_admin import TenantAdmin

    entries = TenantAdmin.for_table(aws.env["TABLE_NAME"]).billing.all_ledger_entries(tenant_id)
    return sorted(e.kind for e in entries if e.job_id == job_id)


@pytest.mark.usefixtures("no_retry_sleep")
def test_duplicated_concurrent_runs_pay_charge_and_publish_once(
    aws: AwsAccount, counting_backend: type[_CountingBackend]
) -> None:
    # Given a queued 2-variation job on a synchronous backend, its tenant with a webhook endpoint
    tenant_id, key = _tenant_with_endpoint(aws)
    _, _, job = api_call("generate_avatar", key, body={"prompt": "x", "num_variations": 2})
    # When three runs of its EXPRESS workflow start at the same moment
    runs = _start_duplicated_runs(aws, job["id"], tenant_id, 3)
    # Then every run ends without failing, each variation was generated (and paid for) once
    assert all(r["status"] == "SUCCEEDED" for r in runs), runs
    assert sorted(counting_backend.paid) == [0, 1]
    # and exactly one run stored, settled and published; the others stopped
    published = [r for r in runs if "PublishCompletedEvent" in _states(aws, r["arn"])]
    assert len(published) == 1
    assert _terminal_events(aws, job["id"]) == ["Avatar Job Completed"]
    # and the tenant was charged once for both variations
    _, _, final = api_call("get_job", key, path_params={"job_id": job["id"]})
    assert final["status"] == "completed"
    assert final["credits"] == {"reserved": 2, "charged": 2, "refunded": 0}
    assert _ledger_kinds(aws, tenant_id, job["id"]).count("charge") == 1
    _, _, account = api_call("get_account", key)
    assert (account["balance"], account["reserved"]) == (98, 0)


@pytest.mark.usefixtures("no_retry_sleep")
def test_duplicated_failing_runs_refund_and_publish_once(
    aws: AwsAccount, counting_backend: type[_CountingBackend]
) -> None:
    # Given a job whose backend refuses the prompt
    counting_backend.fail_all = True
    tenant_id, key = _tenant_with_endpoint(aws)
    _, _, job = api_call("generate_avatar", key, body={"prompt": "x", "num_variations": 3})
    # When two runs of its workflow start at once
    runs = _start_duplicated_runs(aws, job["id"], tenant_id, 2)
    # Then the job failed once: one refund, one "failed" event
    states = [_states(aws, r["arn"]) for r in runs]
    assert sum("PublishFailedEvent" in s for s in states) == 1
    assert _terminal_events(aws, job["id"]) == ["Avatar Job Failed"]
    _, _, final = api_call("get_job", key, path_params={"job_id": job["id"]})
    assert final["status"] == "failed" and final["credits"] == {"reserved": 3, "charged": 0, "refunded": 3}
    assert _ledger_kinds(aws, tenant_id, job["id"]).count("refund") == 1
    _, _, account = api_call("get_account", key)
    assert (account["balance"], account["reserved"]) == (100, 0)


def _task(action: str, job: dict[str, Any], tenant_id: str, **extra: Any) -> dict[str, Any]:
    from functions.processor.app import lambda_handler

    event = {"action": action, "job_id": job["id"], "tenant_id": tenant_id, **extra}
    return dict(lambda_handler(event, lambda_context("ProcessorFunction")))


def test_each_step_run_twice_even_concurrently_changes_nothing_the_second_time(
    aws: AwsAccount, counting_backend: type[_CountingBackend]
) -> None:
    # Given a job submitted by run A
    tenant_id, key = aws.add_tenant(credits=100)
    _, _, job = api_call("generate_avatar", key, body={"prompt": "x", "num_variations": 2})
    generation = _task("submit", job, tenant_id, run_id="run-a")
    # When run A's submit runs again (a retry) it keeps its claim; run B's is refused while A is alive
    assert _task("submit", job, tenant_id, run_id="run-a")["status"] == "succeeded"
    with pytest.raises(Exception) as refused:
        _task("submit", job, tenant_id, run_id="run-b")
    assert type(refused.value).__name__ == "GenerationClaimedError"
    # When StoreImages runs, then runs again: the second run pays for nothing
    stored = _task("store", job, tenant_id, generation=generation)
    again = _task("store", job, tenant_id, generation=generation)
    assert sorted(counting_backend.paid) == [0, 1] and again == stored
    # When MarkCompleted runs for A twice at once and for B at the same time
    variations = stored["variations"]

    def complete(run_id: str) -> dict[str, Any]:
        return _task(
            "mark_completed", job, tenant_id, generation=generation, variations=variations, run_id=run_id
        )

    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(complete, ["run-a", "run-a", "run-b"]))
    # Then only run A may publish (both of its answers say so; the ASL uses one), B may not
    assert [a["publish"] for a in answers] == [True, True, False]
    assert {a["event"]["status"] for a in answers} == {"completed"}
    # And a MarkFailed arriving late (from either run) neither refunds nor publishes
    late = _task("mark_failed", job, tenant_id, error={"Error": "States.Timeout"}, run_id="run-b")
    assert late["publish"] is False and late["event"]["status"] == "completed"
    assert _ledger_kinds(aws, tenant_id, job["id"]).count("charge") == 1
    assert "refund" not in _ledger_kinds(aws, tenant_id, job["id"])


def test_generate_run_by_duplicated_runs_at_once_pays_charges_and_publishes_once(
    aws: AwsAccount, counting_backend: type[_CountingBackend]
) -> None:
    # Given a queued 2-variation job
    tenant_id, key = aws.add_tenant(credits=100)
    _, _, job = api_call("generate_avatar", key, body={"prompt": "x", "num_variations": 2})

    def generate(run_id: str) -> dict[str, Any] | str:
        try:
            return _task("generate", job, tenant_id, run_id=run_id)
        except Exception as exc:  # what the state machine catches, by class name
            return type(exc).__name__

    # When three runs' Generate steps run at the same moment
    runs = ["run-a", "run-b", "run-c"]
    with ThreadPoolExecutor(3) as pool:
        answers = dict(zip(runs, pool.map(generate, runs), strict=True))
    # Then each variation was generated (and paid for) once, by the one run that holds the claim
    assert sorted(counting_backend.paid) == [0, 1]
    winners = [r for r, a in answers.items() if isinstance(a, dict) and a["publish"]]
    assert len(winners) == 1, answers
    assert answers[winners[0]]["event"]["status"] == "completed"  # type: ignore[index]
    # and the others stopped before generating (AnotherRunIsGenerating) or found the job settled
    for run, answer in answers.items():
        if run not in winners:
            assert (
                answer == "GenerationClaimedError"
                or answer == "JobNotRunnableError"
                or (isinstance(answer, dict) and answer["publish"] is False)
            ), answer
    # And the step run again by any run (a retry), or a late MarkFailed, pays, charges and publishes nothing
    for run in runs:
        again = generate(run)
        assert isinstance(again, dict) and again["publish"] is (run in winners), again
        late = _task("mark_failed", job, tenant_id, error={"Error": "States.Timeout"}, run_id=run)
        assert late["publish"] is False and late["event"]["status"] == "completed"
    assert sorted(counting_backend.paid) == [0, 1]
    assert _ledger_kinds(aws, tenant_id, job["id"]) == ["charge", "reserve"]
    _, _, account = api_call("get_account", key)
    assert (account["balance"], account["reserved"]) == (98, 0)


def test_a_retried_generate_resumes_without_paying_again(
    aws: AwsAccount, counting_backend: type[_CountingBackend], monkeypatch: pytest.MonkeyPatch
) -> None:
    from avatarsmith.errors import BackendThrottledError

    # Given a 3-variation job whose backend is throttled after delivering its first variation
    tenant_id, key = aws.add_tenant(credits=100)
    _, _, job = api_call("generate_avatar", key, body={"prompt": "x", "num_variations": 3})
    real_fetch = _CountingBackend.fetch

    def throttled_after_one(
        self: Any, spec: GenerationSpec, references: Any, handle: Any, *, skip: frozenset[int] = frozenset()
    ) -> Any:
        yield from real_fetch(self, spec, references, handle, skip=skip | set(range(1, spec.num_variations)))
        raise BackendThrottledError("slow down")

    monkeypatch.setattr(_CountingBackend, "fetch", throttled_after_one)
    with pytest.raises(Exception) as throttled:
        _task("generate", job, tenant_id, run_id="run-a")
    assert type(throttled.value).__name__ == "BackendThrottledError"
    assert counting_backend.paid == [0]
    # When the state machine retries the step (same run) with a healthy backend
    monkeypatch.setattr(_CountingBackend, "fetch", real_fetch)
    counting_backend.paid.clear()
    settled = _task("generate", job, tenant_id, run_id="run-a")
    # Then the stored variation was not generated again, and the job completed once with all three
    assert sorted(counting_backend.paid) == [1, 2]
    assert settled["publish"] is True
    assert [v["status"] for v in settled["event"]["variations"]] == ["completed"] * 3
    _, _, final = api_call("get_job", key, path_params={"job_id": job["id"]})
    assert final["credits"] == {"reserved": 3, "charged": 3, "refunded": 0}


def test_a_stale_claim_is_taken_over(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    from avatarsmith.logic import workflow

    # Given a job claimed by a run that has since ended (its claim is older than any run can live)
    tenant_id, key = aws.add_tenant(credits=100)
    _, _, job = api_call("generate_avatar", key, body={"prompt": "x"})
    _task("submit", job, tenant_id, run_id="run-dead")
    monkeypatch.setattr(workflow, "RUN_CLAIM_LEASE_SECONDS", -5)  # every claim counts as stale
    # When a new run of the job starts, it takes the generation over
    assert _task("submit", job, tenant_id, run_id="run-new")["status"] == "succeeded"
    # Then the old run can no longer claim it back
    monkeypatch.setattr(workflow, "RUN_CLAIM_LEASE_SECONDS", 330)
    with pytest.raises(Exception) as refused:
        _task("submit", job, tenant_id, run_id="run-dead")
    assert type(refused.value).__name__ == "GenerationClaimedError"


@pytest.mark.parametrize("progress_events", ["asynchronous", "all"])
def test_the_queued_event_is_put_for_asynchronous_jobs_or_for_all_jobs(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch, progress_events: str
) -> None:
    from avatarsmith.config import clear_settings_cache
    from tests.integration.helpers import dispatch_queued_messages

    # Given a deployment's ProgressEvents setting, a job on a synchronous and one on an asynchronous backend
    monkeypatch.setenv("PROGRESS_EVENTS", progress_events)
    clear_settings_cache()
    _, key = aws.add_tenant(credits=100)
    _, _, sync_job = api_call("generate_avatar", key, body={"prompt": "x"})
    _, _, async_job = api_call("generate_avatar", key, body={"prompt": "x", "model": "test-async"})
    put: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:  # this test's jobs: earlier tests' executions may
        ours = {sync_job["id"], async_job["id"]}  # still be running in this process and put their events
        put.extend(job for e in params["Entries"] if (job := json.loads(e["Detail"])["job_id"]) in ours)

    from avatarsmith.dal.clients import client

    client("events").meta.events.register("provide-client-params.events.PutEvents", record)
    try:
        # When the dispatcher starts them
        dispatch_queued_messages(aws.client("sqs"), aws.env["GENERATION_QUEUE_URL"])
    finally:
        client("events").meta.events.unregister("provide-client-params.events.PutEvents", record)
    # Then the asynchronous job's `queued` event was put; the synchronous job's only with "all"
    expected = [async_job["id"]] if progress_events == "asynchronous" else [sync_job["id"], async_job["id"]]
    assert sorted(put) == sorted(expected)


def test_jobs_on_synchronous_backends_run_on_the_express_workflow(aws: AwsAccount) -> None:
    from tests.integration.helpers import dispatch_queued_messages

    # Given one job on a synchronous backend and one on an asynchronous backend
    _, key = aws.add_tenant(credits=100)
    _, _, sync_job = api_call("generate_avatar", key, body={"prompt": "x"})
    _, _, async_job = api_call("generate_avatar", key, body={"prompt": "x", "model": "test-async"})
    # When the dispatcher starts them
    dispatch_queued_messages(aws.client("sqs"), aws.env["GENERATION_QUEUE_URL"])
    # Then each runs on the workflow its backend needs
    sfn = aws.client("stepfunctions")

    def names(machine: str) -> set[str]:
        return {e["name"] for e in sfn.list_executions(stateMachineArn=aws.env[machine])["executions"]}

    assert names("EXPRESS_STATE_MACHINE_ARN") == {sync_job["id"]}
    assert names("STATE_MACHINE_ARN") == {async_job["id"]}
    described = sfn.describe_state_machine(stateMachineArn=aws.env["EXPRESS_STATE_MACHINE_ARN"])
    assert described["type"] == "EXPRESS"


@pytest.mark.parametrize("progress_events", ["asynchronous", "all"])
def test_the_synchronous_path_makes_one_claim_one_store_and_one_settling_write(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch, progress_events: str
) -> None:
    from avatarsmith.config import clear_settings_cache
    from local.metering import item_size

    # Given a deployment's ProgressEvents setting
    monkeypatch.setenv("PROGRESS_EVENTS", progress_events)
    clear_settings_cache()
    # and a queued 1-variation job on the offline renderer (no reference photos)
    tenant_id, key = aws.add_tenant(credits=100)
    body = {"prompt": "portrait of a smiling astronaut, studio light", "output": {"format": "png"}}
    _, _, job = api_call("generate_avatar", key, body=body)
    calls: list[str] = []
    this_thread = threading.get_ident()
    from botocore.client import BaseClient

    original_call = BaseClient._make_api_call

    def record(self: Any, operation_name: str, api_params: Any) -> Any:
        # Every client's calls (cached clients may be replaced meanwhile), but only this step's: executions
        # left running by earlier tests call the same code from their own threads.
        if threading.get_ident() == this_thread:
            calls.append(f"{self.meta.service_model.service_name}.{operation_name}")
        return original_call(self, operation_name, api_params)

    # When its Generate step runs (the execution id is what the state machine passes)
    machine = "arn:aws:states:us-east-1:123456789012:express:avatarsmith-GenerateAvatarExpress"
    run = f"{machine}:{job['id']}:{'f' * 36}"
    monkeypatch.setattr(BaseClient, "_make_api_call", record)
    settled = _task("generate", job, tenant_id, run_id=run)
    monkeypatch.setattr(BaseClient, "_make_api_call", original_call)
    # Then it claimed the job in one conditional write that answered it (no read before it), put the
    # `processing` event only if every job's progress events are wanted, checked that the job was not
    # canceled meanwhile, stored the image once (no HEAD: nothing stored yet; no thumbnail), and settled it
    # in one transaction (no separate progress or purge writes), then looked up the tenant's webhook
    # endpoints for the completed event (none: the bus rule keeps it from the webhook queue)
    assert settled["publish"] is True and settled["event"]["status"] == "completed"
    assert settled["event"]["webhook_receivers"] == 0
    progress = ["events.PutEvents"] if progress_events == "all" else []
    assert calls == [
        "dynamodb.UpdateItem",
        *progress,
        "dynamodb.GetItem",  # the cancel check before each store: a canceled job stores nothing more
        "s3.PutObject",
        "dynamodb.TransactWriteItems",
        "dynamodb.Query",
    ]
    # And the completed job item stays under 1 KB (one write unit per write, not two)
    item = aws.client("dynamodb").get_item(
        TableName=aws.env["TABLE_NAME"], Key={"pk": {"S": f"T#{tenant_id}"}, "sk": {"S": f"JOB#{job['id']}"}}
    )["Item"]
    assert item_size(item) < 1024
    _, _, final = api_call("get_job", key, path_params={"job_id": job["id"]})
    assert final["references_purged_at"] and final["avatars"][0]["image_url"]
    assert final["provenance"]["final_prompt"].endswith(body["prompt"])


def test_a_terminal_event_nobody_wants_stays_out_of_the_webhook_queue(aws: AwsAccount) -> None:
    from tests.integration.helpers import dispatch_queued_messages, execution_arn, wait_for_execution

    # Given a tenant without webhook endpoints and one with an endpoint that wants completed events
    _, lone_key = aws.add_tenant(credits=100)
    _, hooked_key = _tenant_with_endpoint(aws)
    # When a job of each completes
    _, _, lone = api_call("generate_avatar", lone_key, body={"prompt": "x"})
    _, _, hooked = api_call("generate_avatar", hooked_key, body={"prompt": "x"})
    dispatch_queued_messages(aws.client("sqs"), aws.env["GENERATION_QUEUE_URL"])
    sfn = aws.client("stepfunctions")
    for job in (lone, hooked):
        arn = execution_arn(aws.env, job["id"])
        assert wait_for_execution(sfn, arn)["status"] == "SUCCEEDED"
    # Then only the wanted event reached the webhook queue (the bus still carried both: the state machine
    # published each, saying how many endpoints want it)
    routed: list[str] = []
    sqs = aws.client("sqs")
    while messages := sqs.receive_message(
        QueueUrl=aws.env["WEBHOOK_QUEUE_URL"], MaxNumberOfMessages=10, VisibilityTimeout=60
    ).get("Messages", []):
        routed.extend(json.loads(m["Body"])["detail"]["job_id"] for m in messages)
    assert hooked["id"] in routed and lone["id"] not in routed
    for job, receivers in ((lone, 0), (hooked, 1)):
        history = sfn.get_execution_history(executionArn=execution_arn(aws.env, job["id"]))["events"]
        published = [
            json.loads(e["taskScheduledEventDetails"]["parameters"])["Entries"][0]["Detail"]
            for e in history
            if e["type"] == "TaskScheduled" and e["taskScheduledEventDetails"]["resourceType"] == "events"
        ]
        detail = published[0]
        assert (json.loads(detail) if isinstance(detail, str) else detail)["webhook_receivers"] == receivers
