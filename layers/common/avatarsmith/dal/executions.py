"""Step Functions: start one execution per job, named after the job id (so duplicates start nothing)."""

from __future__ import annotations

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
