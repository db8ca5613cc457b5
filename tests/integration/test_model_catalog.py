"""The model catalog from the api's side: only configured backends are listed and accepted, prompt
limits are enforced at submit, a deployment can override the catalog through SSM, and backend
credentials never reach a job record or the execution history."""

from __future__ import annotations

import json

import pytest

from tests.conftest import AwsAccount, _reset_caches
from tests.fakes.server import b64png, serve
from tests.fakes.vendors.replicate import ReplicateVendorFake
from tests.integration.helpers import api_call
from tests.integration.test_backend_adapters import configure, run_job


def _models(api_key: str) -> dict[str, dict]:
    status, _, body = api_call("list_models", api_key)
    assert status == 200
    return {m["id"]: m for m in body["data"]}


def test_models_without_configured_backends(aws: AwsAccount) -> None:
    _, key = aws.add_tenant()
    models = _models(key)
    assert set(models) == {"avatarsmith-studio", "flux", "imagen3", "reality4", "test-async"}
    assert {m["backend"] for m in models.values()} == {"offline", "async-test"}
    for model_id in ("nova-canvas", "gpt-image-1", "sdxl-local"):
        status, _, body = api_call("generate_avatar", key, body={"prompt": "x", "model": model_id})
        assert status == 400, model_id
        assert body["error"]["code"] == "model_unavailable" and body["error"]["param"] == "model"


def test_models_with_configured_backends(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(
        aws, monkeypatch, {"bedrock": "", "openai": "http://127.0.0.1:9", "comfyui": "http://127.0.0.1:9"}
    )
    _, key = aws.add_tenant()
    models = _models(key)
    assert {"nova-canvas", "titan-image-v2", "gpt-image-1", "comfyui-workflow"} <= set(models)
    assert "sdxl-local" not in models and "flux-schnell" not in models
    assert models["reality4"]["backend"] == "bedrock", "the first configured route serves the seed id"
    assert models["flux"]["backend"] == "offline"
    assert models["titan-image-v2"]["max_prompt_chars"] == 512
    assert "seed" not in models["gpt-image-1"]["capabilities"]
    # limits are checked at submit with a clear 400, not a failed job later
    status, _, body = api_call("generate_avatar", key, body={"prompt": "a" * 600, "model": "titan-image-v2"})
    assert status == 400 and body["error"]["code"] == "capability_unsupported"
    assert body["error"]["param"] == "prompt" and "titan-image-v2" in body["error"]["message"]
    assert "512" in body["error"]["message"]
    status, _, body = api_call(
        "generate_avatar", key, body={"prompt": "x", "negative_prompt": "n" * 1100, "model": "nova-canvas"}
    )
    assert status == 400 and body["error"]["param"] == "negative_prompt"
    ref = f"data:image/png;base64,{b64png(8, 8)}"
    status, _, body = api_call(
        "generate_avatar", key, body={"prompt": "x", "model": "comfyui-workflow", "reference_images": [ref]}
    )
    assert status == 400 and body["error"]["code"] == "capability_unsupported"
    # a language model name in `model` is still taken as 302.AI's prompt model
    status, _, job = api_call("generate_avatar", key, body={"prompt": "x", "model": "gpt-4o-mini"})
    assert status == 202 and job["request"]["prompt_model"] == "gpt-4o-mini"


def test_a_deployment_overrides_the_catalog_through_ssm(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    from avatarsmith import catalog

    doc = json.loads(catalog.CATALOG_FILE.read_text())
    doc["version"] = "acme-7"
    doc["models"].append(
        {
            "id": "acme-portrait",
            "description": "House model",
            "credits_per_variation": 9,
            "routes": [{"backend": "offline", "backend_model": "studio-simple", "capabilities": ["seed"]}],
        }
    )
    aws.client("ssm").put_parameter(Name="/avatarsmith/catalog", Value=json.dumps(doc), Type="String")
    monkeypatch.setenv("AVATARSMITH_MODEL_CATALOG_PARAMETER", "/avatarsmith/catalog")
    _reset_caches()
    _, key = aws.add_tenant()
    status, _, body = api_call("list_models", key)
    assert body["catalog_version"] == "acme-7"
    assert {m["id"]: m["credits_per_variation"] for m in body["data"]}["acme-portrait"] == 9
    status, _, job = api_call(
        "generate_avatar", key, body={"prompt": "x", "model": "acme-portrait", "num_variations": 2}
    )
    assert status == 202 and job["credits"]["reserved"] == 18


def test_credentials_never_reach_the_job_or_the_execution(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "r8_very-secret-token-0042"
    with serve(ReplicateVendorFake()) as fake:
        fake.key = secret
        configure(aws, monkeypatch, {"replicate": fake.url}, key=secret)
        fake.polls_needed = 1
        execution, job, _ = run_job(aws, {"prompt": "x", "model": "sdxl-replicate"})
        assert execution["status"] == "SUCCEEDED", job
        assert fake.requests[0].headers["authorization"] == f"Bearer {secret}"
    items = aws.client("dynamodb").scan(TableName=aws.env["TABLE_NAME"])["Items"]
    assert secret not in json.dumps(items)
    sfn = aws.client("stepfunctions")
    history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)
    assert secret not in json.dumps(history, default=str)
