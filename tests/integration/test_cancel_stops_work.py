"""Cancel and deadlines stop the work, tried as a racing client would.

A 4-variation job is cancelled at every point of its generation (before the submit step, during the
rendering of each variation, just before and just after each image is written, before and after the
settling step), several times each, and also from another thread at random moments. Afterwards the
bucket is listed: a cancelled job has no object left, its credits are all refunded, and the tenant's
ledger adds up (balance = start - what completed jobs were charged; nothing left reserved).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import AwsAccount
from tests.integration.helpers import api_call, run_like_the_state_machine

VARIATIONS = 4
START_CREDITS = 10_000
BODY = {"prompt": "a ship in a bottle", "num_variations": VARIATIONS, "output": {"width": 256, "height": 256}}


def _objects(aws: AwsAccount, tenant_id: str, job_id: str) -> list[str]:
    s3 = aws.client("s3")
    found = s3.list_objects_v2(
        Bucket=aws.env["IMAGES_BUCKET_NAME"], Prefix=f"tenants/{tenant_id}/jobs/{job_id}/"
    )
    return [o["Key"] for o in found.get("Contents", [])]


POINTS = [
    "before_submit",
    *(f"render_{i}" for i in range(VARIATIONS)),
    *(f"before_put_{i}" for i in range(VARIATIONS)),
    *(f"after_put_{i}" for i in range(VARIATIONS)),
    "before_complete",
    "after_complete",
]


def test_cancel_at_every_point_of_a_job_leaves_no_image_and_an_exact_ledger(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    from avatarsmith.dal import storage
    from avatarsmith.renderer import simple

    tenant_id, key = aws.add_tenant("racer", credits=START_CREDITS)
    point: dict[str, Any] = {"name": None, "fired": False}
    cancel: Callable[[], None] = lambda: None  # noqa: E731 - set per trial

    def maybe_cancel(name: str) -> None:
        if point["name"] == name and not point["fired"]:
            point["fired"] = True
            cancel()

    real_render, real_put = simple.render_variation, storage.ImageStore.put
    puts = {"n": 0}

    def render(spec: Any, index: int, references: Any) -> Any:
        maybe_cancel(f"render_{index}")  # the cancel lands while this variation is being drawn
        return real_render(spec, index, references)

    def put(self: Any, object_key: str, body: bytes, content_type: str, **kw: Any) -> None:
        index = object_key.rsplit("/", 1)[-1].split(".")[0]
        maybe_cancel(f"before_put_{index}")  # between the processor's check and its write
        real_put(self, object_key, body, content_type, **kw)
        puts["n"] += 1
        maybe_cancel(f"after_put_{index}")

    monkeypatch.setattr(simple, "render_variation", render)
    monkeypatch.setattr(storage.ImageStore, "put", put)

    rng = random.Random(25)
    trials = [*POINTS, *POINTS, *rng.choices(POINTS, k=6)]
    outcomes: dict[str, str] = {}
    for name in trials:
        _, _, job = api_call("generate_avatar", key, body=BODY)
        job_id = job["id"]

        def do_cancel(job_id: str = job_id) -> None:
            status, _, answer = api_call("cancel_job", key, path_params={"job_id": job_id})
            assert status in (200, 409), answer

        cancel = do_cancel
        point.update(name=name, fired=False)
        hooks = {
            n: (lambda n=n: maybe_cancel(n)) for n in ("before_submit", "before_complete", "after_complete")
        }
        run_like_the_state_machine(job_id, tenant_id, hooks)
        _, _, final = api_call("get_job", key, path_params={"job_id": job_id})
        outcomes[job_id] = final["status"]
        keys = _objects(aws, tenant_id, job_id)
        if final["status"] == "canceled":
            assert keys == [], f"cancel at {name}: {keys} left in the bucket"
            assert final["credits"]["charged"] == 0 and final["credits"]["refunded"] == VARIATIONS
            assert all(not a.get("image_url") for a in final.get("avatars", []))
        else:  # a cancel after the job completed is refused (409) and changes nothing
            assert name == "after_complete", (name, final["status"])
            assert final["status"] == "completed" and len(keys) == VARIATIONS
            assert final["credits"]["charged"] == VARIATIONS
    assert set(outcomes.values()) == {"canceled", "completed"}
    assert puts["n"] > 0  # the races did reach the writes

    _, _, account = api_call("get_account", key)
    completed = sum(1 for s in outcomes.values() if s == "completed")
    assert account["reserved"] == 0
    assert account["balance"] == START_CREDITS - completed * VARIATIONS


def test_cancel_from_another_thread_at_random_moments(aws: AwsAccount) -> None:
    tenant_id, key = aws.add_tenant("racer-threads", credits=START_CREDITS)
    rng = random.Random(26)
    started = time.perf_counter()
    _, _, probe = api_call("generate_avatar", key, body=BODY)
    run_like_the_state_machine(probe["id"], tenant_id, {})  # how long one job takes here
    took = time.perf_counter() - started
    outcomes = {probe["id"]: "completed"}
    for _ in range(12):
        _, _, job = api_call("generate_avatar", key, body=BODY)
        delay = rng.uniform(0, took)

        def cancel_later(job_id: str = job["id"], delay: float = delay) -> None:
            time.sleep(delay)
            api_call("cancel_job", key, path_params={"job_id": job_id})

        canceller = threading.Thread(target=cancel_later)
        canceller.start()
        run_like_the_state_machine(job["id"], tenant_id, {})
        canceller.join()
        _, _, final = api_call("get_job", key, path_params={"job_id": job["id"]})
        outcomes[job["id"]] = final["status"]
        keys = _objects(aws, tenant_id, job["id"])
        assert final["status"] in ("canceled", "completed")
        assert len(keys) == (0 if final["status"] == "canceled" else VARIATIONS), (final["status"], keys)
    assert "canceled" in outcomes.values()
    _, _, account = api_call("get_account", key)
    completed = sum(1 for s in outcomes.values() if s == "completed")
    assert account["reserved"] == 0
    assert account["balance"] == START_CREDITS - completed * VARIATIONS
