"""Durable local state, figures printed (not asserted):

1. Submit latency over HTTP (POST /v1/avatars/generate) without and with the state folder: p50, p90 and
   the ratio (target p50 within 1.3x), and the journal's own time per acknowledged write (fsync included).
2. Restart time with 10,000 jobs stored (each with its ledger entry), 2,000 stored images, and a journal
   at its compaction threshold (the worst case): the recovery alone and the whole stack start
   (target <= 5 s), next to the start of an empty stack.

`python -m benchmarks.durability` (also part of `make bench`).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

SUBMITS = 150
JOBS = 10_000
IMAGES = 2_000


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def _submit_latencies(state_dir: Path | None, count: int) -> tuple[list[float], dict[str, Any]]:
    import requests

    from local import durable as durable_module
    from local.stack import EmbeddedStack

    stack = EmbeddedStack(api_port=0, state_dir=state_dir, api_key=None)
    info = stack.start()
    try:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {info.api_key}"
        samples = []
        for i in range(count):
            started = time.perf_counter()
            response = session.post(
                f"{info.api_url}/v1/avatars/generate",
                json={"prompt": f"bench {i}", "output": {"width": 256, "height": 256}},
            )
            samples.append(time.perf_counter() - started)
            assert response.status_code == 202, response.text
        stats = (
            durable_module.control_call(info.moto_url, durable_module.STATS_PATH, timeout=10)
            if state_dir
            else {}
        )
        return samples, stats
    finally:
        stack.stop()


def bench_submit(rounds: int = 3) -> None:
    per_round = SUBMITS // rounds
    print(
        f"== submit latency over HTTP: {rounds} alternating rounds of {per_round} sequential submits per mode"
        " (the workflow runs alongside) =="
    )
    plain: list[float] = []
    durable: list[float] = []
    stats: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(rounds):  # alternate, so load from elsewhere on the machine hits both alike
            plain += _submit_latencies(None, per_round)[0]
            samples, stats = _submit_latencies(Path(tmp) / f"state{n}", per_round)
            durable += samples
    for label, samples in (("in memory (no state folder)", plain), ("durable (state folder)", durable)):
        print(
            f"{label:<30}: p50 {statistics.median(samples) * 1000:6.1f} ms"
            f"   p90 {_percentile(samples, 0.9) * 1000:6.1f} ms"
        )
    ratio = statistics.median(durable) / statistics.median(plain)
    print(f"p50 ratio durable / in memory : {ratio:.2f}   (target <= 1.3)")
    if stats.get("writes"):
        print(
            f"journal append + fsync        : p50 {stats['append_p50_ms']:.2f} ms,"
            f" p90 {stats['append_p90_ms']:.2f} ms"
            f" per acknowledged write (last round: {stats['writes']} writes, submits and workflow steps)"
        )


def _fill(info: Any, jobs: int, images: int) -> None:
    """Clone a real job item (and its ledger entry) `jobs` times; store `images` objects of 40 kB."""
    import boto3

    session = boto3.session.Session()
    ddb, s3 = session.client("dynamodb"), session.client("s3")
    table, bucket = info.environment["TABLE_NAME"], info.environment["IMAGES_BUCKET_NAME"]
    items = ddb.scan(TableName=table)["Items"]
    job = next(i for i in items if i.get("type", {}).get("S") == "job")
    ledger = next(i for i in items if i["sk"]["S"].startswith("LEDGER#"))
    batch: list[dict[str, Any]] = []
    for n in range(jobs):
        job_id = f"job_{n:026d}"
        clone = {
            **job,
            "sk": {"S": f"JOB#{job_id}"},
            "job_id": {"S": job_id},
            "status": {"S": "completed"},
            "gsi1pk": {"S": job["gsi1pk"]["S"].replace("queued", "completed")},
            "gsi1sk": {"S": job_id},
        }
        entry = {**ledger, "sk": {"S": f"LEDGER#bench{n:022d}"}}
        batch += [{"PutRequest": {"Item": clone}}, {"PutRequest": {"Item": entry}}]
        if len(batch) >= 24:
            ddb.batch_write_item(RequestItems={table: batch})
            batch = []
    if batch:
        ddb.batch_write_item(RequestItems={table: batch})
    for n in range(images):
        s3.put_object(Bucket=bucket, Key=f"tenants/bench/jobs/{n}/0.png", Body=os.urandom(40_000))


def bench_restart() -> None:
    print(f"\n== restart with {JOBS} jobs + {JOBS} ledger entries + {IMAGES} images of 40 kB stored ==")
    import boto3
    import requests

    from local import durable as durable_module
    from local.stack import EmbeddedStack

    warm = EmbeddedStack(api_port=0)  # warm imports, so both starts below compare fairly
    warm.start()
    warm.stop()
    empty = EmbeddedStack(api_port=0)
    started = time.perf_counter()
    empty.start()
    empty_start = time.perf_counter() - started
    empty.stop()
    with tempfile.TemporaryDirectory() as tmp:
        state_dir = Path(tmp) / "state"
        stack = EmbeddedStack(api_port=0, state_dir=state_dir)
        info = stack.start()
        requests.post(
            f"{info.api_url}/v1/avatars/generate",
            headers={"Authorization": f"Bearer {info.api_key}"},
            json={"prompt": "template job"},
            timeout=30,
        )
        _fill(info, JOBS, IMAGES)
        durable_module.control_call(info.moto_url, durable_module.COMPACT_PATH)
        # the worst case: a journal one entry short of its compaction threshold
        ddb = boto3.session.Session().client("dynamodb")
        for n in range(durable_module.DEFAULT_COMPACT_EVERY - 1):
            ddb.put_item(
                TableName=info.environment["TABLE_NAME"],
                Item={"pk": {"S": "BENCH"}, "sk": {"S": f"W#{n % 50}"}, "n": {"N": str(n)}},
            )
        stack.stop()  # like kill -9 as far as the folder goes: nothing is written at stop
        size = sum(p.stat().st_size for p in state_dir.rglob("*") if p.is_file())
        again = EmbeddedStack(api_port=0, state_dir=state_dir)
        started = time.perf_counter()
        again.start()
        total = time.perf_counter() - started
        recovered = again.recovered or {}
        again.stop()
    print(f"state folder size             : {size / 1e6:.0f} MB")
    print(f"empty stack start             : {empty_start:.2f} s")
    print(
        f"recovery (snapshot + journal) : {recovered.get('load_seconds')} s load"
        f" ({recovered.get('items')} items, {recovered.get('objects')} objects,"
        f" {recovered.get('replayed')} journal entries), {recovered.get('compact_seconds')} s compaction"
    )
    print(f"whole stack start             : {total:.2f} s   (target <= 5 s)")


def main() -> None:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # as `make run`: no per-request log lines
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    bench_submit()
    bench_restart()
    print("\n" + json.dumps({"submits": SUBMITS, "jobs": JOBS, "images": IMAGES}))


if __name__ == "__main__":
    main()
