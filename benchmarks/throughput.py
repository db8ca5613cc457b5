"""Sustained local throughput under a backlog (in `make bench`; alone: `python -m benchmarks.throughput`).

16 clients submit 256x256 single-variation jobs for 30 s against the local stack (tenant limits raised),
then the backlog drains to the end. Printed: jobs accepted, completed, completed jobs per second (from
the first submit to the last completion) and its ratio to a fixed Pillow workload (draw + blur +
PNG-encode a 256x256 image, one thread) measured in the same run, and how long the drain took.
Targets: ratio >= 0.1; every job terminal within 180 s of the load stopping.

The stack is started in its own process as `make run` starts it (durable state folder, job events
printed). To measure a stack that is already running instead (`make run` itself):
    .venv/bin/avatarsmith-admin --local create-tenant load --credits 1000000 --max-concurrent-jobs 100000 \
        --submits-per-minute 1000000 --requests-per-minute 10000000
    .venv/bin/python -m benchmarks.throughput --against http://127.0.0.1:3000 <the key it printed>
"""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
LOAD_SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "30"))
DRAIN_LIMIT_SECONDS = 180.0
JOB = {"prompt": "bench", "num_variations": 1, "output": {"width": 256, "height": 256, "format": "png"}}


def pillow_ops_per_second(seconds: float = 3.0) -> float:
    """The reference: draw, blur and PNG-encode a 256x256 image, as many times as fit in `seconds`."""
    from PIL import Image, ImageDraw, ImageFilter

    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        image = Image.new("RGB", (256, 256), (240, 220, 200))
        draw = ImageDraw.Draw(image)
        draw.ellipse((48, 32, 208, 224), fill=(200, 150, 120), outline=(60, 40, 30), width=4)
        draw.rectangle((0, 200, 256, 256), fill=(40, 60, 120))
        image = image.filter(ImageFilter.GaussianBlur(2))
        image.save(io.BytesIO(), format="PNG")
        done += 1
    return done / (time.perf_counter() - started)


def _submit_loop(url: str, key: str, until: float, accepted: list[str], refused: list[int]) -> None:
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    while time.monotonic() < until:
        try:
            response = session.post(f"{url}/v1/avatars/generate", json=JOB, timeout=60)
        except requests.RequestException:
            refused.append(0)
            continue
        if response.status_code == 202:
            accepted.append(response.json()["id"])
        else:
            refused.append(response.status_code)


TERMINAL = ("completed", "failed", "canceled")


def _timestamp(value: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class Tracker:
    """Which accepted jobs are terminal, read cheaply: one GET /v1/jobs/{id} for the oldest job not yet
    seen terminal (jobs finish roughly in order), so measuring adds almost no load to the stack."""

    def __init__(self, url: str, key: str, job_ids: list[str]):
        import requests

        self.url, self.pending = url, list(job_ids)
        self.done: dict[str, dict] = {}
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"
        self.last_done_at = 0.0

    def check(self, limit: int = 50) -> None:
        """Read up to `limit` jobs, oldest pending first; stop at the first one still running."""
        for job_id in list(self.pending[:limit]):
            job = self.session.get(f"{self.url}/v1/jobs/{job_id}", timeout=60).json()
            if job.get("status") not in TERMINAL:
                return
            self.done[job_id] = job
            self.pending.remove(job_id)
            self.last_done_at = time.monotonic()

    def sweep(self) -> None:
        """Every pending job once (the order is only roughly the completion order)."""
        for job_id in list(self.pending):
            job = self.session.get(f"{self.url}/v1/jobs/{job_id}", timeout=60).json()
            if job.get("status") in TERMINAL:
                self.done[job_id] = job
                self.pending.remove(job_id)
                self.last_done_at = time.monotonic()


def serve() -> None:
    """The stack under test, in its own process, configured as `make run` starts it (a durable state
    folder, here a fresh temporary one; every job event printed, here to a counter): prints its URL and a
    key with raised limits, runs until stdin closes, then prints the handler durations it saw."""
    import json
    import sys
    import tempfile

    import boto3

    from local.event_watch import EventPrinter
    from local.stack import EmbeddedStack

    durations: dict[str, list[float]] = {}

    def record(name: str, _request_id: str, milliseconds: float, _error: str | None) -> None:
        durations.setdefault(name, []).append(milliseconds)

    printed: list[int] = [0]

    def print_event(_line: str, **_: object) -> None:
        printed[0] += 1

    durable = os.environ.get("BENCH_DURABLE", "1") != "0"
    with tempfile.TemporaryDirectory(prefix="avatarsmith-bench-") as state:
        stack = EmbeddedStack(
            api_port=0,
            extra_env={"LOG_LEVEL": "WARNING", "POWERTOOLS_LOG_LEVEL": "WARNING"},
            invocation_listeners=[record],
            state_dir=Path(state) if durable else None,
            watch_events=True,
        )
        info = stack.start()
        printer = EventPrinter(boto3.session.Session().client("sqs"), info.event_watch_queue_url, print_event)
        printer.start()
        try:
            _, key = stack.add_tenant(
                "bench-load",
                max_concurrent_jobs=100_000,
                submits_per_minute=1_000_000,
                requests_per_minute=10_000_000,
            )
            print(json.dumps({"api_url": info.api_url, "api_key": key}), flush=True)
            sys.stdin.read()
            journal = _durable_stats(info.moto_url) if durable else {}
        finally:
            printer.stop()
            stack.stop()
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = {"emulator": own.ru_utime + own.ru_stime, "workers": children.ru_utime + children.ru_stime}
    print(
        json.dumps({"durations": durations, "cpu": cpu, "events": printed[0], "durable": journal}), flush=True
    )


def _durable_stats(moto_url: str) -> dict[str, float]:
    from local.durable import STATS_PATH, control_call

    return control_call(moto_url, STATS_PATH, timeout=30)


def bench_throughput(against: tuple[str, str] | None = None) -> dict[str, float]:
    """Starts the stack itself, or measures a running one (`against`: its API URL and a key whose
    tenant has raised limits and enough credits, e.g. `make run`'s)."""
    import contextlib
    import json
    import subprocess
    import sys

    print(
        f"\n== sustained local throughput: {CLIENTS} clients, 256x256 single-variation jobs, "
        f"{LOAD_SECONDS:.0f} s of load, drained to the end =="
    )
    reference = pillow_ops_per_second()
    print(f"Pillow reference (draw + blur + PNG 256x256, one thread): {reference:7.1f} images/s")
    root = Path(__file__).resolve().parent.parent
    server: subprocess.Popen[str] | None = None
    if against is None:
        server = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.throughput", "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=root,
            env={**os.environ, "PYTHONPATH": f"{root}:{root / 'layers/common'}"},
        )
    report: dict = {}
    try:
        if server is not None:
            assert server.stdout is not None
            target = json.loads(server.stdout.readline())
            url, key = target["api_url"], target["api_key"]
        else:
            url, key = against  # type: ignore[misc]
        accepted: list[str] = []
        refused: list[int] = []
        started, started_wall = time.monotonic(), time.time()
        until = started + LOAD_SECONDS
        clients = [
            threading.Thread(target=_submit_loop, args=(url, key, until, accepted, refused))
            for _ in range(CLIENTS)
        ]
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        load_ended, load_ended_wall = time.monotonic(), time.time()
        tracker = Tracker(url, key, accepted)
        tracker.check()
        done_at_load_end = len(tracker.done)
        while tracker.pending and time.monotonic() - load_ended < DRAIN_LIMIT_SECONDS:
            tracker.check()
            if tracker.pending:
                time.sleep(0.5)
                if len(tracker.pending) < 20 or time.monotonic() - tracker.last_done_at > 10:
                    tracker.sweep()
        drained = tracker.last_done_at if not tracker.pending else time.monotonic()
        finished = tracker.done
    finally:
        if server is not None:
            assert server.stdin is not None and server.stdout is not None
            server.stdin.close()
            with contextlib.suppress(ValueError):
                report = json.loads(server.stdout.readline() or "{}")
            server.wait(timeout=60)
    completed = sum(1 for job in finished.values() if job["status"] == "completed")
    # When each job became terminal, as the job itself records it (its last update): the tracker reads
    # jobs one at a time, oldest first, so the moment it *sees* the last one lags behind by seconds.
    ended_wall = max((_timestamp(job["updated_at"]) for job in finished.values()), default=time.time())
    if tracker.pending:
        ended_wall = time.time()
    reasons: dict[str, int] = {}
    for job in finished.values():
        if job["status"] != "completed":
            error = job.get("error") or {}
            reason = f"{job['status']}: {error.get('code', '?')} {str(error.get('message', ''))[:80]}"
            reasons[reason] = reasons.get(reason, 0) + 1
    elapsed = ended_wall - started_wall
    rate = completed / elapsed if elapsed else 0.0
    unfinished = len(accepted) - len(finished)
    print(f"accepted {len(accepted)} jobs in {load_ended - started:.1f} s ({len(refused)} refused)")
    print(f"terminal when the load stopped: >= {done_at_load_end}; completed in the end: {completed}")
    print(
        f"drain after the load: {ended_wall - load_ended_wall:5.1f} s (seen by polling after "
        f"{drained - load_ended:5.1f} s); unfinished after it: {unfinished}  "
        f"(target 0 within {DRAIN_LIMIT_SECONDS:.0f} s)"
    )
    for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
        print(f"  not completed: {count:5d} x {reason}")
    print(f"completed jobs/s (first submit -> last job's completion): {rate:6.2f}")
    print(f"ratio to the Pillow reference: {rate / reference:6.3f}  (target >= 0.1)")
    cpu = report.get("cpu")
    if cpu:
        print(
            f"CPU seconds: stack process (emulator, front door, pollers) {cpu.get('emulator', 0):6.1f}, "
            f"function workers {cpu.get('workers', 0):6.1f}, over {drained - started:.0f} s"
        )
    journal = report.get("durable") or {}
    if journal:
        print(
            f"durable state: {journal.get('writes', 0)} journaled writes "
            f"({journal.get('journal_seconds', 0):.1f} s), "
            f"{journal.get('compactions', 0)} compactions ({journal.get('compaction_seconds', 0):.1f} s); "
            f"{report.get('events', 0)} job events printed"
        )
    for name, samples in sorted(report.get("durations", {}).items()):
        ordered = sorted(samples)
        print(
            f"  {name:<20} {len(samples):6d} invocations, handler p50 {ordered[len(ordered) // 2]:7.1f} ms, "
            f"p95 {ordered[int(len(ordered) * 0.95)]:7.1f} ms"
        )
    return {"jobs_per_second": rate, "ratio": rate / reference, "unfinished": float(unfinished)}


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--serve"]:
        serve()
    elif sys.argv[1:2] == ["--against"] and len(sys.argv) == 4:
        bench_throughput((sys.argv[2].rstrip("/"), sys.argv[3]))
    elif sys.argv[1:]:
        sys.exit("usage: python -m benchmarks.throughput [--against <API URL> <API key>]")
    else:
        bench_throughput()
