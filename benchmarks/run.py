"""`make bench`: figures printed, not asserted (the machine is noisy; ratios travel better than ms).

1. Cold import of each function's module, as a ratio to `import boto3` + one client.
2. AWS API calls per API operation, counted with botocore's before-call event hook (moto in-process).
3. Local submit-to-completed latency over 20 jobs through the embedded stack (HTTP, offline renderer).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ENV = {
    **os.environ,
    "PYTHONPATH": f"{ROOT}:{ROOT / 'layers/common'}",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "1",
}


def _import_seconds(code: str, runs: int = 7) -> float:
    script = f"import time; t=time.perf_counter(); {code}; print(time.perf_counter()-t)"
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=ENV, cwd=ROOT, check=True
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def bench_cold_imports() -> None:
    print("== cold import (median of 7 fresh interpreters) ==")
    baseline = _import_seconds("import boto3; boto3.client('s3')")
    print(f"baseline  import boto3 + one client : {baseline * 1000:7.1f} ms  (ratio 1.00)")
    for name in ("api", "dispatcher", "processor"):
        seconds = _import_seconds(f"import functions.{name}.app")
        target = "  target <= 1.5" if name == "api" else ""
        print(
            f"functions.{name}.app{' ' * (16 - len(name))}: {seconds * 1000:7.1f} ms  "
            f"(ratio {seconds / baseline:.2f}){target}"
        )
    # boto3 is imported lazily by the first request that needs a client: count that too, honestly.
    seconds = _import_seconds(
        "import functions.api.app; from avatarsmith.dal.clients import client; client('dynamodb')"
    )
    print(f"api import + first boto3 client   : {seconds * 1000:7.1f} ms  (ratio {seconds / baseline:.2f})")
    seconds = _import_seconds("import avatarsmith.renderer.simple")
    print(f"renderer (Pillow path)          : {seconds * 1000:7.1f} ms")


def bench_aws_calls() -> None:
    print("\n== AWS calls per API operation (botocore before-call hook, moto in-process) ==")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_TRACE_DISABLED": "1",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    sys.path[:0] = [str(ROOT), str(ROOT / "layers/common")]
    import boto3
    from moto import mock_aws

    from avatarsmith.config import clear_settings_cache
    from avatarsmith.dal.clients import client
    from local import lambda_adapter
    from local.provision import provision
    from local.template import load_template
    from tests.conftest import AwsAccount
    from tests.integration.helpers import api_call

    calls: list[str] = []

    def count(event_name: str, **_: Any) -> None:
        calls.append(event_name.split(".", 2)[-1])

    with mock_aws(config={"lambda": {"use_docker": False}}):  # type: ignore[arg-type]
        lambda_adapter.install()
        provisioned = provision(boto3.session.Session(), load_template(), {})
        os.environ.update(provisioned.environment)
        clear_settings_cache()
        account = AwsAccount(
            provisioned.refs, provisioned.attrs, provisioned.environment, boto3.session.Session()
        )
        _, key = account.add_tenant("bench")
        for service in ("dynamodb", "sqs", "s3"):
            client(service).meta.events.register("before-call.*.*", count)

        def measure(label: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
            calls.clear()
            status, _, body = api_call(*args, **kwargs)
            print(f"{label:<40}: {len(calls)} call(s) {calls}  [HTTP {status}]")
            return body

        measure("first request of a container (auth miss)", "list_styles", key)
        job = measure(
            "POST /v1/avatars/generate  (target <= 2)",
            "generate_avatar",
            key,
            body={"prompt": "bench", "num_variations": 2},
        )
        measure(
            "GET /v1/jobs/{id}           (target <= 1)", "get_job", key, path_params={"job_id": job["id"]}
        )
        measure("GET /v1/jobs", "list_jobs", key, query={"limit": "20"})
        measure(
            "POST generate with 1 reference image",
            "generate_avatar",
            key,
            body={"prompt": "bench", "image": "data:image/png;base64,iVBORw0KGgoAAAAN"},
        )
        measure("GET /v1/avatars (offset: page + total)", "list_avatars", key, query={"limit": "20"})
        lambda_adapter.uninstall()


def bench_credit_calls() -> None:
    """AWS calls of the pay-per-use paths: idempotent submit and replay, account, cancel, settlement."""
    print("\n== AWS calls with credits, Idempotency-Key and limits (botocore before-call hook, moto) ==")
    import uuid

    import boto3
    from moto import mock_aws

    from avatarsmith.config import clear_settings_cache
    from avatarsmith.dal.clients import client, reset_clients
    from avatarsmith.logic.auth import clear_auth_cache
    from local import lambda_adapter
    from local.provision import provision
    from local.template import load_template
    from tests.conftest import AwsAccount
    from tests.integration.helpers import api_call

    calls: list[str] = []

    def count(event_name: str, **_: Any) -> None:
        calls.append(event_name.split(".", 2)[-1])

    with mock_aws(config={"lambda": {"use_docker": False}}):  # type: ignore[arg-type]
        lambda_adapter.install()
        reset_clients()
        clear_auth_cache()
        provisioned = provision(boto3.session.Session(), load_template(), {})
        os.environ.update(provisioned.environment)
        clear_settings_cache()
        account = AwsAccount(
            provisioned.refs, provisioned.attrs, provisioned.environment, boto3.session.Session()
        )
        _, key = account.add_tenant("bench-credits", credits=1000)
        _, poor = account.add_tenant("bench-poor", credits=1)
        for service in ("dynamodb", "sqs", "s3"):
            client(service).meta.events.register("before-call.*.*", count)
        api_call("list_styles", key)
        api_call("list_styles", poor)

        def measure(label: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
            calls.clear()
            status, _, body = api_call(*args, **kwargs)
            print(f"{label:<48}: {len(calls)} call(s) {calls}  [HTTP {status}]")
            return body

        body = {"prompt": "bench", "model": "flux"}
        measure("POST generate, no key            (target <= 2)", "generate_avatar", key, body=body)
        idem = {"Idempotency-Key": str(uuid.uuid4())}
        job = measure(
            "POST generate + Idempotency-Key (explained: 3)", "generate_avatar", key, body=body, headers=idem
        )
        measure(
            "  same key, same body: replay    (target 1)", "generate_avatar", key, body=body, headers=idem
        )
        measure("  same key, other body: 409", "generate_avatar", key, body={"prompt": "x"}, headers=idem)
        measure("POST generate, balance too low: 402", "generate_avatar", poor, body=body)
        measure(
            "GET /v1/jobs/{id} + balance header (target 1)", "get_job", key, path_params={"job_id": job["id"]}
        )
        measure("GET /v1/account (tenant + ledger page)", "get_account", key, query={})
        measure(
            "POST /v1/jobs/{id}/cancel (read + settle txn)",
            "cancel_job",
            key,
            path_params={"job_id": job["id"]},
        )
        lambda_adapter.uninstall()


def bench_local_latency(jobs: int = 20) -> None:
    print(f"\n== local submit-to-completed latency, {jobs} jobs, offline renderer, 512x512 ==")
    import requests

    from local.stack import EmbeddedStack

    with EmbeddedStack(api_port=0) as info:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {info.api_key}"
        client_side, server_side = [], []
        for i in range(jobs):
            started = time.perf_counter()
            job = session.post(
                f"{info.api_url}/v1/avatars/generate",
                json={"prompt": f"bench {i}", "output": {"width": 512, "height": 512}},
            ).json()
            while job["status"] not in ("completed", "failed"):
                job = session.get(f"{info.api_url}/v1/jobs/{job['id']}").json()
                if job["status"] not in ("completed", "failed"):
                    time.sleep(0.02)
            client_side.append(time.perf_counter() - started)
            created = datetime.fromisoformat(job["created_at"].replace("Z", "+00:00"))
            updated = datetime.fromisoformat(job["updated_at"].replace("Z", "+00:00"))
            server_side.append((updated - created).total_seconds())
        for label, samples in (
            ("client (POST -> completed seen)", client_side),
            ("server (created_at -> updated_at)", server_side),
        ):
            ordered = sorted(samples)
            p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
            print(
                f"{label:<34}: p50 {statistics.median(samples) * 1000:6.0f} ms   p95 {p95 * 1000:6.0f} ms"
                f"   (target p50 <= 1500 ms)"
            )


def main() -> None:
    bench_cold_imports()
    bench_aws_calls()
    bench_credit_calls()
    bench_local_latency()
    print("\n" + json.dumps({"python": sys.version.split()[0]}))


if __name__ == "__main__":
    main()
