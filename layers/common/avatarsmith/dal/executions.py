"""Step Functions: start one execution per job, named after the job id (so duplicates start nothing)."""

from __future__ import annotations

import contextlib
import json

from avatarsmith.errors import ServiceUnavailableError

from .clients import client


class ExecutionStarter:
    def __init__(self, state_machine_arn: str):
        self.state_machine_arn = state_machine_arn

    def start(self, *, job_id: str, tenant_id: str) -> bool:
        """Start the job's execution. Returns False when it had already been started."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            client("stepfunctions").start_execution(
                stateMachineArn=self.state_machine_arn,
                name=job_id,
                input=json.dumps({"job_id": job_id, "tenant_id": tenant_id}, separators=(",", ":")),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return False
            raise ServiceUnavailableError("could not start the generation workflow") from exc
        except BotoCoreError as exc:
            raise ServiceUnavailableError("could not start the generation workflow") from exc
        return True


def execution_arn_for(state_machine_arn: str, name: str) -> str:
    """arn:...:stateMachine:<machine> -> arn:...:execution:<machine>:<name> (the job's execution)."""
    prefix, sep, machine = state_machine_arn.rpartition(":stateMachine:")
    if not sep:
        raise ValueError(f"not a state machine ARN: {state_machine_arn}")
    return f"{prefix}:execution:{machine}:{name}"


class ExecutionState:
    """What Step Functions says about one execution: RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED,
    MISSING (it never started, or the service forgot it) or UNKNOWN (it cannot tell, e.g. EXPRESS)."""

    def __init__(self, status: str, started_at: float | None = None):
        self.status = status
        self.started_at = started_at

    @property
    def ended(self) -> bool:
        return self.status in ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


class ExecutionInspector:
    def describe(self, execution_arn: str) -> ExecutionState:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            described = client("stepfunctions").describe_execution(executionArn=execution_arn)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
                return ExecutionState("MISSING")
            return ExecutionState("UNKNOWN")
        except BotoCoreError:
            return ExecutionState("UNKNOWN")
        started = described.get("startDate")
        return ExecutionState(str(described["status"]), started.timestamp() if started else None)

    def stop(self, execution_arn: str, *, cause: str) -> None:
        """Best effort: a stop that fails leaves the execution to its own timeouts."""
        from botocore.exceptions import BotoCoreError, ClientError

        with contextlib.suppress(ClientError, BotoCoreError):
            client("stepfunctions").stop_execution(executionArn=execution_arn, error="Stalled", cause=cause)
