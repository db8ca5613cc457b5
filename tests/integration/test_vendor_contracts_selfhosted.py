"""The ComfyUI and Automatic1111 adapters against strict fakes built from contracts/comfyui.json and
contracts/automatic1111.json, over every aspect ratio x 1-4 variations x seeds x negative prompts x
reference photos (A1111 claims them; ComfyUI's workflow does not): zero contract violations, nothing
silently dropped, the right number and shape of images, claimed capabilities in their fields. Then the
faults: ComfyUI's 200 with node_errors, a cancel that must not interrupt another client's prompt, an
execution error; A1111's 5xx, auth and validation answers."""

from __future__ import annotations

import base64
import io
import json
import time
from typing import Any

import pytest
from PIL import Image

from tests.fakes.server import serve
from tests.fakes.vendors.automatic1111 import Automatic1111VendorFake
from tests.fakes.vendors.comfyui import ComfyUIVendorFake
from tests.integration.vendor_matrix import Case, build_spec, configure, matrix, reference_photos, run


@pytest.fixture
def comfy(monkeypatch: pytest.MonkeyPatch) -> Any:
    with serve(ComfyUIVendorFake()) as fake:
        configure(monkeypatch, f"comfyui={fake.url}")
        fake.polls_needed = 2
        yield fake


@pytest.fixture
def a1111(monkeypatch: pytest.MonkeyPatch) -> Any:
    with serve(Automatic1111VendorFake()) as fake:
        configure(monkeypatch, f"automatic1111={fake.url}")
        yield fake


@pytest.mark.parametrize("case", matrix(references=False), ids=lambda c: c.id)
def test_comfyui_matrix(comfy: ComfyUIVendorFake, case: Case) -> None:
    spec = build_spec("comfyui-workflow", case)
    outputs, adjustments = run("comfyui", spec, [])
    assert comfy.violations == [] and comfy.dropped == []
    assert len(outputs) == case.variations
    for out, final in outputs:
        assert out.error_code is None and final.size == (spec.output.width, spec.output.height)
    graphs = [json.loads(r.body)["prompt"] for r in comfy.requests if comfy.route(r) == "submit"]
    assert [g["3"]["inputs"]["seed"] for g in graphs] == [
        spec.variation_seed(i) for i in range(case.variations)
    ]
    assert all(g["3"]["inputs"]["cfg"] == 6 for g in graphs)
    assert all(g["7"]["inputs"]["text"] == (case.negative or "") for g in graphs)
    latent = graphs[0]["5"]["inputs"]
    if (latent["width"], latent["height"]) != (spec.output.width, spec.output.height):
        assert any(a.startswith(f"generated at {latent['width']}x{latent['height']}") for a in adjustments)


@pytest.mark.parametrize("case", matrix(references=True), ids=lambda c: c.id)
def test_automatic1111_matrix(a1111: Automatic1111VendorFake, case: Case) -> None:
    spec = build_spec("sdxl-local", case)
    outputs, adjustments = run("automatic1111", spec, reference_photos(case.references))
    assert a1111.violations == [] and a1111.dropped == []
    assert len(outputs) == case.variations
    for i, (out, final) in enumerate(outputs):
        assert out.error_code is None and final.size == (spec.output.width, spec.output.height)
        assert out.seed == case.seed + i, "each image's seed from info.all_seeds"
    (call,) = a1111.submitted
    body = call["body"]
    assert call["route"] == ("img2img" if case.references else "txt2img")
    assert (body["seed"], body["batch_size"], body["cfg_scale"]) == (case.seed, case.variations, 6)
    assert body["negative_prompt"] == (case.negative or "")
    if case.references:
        (init,) = body["init_images"]
        ref = Image.open(io.BytesIO(base64.b64decode(init)))
        assert abs(ref.width / ref.height - body["width"] / body["height"]) < 0.01 and max(ref.size) <= 2048
        assert any("reference was cropped" in a for a in adjustments), adjustments
        if case.references > 1:
            assert any("only the first reference" in a for a in adjustments)


# --- ComfyUI faults ----------------------------------------------------------------------------------
def test_comfyui_200_with_node_errors_fails_and_removes_the_prompt(comfy: ComfyUIVendorFake) -> None:
    from avatarsmith.errors import GenerationRejectedError

    blocker = comfy.add_foreign()  # another client's prompt runs: ours waits in the queue
    comfy.partial_next = 1
    with pytest.raises(GenerationRejectedError, match="comfyui refused"):
        run("comfyui", build_spec("comfyui-workflow", Case("1:1", 1, 3, None, 0)), [])
    assert comfy.pending == [] and comfy.running == blocker, "ours was deleted from the queue, theirs runs on"
    assert comfy.interrupted == [] and comfy.violations == []


def test_comfyui_cancel_deletes_a_queued_prompt_and_never_interrupts_another_client(
    comfy: ComfyUIVendorFake,
) -> None:
    from avatarsmith.backends.registry import get_backend

    blocker = comfy.add_foreign()
    spec = build_spec("comfyui-workflow", Case("1:1", 2, 3, None, 0))
    backend = get_backend("comfyui")
    job = backend.submit(spec, [], deadline=time.time() + 60)
    assert len(comfy.pending) == 2
    backend.cancel(spec, job)  # type: ignore[attr-defined]
    assert comfy.pending == [] and comfy.running == blocker
    assert comfy.interrupted == [] and comfy.violations == []


def test_comfyui_cancel_interrupts_our_running_prompt(comfy: ComfyUIVendorFake) -> None:
    from avatarsmith.backends.registry import get_backend

    comfy.polls_needed = 100
    spec = build_spec("comfyui-workflow", Case("1:1", 1, 3, None, 0))
    backend = get_backend("comfyui")
    job = backend.submit(spec, [], deadline=time.time() + 60)
    ours = job.state["tasks"][0]["id"]
    assert comfy.running == ours
    backend.cancel(spec, job)  # type: ignore[attr-defined]
    assert comfy.interrupted == [ours] and comfy.violations == []


def test_comfyui_execution_error_fails_that_variation(comfy: ComfyUIVendorFake) -> None:
    comfy.fail_next = 1
    outputs, _ = run("comfyui", build_spec("comfyui-workflow", Case("1:1", 2, 3, None, 0)), [])
    assert [o.error_code for o, _ in outputs] == ["generation_rejected", None]


def test_the_comfyui_fake_refuses_invalid_graphs(comfy: ComfyUIVendorFake) -> None:
    import requests

    from avatarsmith.backends.comfyui import HERE

    graph = json.loads((HERE / "comfyui_txt2img.json").read_text())
    graph["5"]["inputs"].update(width=1001, height=512)  # not on ComfyUI's 8-pixel step
    graph["3"]["inputs"].update(seed=1, cfg=7.0)
    graph["6"]["inputs"]["text"] = graph["7"]["inputs"]["text"] = "x"
    answer = requests.post(f"{comfy.url}/prompt", json={"prompt": graph}, timeout=5)
    assert answer.status_code == 400 and "5" in answer.json()["node_errors"]
    assert answer.json()["node_errors"]["5"]["errors"][0]["type"] == "value_not_valid"
    assert len(comfy.violations) == 1


# --- Automatic1111 faults ------------------------------------------------------------------------------
def test_automatic1111_faults(a1111: Automatic1111VendorFake, monkeypatch: pytest.MonkeyPatch) -> None:
    from avatarsmith.errors import BackendAuthError, BackendUnavailableError, GenerationRejectedError

    spec = build_spec("sdxl-local", Case("1:1", 1, 3, None, 0))
    a1111.fail("txt2img", 503, "restarting")
    with pytest.raises(BackendUnavailableError):
        run("automatic1111", spec, [])
    a1111.fail("txt2img", 422, {"detail": [{"loc": ["body", "steps"], "msg": "bad", "type": "type_error"}]})
    with pytest.raises(GenerationRejectedError):
        run("automatic1111", spec, [])
    a1111.auth = "user:right"
    with pytest.raises(BackendAuthError):
        run("automatic1111", spec, [])
    assert a1111.violations == []
