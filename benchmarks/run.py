"""`make bench`: figures printed, not asserted (the machine is noisy; ratios travel better than ms).

1. Cold import of each function's module, as a ratio to `import boto3` + one client.
2. AWS API calls per API operation, counted with botocore's before-call event hook (moto in-process).
3. Local submit-to-completed latency over 20 jobs through the embedded stack (HTTP, offline renderer).
4. Durable local state: submit latency with and without the state folder, restart with 10,000 jobs
   (benchmarks/durability.py).
5. What the pipeline adds on top of a synchronous (openai) and an asynchronous (fal) backend, against
   instant loopback fakes (benchmarks/pipeline_overhead.py).
And the others below, ending with sustained throughput under a backlog (benchmarks/throughput.py).
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
    "PYTHONPATH": f"{ROOT}:{ROOT / 'layers/common'}:{ROOT / 'functions/api'}",
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
        target = "  target <= 1.3 (validation on)" if name == "api" else ""
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
    bench_api_contract_costs(baseline)


# A fresh interpreter: import the api function, then serve one request (what a cold start pays before
# its first answer). `NO_VALIDATION` rebuilds the same app with Powertools validation off, to price it.
_EVENT = (
    "def event(method, path, query='', body=None, headers=None):\n"
    "    return {'version': '2.0', 'routeKey': f'{method} {path}', 'rawPath': path,\n"
    "            'rawQueryString': query,\n"
    "            'headers': {'content-type': 'application/json', **(headers or {})}, 'body': body,\n"
    "            'requestContext': {'requestId': 'r', 'stage': '$default', 'timeEpoch': 0,\n"
    "                'http': {'method': method, 'path': path, 'sourceIp': '127.0.0.1'}},\n"
    "            'isBase64Encoded': False}\n"
)
_NO_VALIDATION = (
    "import aws_lambda_powertools.event_handler.api_gateway as g\n"
    "_init = g.APIGatewayHttpResolver.__init__\n"
    "def _off(self, *a, **k):\n"
    "    k.update(enable_validation=False, response_validation_error_http_code=None)\n"
    "    _init(self, *a, **k)\n"
    "g.APIGatewayHttpResolver.__init__ = _off\n"
)


def _api_seconds(request: str, *, validation: bool = True, runs: int = 7) -> float:
    """Median seconds for: import the api app (+ `request`, code run with `event()` and `app` defined)."""
    prelude = _EVENT + ("" if validation else _NO_VALIDATION)
    script = (
        f"{prelude}import time; t=time.perf_counter()\n"
        "from functions.api import app as api\n"
        f"{request}\n"
        "print(time.perf_counter()-t)\n"
    )
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=ENV, cwd=ROOT, check=True
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def bench_api_contract_costs(baseline: float) -> None:
    """What Powertools validation and the docs routes cost a cold api container."""
    print("-- api: validation and the published contract (fresh interpreter each, median of 7) --")
    health = "api.app.resolve(event('GET', '/v1/health'), None)"
    typed = "api.app.resolve(event('GET', '/v1/jobs', 'limit=0'), None)"  # typed query -> 422 envelope
    rows = [
        ("import, validation off", "pass", False),
        ("import, validation on (shipped)", "pass", True),
        ("+ first GET /v1/health, validation off", health, False),
        ("+ first GET /v1/health, validation on", health, True),
        ("+ first typed request (422), validation on", typed, True),
        ("+ first GET /v1/openapi.json", "api.app.resolve(event('GET', '/v1/openapi.json'), None)", True),
        (
            "+ first GET /docs (gzip)",
            "api.app.resolve(event('GET', '/docs', headers={'accept-encoding': 'gzip'}), None)",
            True,
        ),
    ]
    for label, request, validation in rows:
        seconds = _api_seconds(request, validation=validation)
        print(f"{label:<44}: {seconds * 1000:7.1f} ms  (ratio {seconds / baseline:.2f})")
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; import functions.api.app; print(sorted(m for m in sys.modules"
            " if 'swagger_ui' in m))",
        ],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=ROOT,
        check=True,
    ).stdout.strip()
    print(f"swagger_ui modules loaded by the api import: {loaded}")


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


_RENDER_SCRIPT = """
import hashlib, sys
from avatarsmith.models.domain import Attributes, GenerationSpec, OutputSpec
from avatarsmith.renderer.imaging import finalize
from avatarsmith.renderer.simple import render_variation
photo = open("tests/fixtures/astronaut.jpg", "rb").read()
for style in ("professional", "anime", "noir"):
    for refs in ([], [photo]):
        spec = GenerationSpec(model="avatarsmith-studio", seed=11, style=style,
            prompt="smiling woman with a bun and glasses", attributes=Attributes(pose="half_body"),
            output=OutputSpec(width=512, height=512))
        for fmt in ("png", "webp", "jpeg"):
            data, thumb = finalize(render_variation(spec, 0, refs), 512, 512, fmt)
            print(hashlib.sha256(data + thumb).hexdigest()[:16])
"""


def bench_renderer(runs: int = 7) -> None:
    """The offline studio: text and photo paths at 1024x1024 (render + finalize + thumbnail), cold
    import, and byte identity across repeats and processes."""
    sys.path[:0] = [str(ROOT), str(ROOT / "layers/common")]
    from avatarsmith.models.domain import Attributes, GenerationSpec, OutputSpec
    from avatarsmith.renderer.imaging import finalize
    from avatarsmith.renderer.simple import render_variation

    print(
        "\n== offline studio renderer: time per 1024x1024 avatar (p50 / p95 over prompts and variations) =="
    )
    picture = (ROOT / "tests/fixtures/astronaut.jpg").read_bytes()
    prompts = [
        ("professional", "smiling man with glasses and a beard", "close_up"),
        (None, "cyberpunk warrior, neon lights, futuristic city, dramatic lighting", "half_body"),
        ("fantasy", "wizard with a long beard, robe and wizard hat in a castle", "full_body"),
        (None, "elderly woman with long wavy red hair, glasses, green sweater, library", "close_up"),
        ("anime", "teen girl with headphones and a red hoodie, laughing, neon city", "half_body"),
        (None, "man, short black hair, blue suit and red tie, office, golden hour", "close_up"),
        ("noir", "detective in a trench coat and fedora, city at night", "half_body"),
        ("realistic", "ultra realistic portrait of a middle-aged woman, soft light", "close_up"),
    ]

    def spec_for(style: str | None, prompt: str, pose: str) -> GenerationSpec:
        return GenerationSpec(
            model="avatarsmith-studio",
            seed=5,
            style=style,
            prompt=prompt,
            attributes=Attributes(pose=pose),
            output=OutputSpec(width=1024, height=1024),
            num_variations=3,
        )

    def percentiles(samples: list[float]) -> str:
        ordered = sorted(samples)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
        return f"p50 {statistics.median(samples) * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms"

    print(
        f"(wall clock, and this process's CPU time: other processes on the machine inflate wall clock; "
        f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    for kind, refs, budget in (("text ", [], 150), ("photo", [picture], 400)):
        render_s, cpu_s, total_s, repeats_same = [], [], [], True
        render_variation(spec_for(*prompts[0]), 0, refs)  # warm: lazy imports, cascade load
        for style, prompt, pose in prompts:
            spec = spec_for(style, prompt, pose)
            for index in range(3):
                t, c = time.perf_counter(), time.process_time()
                image = render_variation(spec, index, refs)
                rendered, cpu = time.perf_counter(), time.process_time()
                data, _thumb = finalize(image, 1024, 1024, "png")
                render_s.append(rendered - t)
                cpu_s.append(cpu - c)
                total_s.append(time.perf_counter() - t)
            repeats_same &= finalize(render_variation(spec, 2, refs), 1024, 1024, "png")[0] == data
        avatars = len(render_s)
        wall = percentiles(render_s)
        print(f"{kind} render (wall)    : {wall}  (budget p50 <= {budget} ms; {avatars} avatars)")
        print(f"{kind} render (CPU)     : {percentiles(cpu_s)}")
        same = "identical" if repeats_same else "DIFFERENT"
        print(f"{kind} render + PNG + thumb: {percentiles(total_s)}  repeats {same}")
    seconds = _import_seconds("import avatarsmith.renderer.simple")
    print(f"renderer cold import            : {seconds * 1000:6.1f} ms  (target <= 150 ms)")
    runs_out = [
        subprocess.run(
            [sys.executable, "-c", _RENDER_SCRIPT],
            capture_output=True,
            text=True,
            env={**ENV, "PYTHONHASHSEED": "random"},
            cwd=ROOT,
            check=True,
        ).stdout
        for _ in range(2)
    ]
    count = len(runs_out[0].split())
    verdict = "identical" if runs_out[0] == runs_out[1] and count == 18 else "DIFFERENT"
    print(f"cross-process bytes ({count} images, 2 processes): {verdict}")


def bench_webhooks(jobs: int = 20) -> None:
    """Job completion (the job's updated_at when it turned completed) -> webhook received on loopback;
    and a receiver that fails its first 3 attempts (retry schedule scaled to 0 for the bench)."""
    print(
        f"\n== webhooks: completion -> receipt, {jobs} jobs, healthy loopback receiver, offline renderer =="
    )
    import requests
    from standardwebhooks import Webhook

    from local.stack import EmbeddedStack
    from tests.webhook_receiver import Receiver

    healthy = Receiver().start()
    flaky = Receiver(fail_first_per_id=3).start()
    env = {"AVATARSMITH_ALLOW_LOOPBACK_URLS": "1", "WEBHOOK_RETRY_BASE_SECONDS": "0"}
    try:
        with EmbeddedStack(api_port=0, extra_env=env) as info:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {info.api_key}"
            url = f"{info.api_url}/v1/webhook-endpoints"
            secret = session.post(url, json={"url": healthy.url}).json()["secret"]
            latencies: list[float] = []
            for i in range(jobs):
                job = session.post(
                    f"{info.api_url}/v1/avatars/generate",
                    json={"prompt": f"bench {i}", "output": {"width": 512, "height": 512}},
                ).json()
                received = healthy.wait_for(i + 1, timeout=30)[i]
                payload = Webhook(secret).verify(received.body, received.headers)
                assert payload["data"]["id"] == job["id"]
                completed = datetime.fromisoformat(payload["data"]["updated_at"].replace("Z", "+00:00"))
                latencies.append(received.at - completed.timestamp())
            ordered = sorted(latencies)
            p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
            print(
                f"{'completed -> webhook received':<34}: p50 {statistics.median(latencies) * 1000:6.0f} ms"
                f"   p95 {p95 * 1000:6.0f} ms   (target p50 <= 1000 ms)"
            )
            # Reliability: a second receiver that fails its first three attempts of every delivery.
            flaky_secret = session.post(url, json={"url": flaky.url}).json()["secret"]
            ids = []
            for i in range(5):
                session.post(f"{info.api_url}/v1/avatars/generate", json={"prompt": f"flaky {i}"})
            tries = flaky.wait_for(20, timeout=60)
            for t in tries:
                Webhook(flaky_secret).verify(t.body, t.headers)
                ids.append(t.headers["webhook-id"])
            arrived = sum(1 for t in tries if ids.count(t.headers["webhook-id"]) == 4)
            print(
                f"{'fails first 3 attempts -> arrived':<34}: {len(set(ids))}/5 messages, "
                f"{arrived}/20 requests verified, 4 per webhook-id (target 100%)"
            )
    finally:
        healthy.stop()
        flaky.stop()


def bench_backend_adapters(jobs: int = 10) -> None:
    """Adapter overhead per job against the loopback protocol fakes (no provider latency): submit, polls
    until ready, fetch; plus the size of the BackendJob state carried by the state machine (limit 256 KB)."""
    sys.path[:0] = [str(ROOT), str(ROOT / "layers/common")]
    from avatarsmith.backends.automatic1111 import Automatic1111Backend
    from avatarsmith.backends.bfl import BflBackend
    from avatarsmith.backends.comfyui import ComfyUIBackend
    from avatarsmith.backends.fal import FalBackend
    from avatarsmith.backends.openai import OpenAIBackend
    from avatarsmith.backends.replicate import ReplicateBackend
    from avatarsmith.models.domain import GenerationSpec, OutputSpec
    from tests.fakes.providers import A1111Fake, BflFake, ComfyFake, FalFake, OpenAIFake, ReplicateFake
    from tests.fakes.server import serve

    cases = [
        ("replicate", ReplicateFake, ReplicateBackend, "sdxl-replicate", "stability-ai/sdxl"),
        ("fal", FalFake, FalBackend, "flux-schnell", "fal-ai/flux/schnell"),
        ("bfl", BflFake, BflBackend, "flux-kontext", "flux-kontext-pro"),
        ("comfyui", ComfyFake, ComfyUIBackend, "comfyui-workflow", "comfyui_txt2img.json"),
        ("openai", OpenAIFake, OpenAIBackend, "gpt-image-1", "gpt-image-1"),
        ("automatic1111", A1111Fake, Automatic1111Backend, "sdxl-local", "sd_xl_base_1.0"),
    ]
    print("\n== backend adapters vs loopback fakes (4 variations, 2 polls per task) ==")
    for name, fake_cls, adapter_cls, model, backend_model in cases:
        spec = GenerationSpec(
            prompt="bench",
            model=model,
            backend=name,
            backend_model=backend_model,
            seed=1,
            num_variations=4,
            output=OutputSpec(width=512, height=512),
        )
        timings, state_bytes = [], 0
        with serve(fake_cls()) as fake:
            adapter = adapter_cls(fake.url, fake.key, allow_loopback=True)
            for _ in range(jobs):
                start = time.perf_counter()
                job = adapter.submit(spec, [], deadline=time.time() + 600)
                while job.status != "succeeded":
                    job = adapter.poll(spec, job)
                state_bytes = max(state_bytes, len(json.dumps(job.model_dump())))
                outputs = list(adapter.fetch(spec, [], job))
                assert len(outputs) == 4
                timings.append(time.perf_counter() - start)
        print(
            f"{name:14s} median {statistics.median(timings) * 1000:7.1f} ms/job   "
            f"max BackendJob {state_bytes:5d} bytes"
        )


def main() -> None:
    bench_cold_imports()
    bench_aws_calls()
    bench_credit_calls()
    bench_local_latency()
    bench_renderer()
    bench_webhooks()
    bench_backend_adapters()
    from benchmarks.pipeline_overhead import bench_pipeline_overhead

    bench_pipeline_overhead()
    from benchmarks import durability

    print()
    durability.bench_submit()
    durability.bench_restart()

    from benchmarks.throughput import bench_throughput

    bench_throughput()
    print("\n" + json.dumps({"python": sys.version.split()[0]}))


if __name__ == "__main__":
    main()
