"""What the pipeline adds on top of a real backend: `make run`'s stack (durable state folder, worker
processes, Step Functions in the emulator) with the openai backend (synchronous) and the fal backend
(asynchronous: submit, Wait, poll, fetch) pointed at instant loopback fakes of their APIs.

Per job, the pipeline's own figure is server-side: the job's created_at -> its completion's timestamp
(updated_at, written by the settling write), minus the time the fake itself spent answering that job's
requests; the target is judged on it. Also shown: what a client sees (POST /v1/avatars/generate -> a GET
every 50 ms says `completed`, minus the fake's time), which adds the POST, the client's poll period and
each GET's own invocation; and the CPU the whole stack (this process and its workers) used per job, which
a loaded machine does not inflate as it inflates latency. For the asynchronous backend the state machine
waits the backend's poll interval (AVATARSMITH_POLL_SECONDS) before its first poll (a Wait state, which
the emulator sleeps in real time, exactly): that wait is the backend's pace, not overhead, and is shown
apart. p50 and p95 over the measured jobs, after warm-up jobs (the first jobs start the worker processes).

    PYTHONPATH=.:layers/common:functions/api .venv/bin/python -m benchmarks.pipeline_overhead [jobs]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

SYNC_TARGET_MS = 150
WARMUP = 3
CLIENT_POLL_SECONDS = 0.05  # the client's GET period (each GET is an api invocation on the same CPUs)


class _Timed:
    """Wraps a fake's request handler to add up the time it spends answering."""

    def __init__(self, fake: Any):
        self.fake = fake
        self.spent = 0.0
        self.lock = threading.Lock()
        original = fake.handle

        def handle(req: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(req)
            finally:
                with self.lock:
                    self.spent += time.perf_counter() - started

        fake.handle = handle

    def take(self) -> float:
        with self.lock:
            spent, self.spent = self.spent, 0.0
        return spent


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return statistics.median(ordered), p95


def _tree_cpu_seconds() -> float:
    """CPU seconds used so far by this process and every process under it (the stack's workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = sum(int(v) for v in fields[11:15]) / ticks  # utime stime cutime cstime
    tree, frontier = {os.getpid()}, [os.getpid()]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(cpu.get(pid, 0.0) for pid in tree)


def _seconds_between(start: str, end: str) -> float:
    def parse(value: str) -> datetime:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))

    return (parse(end) - parse(start)).total_seconds()


def _run_jobs(
    session: Any, api_url: str, model: str, timed: _Timed, count: int, wait: float = 0.0
) -> tuple[list[float], list[float], float]:
    """(client-side added seconds, server-side added seconds, CPU seconds per job) over `count` jobs.

    The client's first GET comes no sooner than `wait` (the backend's poll interval: the job cannot
    complete before its first poll), so that its GETs, each an api invocation on the same CPUs, do not
    slow the pipeline it measures while nothing can be seen."""
    client, server, cpu = [], [], 0.0
    for i in range(WARMUP + count):
        if i == WARMUP:
            cpu = _tree_cpu_seconds()
        timed.take()
        started = time.perf_counter()
        job = session.post(
            f"{api_url}/v1/avatars/generate",
            json={"prompt": f"bench {i}", "model": model, "output": {"aspect_ratio": "1:1"}},
        ).json()
        time.sleep(max(0.0, wait - (time.perf_counter() - started)))
        while job.get("status") not in ("completed", "failed", "canceled"):
            time.sleep(CLIENT_POLL_SECONDS)
            job = session.get(f"{api_url}/v1/jobs/{job['id']}").json()
        elapsed = time.perf_counter() - started
        if job["status"] != "completed":
            raise RuntimeError(f"{model}: job ended {job['status']}: {job.get('error')}")
        fake_seconds = timed.take()
        if i >= WARMUP:
            client.append(elapsed - fake_seconds)
            # updated_at of a completed job: the settling write's time (nothing writes the job after it)
            server.append(_seconds_between(job["created_at"], job["updated_at"]) - fake_seconds)
    return client, server, (_tree_cpu_seconds() - cpu) / count


def bench_pipeline_overhead(jobs: int = 20, poll_seconds: int = 1) -> dict[str, tuple[float, float]]:
    import requests

    from local.backend_env import LocalBackends
    from local.stack import EmbeddedStack
    from tests.fakes.providers import FalFake, OpenAIFake
    from tests.fakes.server import serve

    openai_fake, fal_fake = OpenAIFake(), FalFake()
    fal_fake.polls_needed = 1  # instant: COMPLETED on the first status poll
    timed_openai, timed_fal = _Timed(openai_fake), _Timed(fal_fake)
    print(
        f"\n== pipeline overhead over the backend: make run's stack, instant loopback fakes, {jobs} jobs each"
        f" after {WARMUP} warm-up (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs) =="
    )
    results: dict[str, tuple[float, float]] = {}
    with serve(openai_fake), serve(fal_fake), tempfile.TemporaryDirectory() as state:
        backends = LocalBackends(
            parameters={
                "GenerationBackends": f"openai={openai_fake.url},fal={fal_fake.url}",
                "BackendPollSeconds": f"fal={poll_seconds}",
                "BackendSecretName": "avatarsmith-local/backends",
            },
            keys={"openai": openai_fake.key, "fal": fal_fake.key},
        )
        stack = EmbeddedStack(
            api_port=0,
            state_dir=None if os.environ.get("BENCH_NO_STATE") else Path(state),
            watch_events=False,
            backends=backends,
            extra_env={"AVATARSMITH_ALLOW_LOOPBACK_URLS": "1", "LOG_LEVEL": "WARNING"},
        )
        with stack as info:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {info.api_key}"
            cases = [
                ("openai (synchronous)", "gpt-image-1", timed_openai, 0),
                (f"fal (asynchronous, poll {poll_seconds} s)", "flux-schnell", timed_fal, poll_seconds),
            ]
            for label, model, timed, wait in cases:  # (fakes: the vendors' contract fakes, images at size)
                try:
                    client, server, cpu = _run_jobs(session, info.api_url, model, timed, jobs, wait)
                except RuntimeError as exc:  # a job failed: the figure would mean nothing
                    print(f"{label:<34}: not measured, {exc}")
                    continue
                s50, s95 = _percentiles([c - wait for c in server])
                p50, p95 = _percentiles([c - wait for c in client])
                results[model] = (s50, s95)
                verdict = "ok" if s50 * 1000 <= SYNC_TARGET_MS else "OVER"
                after = f" beyond the {wait} s poll wait" if wait else ""
                print(
                    f"{label:<34}: added p50 {s50 * 1000:5.0f} ms  p95 {s95 * 1000:5.0f} ms{after}"
                    f" (server-side, created_at -> updated_at; target p50 <= {SYNC_TARGET_MS} ms:"
                    f" {verdict})\n{'':<34}  as a polling client sees it"
                    f" p50 {p50 * 1000:5.0f} ms  p95 {p95 * 1000:5.0f} ms"
                    f" (GET every {CLIENT_POLL_SECONDS * 1000:.0f} ms); CPU of the whole stack"
                    f" {cpu * 1000:4.0f} ms per job; load average {os.getloadavg()[0]:.1f}"
                )
        print(f"(load average after measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
        for fake in (openai_fake, fal_fake):
            violations = getattr(fake, "violations", [])
            if violations:
                print(f"   contract violations at {type(fake).__name__}: {violations[:3]}")
    return results


if __name__ == "__main__":
    bench_pipeline_overhead(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
