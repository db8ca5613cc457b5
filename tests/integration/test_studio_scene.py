"""The offline studio's scene reaches the API: a job run through the processor's tasks reports what the
renderer drew (provenance.scene) and the words it could not draw (provenance.adjustments)."""

from __future__ import annotations

from typing import Any

from tests.conftest import AwsAccount, lambda_context, load_event
from tests.integration.helpers import api_call


def _task(name: str, job_id: str, tenant_id: str, **extra: Any) -> dict[str, Any]:
    return load_event(f"statemachine/{name}.json") | {"job_id": job_id, "tenant_id": tenant_id} | extra


def _run(aws: AwsAccount, body: dict[str, Any]) -> dict[str, Any]:
    from functions.processor.app import lambda_handler

    tenant_id, key = aws.add_tenant()
    status, _, job = api_call("generate_avatar", key, body=body)
    assert status in (200, 201, 202), job
    ctx = lambda_context("ProcessorFunction", 120)
    generation = lambda_handler(_task("submit", job["id"], tenant_id), ctx)
    assert generation["status"] == "succeeded" and generation["backend"] == "offline"
    stored = lambda_handler(_task("store", job["id"], tenant_id, generation=generation), ctx)
    lambda_handler(
        _task("mark_completed", job["id"], tenant_id, generation=generation, variations=stored["variations"]),
        ctx,
    )
    _, _, done = api_call("get_job", key, path_params={"job_id": job["id"]})
    assert done["status"] == "completed"
    return done


def test_the_job_reports_the_scene_it_drew_and_the_words_it_could_not(aws: AwsAccount) -> None:
    # Given a prompt with no style, naming an outfit, a setting, lighting and an object with no picture
    body = {
        "model": "avatarsmith-studio",
        "prompt": "cyberpunk warrior with short black hair, neon lights, futuristic city, holding a katana",
        "width": 256,
        "height": 256,
    }
    # When the job runs through SubmitGeneration, StoreImages and MarkCompleted
    done = _run(aws, body)
    # Then provenance.scene says what was drawn, in plain words
    scene = done["provenance"]["scene"]
    assert scene["style"] == "cyberpunk" and scene["style_implied"] is True
    assert scene["outfit"]["kind"] == "armour"
    assert scene["hair"]["length"] == "short" and scene["hair"]["colour"] == "black"
    assert scene["setting"] == "neon city" and "neon" in scene["lighting"]
    # And provenance.adjustments names the word it could not draw
    adjustments = done["provenance"]["adjustments"]
    assert any("katana" in note for note in adjustments), adjustments
    assert not any("cyberpunk" in note and note.startswith("not drawn") for note in adjustments)


def test_a_realistic_request_says_the_offline_renderer_cannot_do_photorealism(aws: AwsAccount) -> None:
    done = _run(aws, {"model": "avatarsmith-studio", "prompt": "ultra realistic portrait of a woman"})
    assert done["provenance"]["scene"]["style"] == "realistic"
    assert any("photorealism" in note for note in done["provenance"]["adjustments"])


def test_a_text_jobs_scene_is_not_stored_but_read_back_the_same(aws: AwsAccount) -> None:
    from local.metering import item_size

    # Given a completed text job
    done = _run(aws, {"model": "avatarsmith-studio", "prompt": "man in a red hoodie with headphones, forest"})
    # Then its item holds a marker instead of the scene (it follows from the spec) and stays under 1 KB
    table = aws.client("dynamodb")
    items = table.scan(TableName=aws.env["TABLE_NAME"])["Items"]
    item = next(i for i in items if i.get("job_id", {}).get("S") == done["id"])
    assert '"sc":1' in item["provenance"]["S"] and "hoodie" not in item["provenance"]["S"]
    assert item_size(item) < 1024
    # And the API still reports the scene the renderer drew
    assert done["provenance"]["scene"]["outfit"] == {"kind": "hoodie", "colour": "red", "extras": []}
    assert "headphones" in done["provenance"]["scene"]["accessories"]
