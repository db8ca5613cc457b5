"""Waiting never blocks others, probed over HTTP against the local stack.

Given two tenants, when tenant A holds 12 long-polls open on jobs that do not finish (the asynchronous test
backend needs 1000 polls, 30 s apart), tenant B's `GET /v1/account` and `GET /v1/jobs` answer as fast as
they did before A started waiting: the waits are held by the front door, not by the api function's 8
worker processes. A long-poll still wakes at once when its job ends, and `Prefer: wait` on a submit
answers 200 with the finished job (or the usual 202 when it does not finish in time).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local.stack import EmbeddedStack, StackInfo

pytestmark = pytest.mark.e2e

LONG_POLLS = 12
HOLD_SECONDS = 12  # each long-poll's timeout_seconds


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[EmbeddedStack, StackInfo]]:
    local = EmbeddedStack(
        api_port=0,
        extra_env={"AVATARSMITH_TEST_BACKEND_POLLS": "1000", "AVATARSMITH_TEST_BACKEND_POLL_SECONDS": "30"},
    )
    info = local.start()
    try:
        yield local, info
    finally:
        local.stop()


def _session(key: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    return session


def _timings(session: requests.Session, base: str, rounds: int) -> list[float]:
    """Seconds per request of tenant B's everyday reads."""
    seconds = []
    for _ in range(rounds):
        for path in ("/v1/account", "/v1/jobs?limit=5"):
            started = time.perf_counter()
            response = session.get(base + path, timeout=60)
            seconds.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
    return seconds


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _submit(session: requests.Session, base: str, **extra: Any) -> requests.Response:
    body = {"prompt": "a lighthouse keeper", "model": "test-async", **extra}
    return session.post(base + "/v1/avatars/generate", json=body, timeout=60)


def test_twelve_long_polls_of_one_tenant_do_not_slow_another(stack: tuple[EmbeddedStack, StackInfo]) -> None:
    local, info = stack
    _, key_b = local.add_tenant("tenant-b")
    a, b = _session(info.api_key), _session(key_b)
    base = info.api_url
    b.post(base + "/v1/avatars/generate", json={"prompt": "a fox", "seed": 1}, timeout=60)  # B has a job
    jobs = [_submit(a, base, seed=i).json()["id"] for i in range(LONG_POLLS)]
    _timings(b, base, 3)  # warm every worker B will meet
    baseline = _timings(b, base, 15)

    answers: list[requests.Response] = []
    held: list[float] = []

    def long_poll(job_id: str) -> None:
        started = time.perf_counter()
        answer = _session(info.api_key).get(
            f"{base}/v1/jobs/{job_id}",
            params={"wait_for_completion": "true", "timeout_seconds": str(HOLD_SECONDS)},
            timeout=60,
        )
        held.append(time.perf_counter() - started)
        answers.append(answer)

    threads = [threading.Thread(target=long_poll, args=(job_id,)) for job_id in jobs]
    for thread in threads:
        thread.start()
    waits = local._api.waits
    deadline = time.monotonic() + 10
    while waits.waiting < LONG_POLLS and time.monotonic() < deadline:
        time.sleep(0.05)
    assert waits.waiting == LONG_POLLS, "the long-polls are not all open"
    loaded = _timings(b, base, 15)
    still_open = waits.waiting
    for thread in threads:
        thread.join(timeout=60)

    print(
        f"\ntenant B, {len(baseline)} requests each way: "
        f"alone p50={_p(baseline, 50) * 1000:.1f} ms p95={_p(baseline, 95) * 1000:.1f} ms; "
        f"with {LONG_POLLS} long-polls of tenant A open p50={_p(loaded, 50) * 1000:.1f} ms "
        f"p95={_p(loaded, 95) * 1000:.1f} ms"
    )
    assert still_open == LONG_POLLS, "B's requests were measured while A's long-polls were open"
    # Generous: a 2-core machine shared with other work jitters; 12 held workers made this 24 s before.
    assert _p(loaded, 50) <= max(3 * _p(baseline, 50), _p(baseline, 50) + 0.25)
    assert _p(loaded, 95) <= max(3 * _p(baseline, 95), _p(baseline, 95) + 0.5)
    assert max(loaded) < 5.0
    # And the long-polls were honoured: held for their timeout, answered 200 with the running job.
    assert len(answers) == LONG_POLLS
    assert all(r.status_code == 200 and r.json()["status"] in ("queued", "processing") for r in answers)
    assert min(held) >= HOLD_SECONDS - 0.5
    for job_id in jobs:
        a.post(f"{base}/v1/jobs/{job_id}/cancel", timeout=60)


def test_a_long_poll_wakes_when_its_job_ends(stack: tuple[EmbeddedStack, StackInfo]) -> None:
    _, info = stack
    a = _session(info.api_key)
    base = info.api_url
    job_id = _submit(a, base, seed=77).json()["id"]
    result: dict[str, Any] = {}

    def long_poll() -> None:
        started = time.perf_counter()
        answer = a.get(f"{base}/v1/jobs/{job_id}", headers={"Prefer": "wait=25"}, timeout=60)
        result.update(answer=answer, seconds=time.perf_counter() - started)

    thread = threading.Thread(target=long_poll)
    thread.start()
    time.sleep(1.0)
    canceled_at = time.perf_counter()
    assert _session(info.api_key).post(f"{base}/v1/jobs/{job_id}/cancel", timeout=60).status_code == 200
    thread.join(timeout=40)
    answer = result["answer"]
    assert answer.status_code == 200 and answer.json()["status"] == "canceled"
    assert answer.headers["Preference-Applied"] == "wait=25"
    assert "X-Avatarsmith-Wait-For" not in answer.headers  # the front door's own header never leaks
    assert time.perf_counter() - canceled_at < 5.0, "the long-poll did not wake on the job's event"


def test_prefer_wait_on_submit_answers_200_with_the_finished_job(
    stack: tuple[EmbeddedStack, StackInfo],
) -> None:
    _, info = stack
    a = _session(info.api_key)
    answer = a.post(
        info.api_url + "/v1/avatars/generate",
        json={"prompt": "a painter in a sunlit studio", "seed": 3, "num_variations": 2},
        headers={"Prefer": "wait=60"},
        timeout=90,
    )
    assert answer.status_code == 200, answer.text
    job = answer.json()
    assert job["status"] == "completed" and len(job["avatars"]) == 2
    assert answer.headers["Preference-Applied"] == "wait=60"
    assert answer.headers["Location"] == f"/v1/jobs/{job['id']}"
    image = requests.get(job["avatars"][0]["image_url"], timeout=10)
    assert image.status_code == 200 and image.headers["Content-Type"].startswith("image/")


def test_prefer_wait_on_submit_falls_back_to_202(stack: tuple[EmbeddedStack, StackInfo]) -> None:
    _, info = stack
    a = _session(info.api_key)
    started = time.perf_counter()
    answer = a.post(
        info.api_url + "/v1/avatars/generate",
        json={"prompt": "a lighthouse keeper", "model": "test-async", "seed": 99},
        headers={"Prefer": "wait=2"},
        timeout=60,
    )
    took = time.perf_counter() - started
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] in ("queued", "processing")
    assert answer.headers["Preference-Applied"] == "wait=2"
    assert 1.8 <= took < 10
    a.post(f"{info.api_url}/v1/jobs/{answer.json()['id']}/cancel", timeout=60)


def test_prefer_wait_on_a_batch_answers_200_once_every_job_ended(
    stack: tuple[EmbeddedStack, StackInfo],
) -> None:
    _, info = stack
    answer = _session(info.api_key).post(
        info.api_url + "/v1/batches",
        json={"items": [{"prompt": "a baker", "seed": 1}, {"prompt": "a tailor", "seed": 2}]},
        headers={"Prefer": "wait=60"},
        timeout=90,
    )
    assert answer.status_code == 200, answer.text
    batch = answer.json()
    assert batch["object"] == "batch" and batch["status"] == "completed"
    assert batch["counts"]["completed"] == 2 and batch["credits"]["charged"] == 2
    assert answer.headers["Preference-Applied"] == "wait=60"


def test_a_held_read_counts_once_against_the_request_rate(stack: tuple[EmbeddedStack, StackInfo]) -> None:
    local, info = stack
    _, key = local.add_tenant("slow-and-steady", requests_per_minute=3)
    c = _session(key)
    job_id = _submit(c, info.api_url, seed=5).json()["id"]  # 1 of 3
    # an 8 s hold, asked again by the front door every 2 s: still the client's one request
    answer = c.get(f"{info.api_url}/v1/jobs/{job_id}", headers={"Prefer": "wait=8"}, timeout=60)  # 2 of 3
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] in ("queued", "processing")
    assert c.post(f"{info.api_url}/v1/jobs/{job_id}/cancel", timeout=60).status_code == 200  # 3 of 3
