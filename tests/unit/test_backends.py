"""The built-in backends and the registry: the handle carries all state, the async backend needs exactly N
polls, and importing the backends does not import Pillow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from avatarsmith.backends import registry
from avatarsmith.backends.async_test import AsyncTestBackend
from avatarsmith.backends.base import BackendJob, VariationOutput
from avatarsmith.backends.offline import OfflineBackend
from avatarsmith.errors import GenerationRejectedError, GenerationTimeoutError
from avatarsmith.models.domain import GenerationSpec, OutputSpec

ROOT = Path(__file__).resolve().parents[2]


def _spec(**changes: object) -> GenerationSpec:
    base: dict[str, object] = {
        "model": "avatarsmith-studio",
        "seed": 1000,
        "output": OutputSpec(width=256, height=192),
        "style": "fantasy",
        "prompt": "man with a beard",
        "num_variations": 2,
    }
    base.update(changes)
    return GenerationSpec(**base)


def _across_containers(job: BackendJob) -> BackendJob:
    """What the state machine does between steps: the handle travels as JSON."""
    return BackendJob.model_validate(json.loads(json.dumps(job.model_dump())))


# --- offline -------------------------------------------------------------------------------------
def test_offline_submit_is_already_succeeded_with_a_deterministic_id() -> None:
    # Given the offline backend and a spec
    backend, spec, deadline = OfflineBackend(), _spec(), time.time() + 60
    # When the spec is submitted twice
    first = backend.submit(spec, [], deadline=deadline)
    second = backend.submit(spec, [], deadline=deadline)
    # Then the job has succeeded, names the backend and has the same short id both times
    assert first.status == "succeeded" and first.backend == "offline" and first.deadline == deadline
    assert first.backend_job_id == second.backend_job_id
    assert first.backend_job_id.startswith("off_") and len(first.backend_job_id) == 20
    assert backend.submit(_spec(seed=1001), [], deadline=deadline).backend_job_id != first.backend_job_id
    # And polling changes nothing
    assert backend.poll(spec, first) == first


def test_offline_fetch_renders_every_variation_with_seed_plus_index() -> None:
    # Given a submitted 3-variation job
    backend, spec = OfflineBackend(), _spec(num_variations=3)
    job = backend.submit(spec, [], deadline=time.time() + 60)
    # When it is fetched
    outputs = list(backend.fetch(spec, [], job))
    # Then there is one PIL image per variation, of the output size, seeded seed + index
    assert [o.index for o in outputs] == [0, 1, 2]
    assert [o.seed for o in outputs] == [1000, 1001, 1002]
    assert all(isinstance(o.image, Image.Image) and o.image.size == (256, 192) for o in outputs)
    assert all(o.error_code is None for o in outputs)
    assert outputs[0].image.tobytes() != outputs[1].image.tobytes()  # type: ignore[union-attr]


def test_offline_fetch_skips_variations_already_stored() -> None:
    # Given a 3-variation job whose variation 1 a previous StoreImages run already stored
    backend, spec = OfflineBackend(), _spec(num_variations=3)
    job = backend.submit(spec, [], deadline=time.time() + 60)
    # When it is fetched again with that variation skipped
    outputs = list(backend.fetch(spec, [], job, skip=frozenset({1})))
    # Then only the others are rendered, each with its own seed
    assert [(o.index, o.seed) for o in outputs] == [(0, 1000), (2, 1002)]


def test_both_backends_report_the_renderer_version() -> None:
    assert OfflineBackend.version == AsyncTestBackend.version == "studio-3"
    assert (OfflineBackend.name, AsyncTestBackend.name) == ("offline", "async-test")


# --- async-test ----------------------------------------------------------------------------------
@pytest.mark.parametrize("polls_needed", [1, 3, 5])
def test_async_backend_needs_exactly_n_polls(monkeypatch: pytest.MonkeyPatch, polls_needed: int) -> None:
    # Given the async backend configured for N polls, 2 seconds apart
    monkeypatch.setenv("AVATARSMITH_TEST_BACKEND_POLLS", str(polls_needed))
    monkeypatch.setenv("AVATARSMITH_TEST_BACKEND_POLL_SECONDS", "2")
    spec = _spec()
    job = AsyncTestBackend().submit(spec, [], deadline=time.time() + 60)
    assert job.status == "pending" and job.poll_after_seconds == 2 and job.backend == "async-test"
    # When it is polled, each time by a fresh backend with the handle passed as JSON
    statuses = []
    for _ in range(polls_needed):
        job = AsyncTestBackend().poll(spec, _across_containers(job))
        statuses.append(job.status)
    # Then only the Nth poll succeeds
    assert statuses == ["pending"] * (polls_needed - 1) + ["succeeded"]
    assert job.polls == polls_needed
    # And the images can then be fetched
    outputs = list(AsyncTestBackend().fetch(spec, [], _across_containers(job)))
    assert [o.seed for o in outputs] == [1000, 1001]


def test_async_backend_defaults_to_three_polls_one_second_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no configuration
    monkeypatch.delenv("AVATARSMITH_TEST_BACKEND_POLLS", raising=False)
    monkeypatch.delenv("AVATARSMITH_TEST_BACKEND_POLL_SECONDS", raising=False)
    # When a job is submitted
    job = AsyncTestBackend().submit(_spec(), [], deadline=time.time() + 60)
    # Then it waits 1 second between polls and needs 3
    assert job.poll_after_seconds == 1
    assert job.state == {"polls_needed": 3}


def test_async_backend_with_zero_polls_succeeds_at_submit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVATARSMITH_TEST_BACKEND_POLLS", "0")
    assert AsyncTestBackend().submit(_spec(), [], deadline=time.time() + 60).status == "succeeded"


def test_async_backend_poll_past_the_deadline_times_out() -> None:
    # Given a pending job whose deadline has passed
    job = AsyncTestBackend().submit(_spec(), [], deadline=time.time() - 1)
    # When it is polled
    # Then it fails with generation_timeout
    with pytest.raises(GenerationTimeoutError) as info:
        AsyncTestBackend().poll(_spec(), job)
    assert info.value.code == "generation_timeout"


def test_async_backend_fetch_before_success_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVATARSMITH_TEST_BACKEND_POLLS", "2")
    job = AsyncTestBackend().submit(_spec(), [], deadline=time.time() + 60)
    with pytest.raises(GenerationRejectedError):
        AsyncTestBackend().fetch(_spec(), [], job)


# --- registry ------------------------------------------------------------------------------------
def test_registry_builds_the_builtin_backends() -> None:
    assert isinstance(registry.get_backend("offline"), OfflineBackend)
    assert isinstance(registry.get_backend("async-test"), AsyncTestBackend)


def test_an_unknown_backend_is_rejected() -> None:
    # Given a name nobody registered
    # When it is looked up
    # Then the job would fail with generation_rejected
    with pytest.raises(GenerationRejectedError, match="unknown generation backend 'nope'") as info:
        registry.get_backend("nope")
    assert info.value.code == "generation_rejected"


def test_a_registered_fake_is_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a fake backend registered under a new name (the registry restored afterwards)
    monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))

    class Fake:
        name, version = "fake", "fake-1"

        def submit(self, spec: GenerationSpec, references: list[bytes], *, deadline: float) -> BackendJob:
            return BackendJob(backend="fake", backend_job_id="f1", status="succeeded", deadline=deadline)

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
            return []

    registry.register_backend("fake", Fake)
    # When it is looked up
    # Then the fake answers
    assert registry.get_backend("fake").submit(_spec(), [], deadline=1.0).backend_job_id == "f1"


def test_importing_the_backends_does_not_import_pillow() -> None:
    # Given a fresh interpreter
    script = (
        "import sys\n"
        "import avatarsmith.backends.registry, avatarsmith.backends.offline\n"
        "import avatarsmith.backends.async_test\n"
        "import avatarsmith.renderer\n"
        "backend = avatarsmith.backends.registry.get_backend('offline')\n"
        "print(backend.version, any(m == 'PIL' or m.startswith('PIL.') for m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "layers" / "common")}
    # When the registry and backends are imported and a backend is built
    out = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    # Then Pillow was not imported
    assert out == ["studio-3", "False"]
