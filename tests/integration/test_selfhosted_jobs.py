"""ComfyUI jobs through the real ASL in moto against the strict ComfyUI fake: polls until the history has
the prompt, a failed execution fails only its variation, 503 at submit is retried, a refused credential is
terminal, a 200 with node_errors fails the job, and past the deadline the job's prompts are taken out of
the queue without interrupting the prompt another client is running."""

from __future__ import annotations

import time
import types

import pytest

from tests.conftest import AwsAccount
from tests.fakes.server import serve
from tests.fakes.vendors.comfyui import ComfyUIVendorFake
from tests.integration.test_backend_adapters import configure, image_size, run_job

pytestmark = pytest.mark.statemachine


def test_comfyui_job_lifecycle(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch, no_retry_sleep: None
) -> None:
    with serve(ComfyUIVendorFake()) as fake:
        configure(aws, monkeypatch, {"comfyui": fake.url})
        fake.polls_needed = 2
        body = {"prompt": "woman with red hair", "model": "comfyui-workflow", "num_variations": 3}
        body |= {"negative_prompt": "hat", "seed": 7, "aspect_ratio": "3:4"}
        execution, job, states = run_job(aws, body)
        assert execution["status"] == "SUCCEEDED", job
        assert states.count("PollGeneration") >= 2
        assert [a["status"] for a in job["avatars"]] == ["completed"] * 3
        assert image_size(job["avatars"][0]["image_url"]) == (768, 1024)
        graphs = [r.json()["prompt"] for r in fake.requests if fake.route(r) == "submit"]
        assert [g["3"]["inputs"]["seed"] for g in graphs] == [7, 8, 9] and graphs[0]["7"]["inputs"][
            "text"
        ] == "hat"

        # an execution error fails only that variation (refunded); a 503 at submit is retried
        fake.fail_next = 1
        fake.fail("submit", 503, {"error": "restarting"})
        execution, job, _ = run_job(aws, {"prompt": "x", "model": "comfyui-workflow", "num_variations": 2})
        assert execution["status"] == "SUCCEEDED", job
        assert [(a["status"], a.get("error_code")) for a in job["avatars"]] == [
            ("failed", "generation_rejected"),
            ("completed", None),
        ]
        assert job["credits"]["refunded"] == 1

        # a refused credential (a proxy in front of ComfyUI): terminal, not retried
        fake.fail("submit", 403, {"error": "forbidden"})
        before = fake.count("submit")
        execution, job, _ = run_job(aws, {"prompt": "x", "model": "comfyui-workflow"})
        assert execution["status"] == "FAILED" and job["error"]["code"] == "backend_auth_failed"
        assert fake.count("submit") - before == 1

        # a 200 with node_errors: the job fails and its prompt leaves the queue
        blocker = fake.add_foreign()
        fake.partial_next = 1
        execution, job, _ = run_job(aws, {"prompt": "x", "model": "comfyui-workflow"})
        assert execution["status"] == "FAILED" and job["error"]["code"] == "generation_rejected"
        assert fake.pending == [] and fake.running == blocker

        # past the deadline while another client's prompt runs: ours are deleted, theirs keeps running
        from avatarsmith.logic import workflow

        real, limit = time.time, fake.count("poll") + 2
        clock = types.SimpleNamespace(time=lambda: real() + (1e6 if fake.count("poll") >= limit else 0))
        monkeypatch.setattr(workflow, "time", clock)
        execution, job, _ = run_job(aws, {"prompt": "x", "model": "comfyui-workflow", "num_variations": 2})
        assert execution["status"] == "FAILED" and job["error"]["code"] == "generation_timeout"
        assert fake.pending == [] and fake.running == blocker and fake.interrupted == []
        assert fake.violations == [] and fake.dropped == []
