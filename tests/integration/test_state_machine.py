"""The real ASL from statemachine/ running in moto's Step Functions engine, with our handlers in-process:
several polls, a throttling retry, a catch into MarkFailed, and duplicate messages starting nothing."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from PIL import Image

from avatarsmith.backends import registry
from avatarsmith.backends.base import BackendJob, VariationOutput
from avatarsmith.errors import BackendThrottledError, ContentModeratedError
from avatarsmith.models.domain import GenerationSpec
from tests.conftest import AwsAccount
from tests.integration.helpers import (
    api_call,
    dispatch_queued_messages,
    execution_arn,
    state_names_entered,
    wait_for_execution,
)

pytestmark = pytest.mark.statemachine


def _execution_arn(aws: AwsAccount, job_id: str) -> str:
    return execution_arn(aws.env, job_id)


def _run(
    aws: AwsAccount, api_key: str, body: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    _, _, job = api_call("generate_avatar", api_key, body=body)
    result = dispatch_queued_messages(aws.client("sqs"), aws.env["GENERATION_QUEUE_URL"])
    assert result == {"batchItemFailures": []}
    sfn = aws.client("stepfunctions")
    arn = _execution_arn(aws, job["id"])
    execution = wait_for_execution(sfn, arn)
    _, _, final = api_call("get_job", api_key, path_params={"job_id": job["id"]})
    return execution, final, state_names_entered(sfn, arn)


@pytest.mark.usefixtures("fast_polls")
def test_async_backend_is_polled_until_ready_then_images_are_stored(aws: AwsAccount) -> None:
    # Given an asynchronous backend that needs 3 polls
    _, key = aws.add_tenant()
    # When a 2-variation job runs through the state machine
    execution, job, states = _run(
        aws,
        key,
        {
            "prompt": "man with a beard",
            "model": "test-async",
            "num_variations": 2,
            "output": {"width": 320, "height": 256, "format": "webp"},
        },
    )
    # Then it polled three times, stored both images and completed
    assert execution["status"] == "SUCCEEDED"
    assert states.count("PollGeneration") == 3
    # the poll that found the images ready stored them and completed the job (one invocation)
    assert states[-3:] == ["PollGeneration", "IsGenerationReady", "PublishCompletedEvent"]
    assert "StoreImages" not in states and "MarkCompleted" not in states
    assert job["status"] == "completed"
    assert job["credits"] == {"reserved": 2, "charged": 2, "refunded": 0}
    assert job["provenance"]["backend"] == "async-test" and job["provenance"]["final_prompt"]
    for avatar in job["avatars"]:
        assert avatar["status"] == "completed" and avatar["format"] == "webp"
        body = requests.get(avatar["image_url"], timeout=10).content  # presigned; moto intercepts in-process
        assert Image.open(io.BytesIO(body)).size == (320, 256)


class _ThrottledOnce:
    """Throttles the first submit of each job, then answers like the offline renderer."""

    name = "async-test"
    version = "fake-1"
    calls: list[str] = []

    def submit(self, spec: GenerationSpec, references: list[bytes], *, deadline: float) -> BackendJob:
        _ThrottledOnce.calls.append("submit")
        if _ThrottledOnce.calls.count("submit") == 1:
            raise BackendThrottledError("429 slow down")
        return BackendJob(
            backend="async-test", backend_job_id="fake-1", status="succeeded", deadline=deadline
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
    ) -> list[VariationOutput]:
        return [
            VariationOutput(index=i, image=Image.new("RGB", (64, 64), "teal"), seed=spec.variation_seed(i))
            for i in range(spec.num_variations)
            if i not in skip
        ]


class _ThrottledMidStore(_ThrottledOnce):
    """Generates one image per call (like Bedrock Stability) and is throttled on the third variation once:
    the retried StoreImages must not generate (and pay for) the first two again."""

    generated: list[int] = []

    def submit(self, spec: GenerationSpec, references: list[bytes], *, deadline: float) -> BackendJob:
        return BackendJob(backend="async-test", backend_job_id="mid-1", status="succeeded", deadline=deadline)

    def fetch(
        self,
        spec: GenerationSpec,
        references: list[bytes],
        job: BackendJob,
        *,
        skip: frozenset[int] = frozenset(),
    ) -> Iterator[VariationOutput]:
        for i in range(spec.num_variations):
            if i in skip:
                continue
            if i == 2 and -1 not in _ThrottledMidStore.generated:
                _ThrottledMidStore.generated.append(-1)  # the throttled call (the first time only)
                raise BackendThrottledError("429 slow down")
            _ThrottledMidStore.generated.append(i)
            yield VariationOutput(index=i, image=Image.new("RGB", (64, 64), "teal"), seed=1000 + i)


class _Moderated(_ThrottledOnce):
    def submit(self, spec: GenerationSpec, references: list[bytes], *, deadline: float) -> BackendJob:
        raise ContentModeratedError("the prompt was blocked by the backend's content filter")


@pytest.mark.usefixtures("no_retry_sleep")
def test_a_throttled_submit_is_retried_then_succeeds(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ThrottledOnce.calls = []
    monkeypatch.setitem(registry._FACTORIES, "async-test", _ThrottledOnce)
    _, key = aws.add_tenant()
    execution, job, states = _run(
        aws, key, {"prompt": "x", "model": "test-async", "output": {"width": 256, "height": 256}}
    )
    assert execution["status"] == "SUCCEEDED"
    assert _ThrottledOnce.calls == ["submit", "submit"]
    assert job["status"] == "completed" and job["avatars"][0]["width"] == 256
    assert "MarkFailed" not in states


@pytest.mark.usefixtures("no_retry_sleep")
def test_a_terminal_error_is_caught_into_mark_failed_and_refunded(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry._FACTORIES, "async-test", _Moderated)
    _, key = aws.add_tenant()
    execution, job, states = _run(aws, key, {"prompt": "x", "model": "test-async", "num_variations": 3})
    assert execution["status"] == "FAILED"
    assert states.count("SubmitGeneration") == 1, "terminal errors are not retried"
    assert states[-4:] == ["MarkFailed", "DidThisRunFailTheJob", "PublishFailedEvent", "GenerationFailed"]
    assert job["status"] == "failed"
    assert job["error"]["code"] == "content_moderated"
    assert "content filter" in job["error"]["message"]
    assert job["credits"] == {"reserved": 3, "charged": 0, "refunded": 3}
    assert {a["status"] for a in job["avatars"]} == {"failed"}


@pytest.mark.usefixtures("no_retry_sleep")
def test_a_store_throttled_part_way_resumes_without_regenerating(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a backend making one image per call, throttled once on the third of four variations
    _ThrottledMidStore.generated = []
    monkeypatch.setitem(registry._FACTORIES, "async-test", _ThrottledMidStore)
    _, key = aws.add_tenant()
    # When the job runs through the state machine
    execution, job, states = _run(
        aws,
        key,
        {"prompt": "x", "model": "test-async", "num_variations": 4, "output": {"width": 256, "height": 256}},
    )
    # Then the ASL retried StoreImages (within the one state entry) and each variation was generated,
    # and paid for, exactly once: 0 and 1, the throttled call, then only 2 and 3
    assert execution["status"] == "SUCCEEDED"
    assert states.count("StoreImages") == 1
    assert _ThrottledMidStore.generated == [0, 1, -1, 2, 3]
    # And all four are completed, with the seeds the backend reported (kept across the retry)
    assert [a["status"] for a in job["avatars"]] == ["completed"] * 4
    assert [a["seed"] for a in job["avatars"]] == [1000, 1001, 1002, 1003]
    assert job["credits"]["charged"] == job["credits"]["reserved"]


def test_mark_failed_twice_refunds_once(aws: AwsAccount) -> None:
    from functions.processor.app import lambda_handler
    from tests.conftest import lambda_context, load_event

    tenant_id, key = aws.add_tenant()
    _, _, job = api_call("generate_avatar", key, body={"prompt": "x", "num_variations": 2})
    event = load_event("statemachine/mark_failed.json") | {"job_id": job["id"], "tenant_id": tenant_id}
    first = lambda_handler(event, lambda_context("ProcessorFunction"))
    second = lambda_handler(event, lambda_context("ProcessorFunction"))
    assert first == second
    assert first["credits"] == {"reserved": 2, "charged": 0, "refunded": 2}


def test_a_duplicate_message_starts_no_second_execution(aws: AwsAccount) -> None:
    from functions.dispatcher.app import lambda_handler
    from local.poller import sqs_event
    from tests.conftest import lambda_context

    # (asynchronous backends run on the STANDARD workflow, whose executions are exactly-once by name)
    _, key = aws.add_tenant()
    _, _, job = api_call("generate_avatar", key, body={"prompt": "x", "model": "test-async"})
    sqs = aws.client("sqs")
    message = sqs.receive_message(QueueUrl=aws.env["GENERATION_QUEUE_URL"])["Messages"][0]
    duplicate = dict(message, MessageId="dup-1")
    event = sqs_event([message, duplicate], "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")
    assert lambda_handler(event, lambda_context("DispatcherFunction")) == {"batchItemFailures": []}
    sfn = aws.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=aws.env["STATE_MACHINE_ARN"])["executions"]
    assert [e["name"] for e in executions] == [job["id"]]
    wait_for_execution(sfn, executions[0]["executionArn"])


def test_a_malformed_message_is_reported_as_a_batch_item_failure(aws: AwsAccount) -> None:
    from functions.dispatcher.app import lambda_handler
    from tests.conftest import lambda_context, load_event

    event = load_event("sqs/generation_batch.json")
    event["Records"].append(dict(event["Records"][0], messageId="bad-1", body="{not json"))
    result = lambda_handler(event, lambda_context("DispatcherFunction"))
    # the well-formed record started an execution for a job that does not exist (it fails in the machine);
    # the malformed one is handed back to the queue, which redrives it to the DLQ after maxReceiveCount
    assert result == {"batchItemFailures": [{"itemIdentifier": "bad-1"}]}
