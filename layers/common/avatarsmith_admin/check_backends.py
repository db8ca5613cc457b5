"""`avatarsmith-admin check-backends`: the operator's smoke test of a deployment's generation backends.

It proves the deployment the way a customer uses it: a dedicated tenant is created with an API key, every
model `GET /v1/models` lists that a real backend serves (not the offline renderer, not a fallback) gets one
minimal generation through the public API (1 variation, 1:1), each job is waited for and its image is
downloaded from the URL the job gives. Per model it reports ok or the error code, the latency from submit
to completion, and the image's size. Any failure makes the command exit non-zero. With no real backend
configured it checks the default (offline) model, so the pipeline itself is still proven.

The tenant stays (its jobs and ledger are the check's record); its key is revoked at the end.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

PROMPT = "check-backends: head-and-shoulders portrait of a smiling person, plain background"
TERMINAL = frozenset({"completed", "failed", "canceled"})
CHECK_CREDITS = 200  # enough for one variation of every catalog model; unused credits stay unused
LONG_POLL_SECONDS = 25


@dataclass
class ModelCheck:
    model: str
    backend: str
    ok: bool
    result: str  # "ok" or the error code (the API's, or timeout / image_unreadable)
    latency_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    image_bytes: int | None = None
    job_id: str | None = None
    message: str | None = None


class _Api:
    def __init__(self, base_url: str, api_key: str, request_timeout: float = 40):
        import requests

        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_key}"
        self.timeout = request_timeout

    def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        response = self.session.request(method, self.base + path, timeout=self.timeout, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = {"error": {"code": f"http_{response.status_code}", "message": response.text[:200]}}
        return response.status_code, body


def models_to_check(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The models a real backend serves here; the default model when there are none."""
    real = [m for m in models if not m.get("fallback") and m.get("backend") not in ("offline", "async-test")]
    return real or [m for m in models if m.get("default")]


def check_model(api: _Api, model: dict[str, Any], timeout: float) -> ModelCheck:
    import requests

    check = ModelCheck(model=str(model["id"]), backend=str(model.get("backend")), ok=False, result="")
    body = {"prompt": PROMPT, "model": check.model, "num_variations": 1, "output": {"aspect_ratio": "1:1"}}
    started = time.monotonic()
    try:
        status, job = api.call("POST", "/v1/avatars/generate", json=body)
        if status != 202:
            return _failed(check, job, started)
        check.job_id = str(job["id"])
        deadline = started + timeout
        while job.get("status") not in TERMINAL and time.monotonic() < deadline:
            wait = max(1, min(LONG_POLL_SECONDS, int(deadline - time.monotonic())))
            status, job = api.call(
                "GET",
                f"/v1/jobs/{check.job_id}",
                params={"wait_for_completion": "true", "timeout_seconds": str(wait)},
            )
            if status != 200:
                return _failed(check, job, started)
        check.latency_seconds = round(time.monotonic() - started, 3)
        if job.get("status") not in TERMINAL:
            check.result, check.message = "timeout", f"not finished after {timeout:.0f} s"
            return check
        if job["status"] != "completed":
            return _failed(check, job, started)
        avatar = next((a for a in job.get("avatars", []) if a.get("status") == "completed"), None)
        if avatar is None:
            check.result = str((job.get("avatars") or [{}])[0].get("error", {}).get("code") or "no_image")
            return check
        image = requests.get(avatar["image_url"], timeout=60)
        check.width, check.height, check.image_bytes = (
            avatar.get("width"),
            avatar.get("height"),
            len(image.content),
        )
        if image.status_code != 200 or not image.content:
            check.result, check.message = "image_unreadable", f"image download answered {image.status_code}"
            return check
        check.ok, check.result = True, "ok"
        return check
    except requests.RequestException as exc:
        check.latency_seconds = round(time.monotonic() - started, 3)
        check.result, check.message = "unreachable", type(exc).__name__
        return check


def _failed(check: ModelCheck, body: Any, started: float) -> ModelCheck:
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    check.latency_seconds = round(time.monotonic() - started, 3)
    check.result = str(error.get("code") or body.get("status") or "failed")
    check.message = str(error.get("message") or "")[:300] or None
    return check


def run_checks(
    admin: Any, api_url: str, *, only: list[str] | None = None, timeout: float = 300, parallel: int = 4
) -> dict[str, Any]:
    """Create the check's tenant, run one generation per model, revoke the key, return the report."""
    name = f"check-backends {datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"
    created = admin.create_tenant(name, credits=CHECK_CREDITS)
    api = _Api(api_url, created["api_key"])
    try:
        status, listed = api.call("GET", "/v1/models")
        if status != 200:
            raise RuntimeError(f"GET /v1/models answered {status}: {listed}")
        models = models_to_check(list(listed["data"]))
        if only:
            wanted = {m.lower() for m in only}
            models = [m for m in listed["data"] if m["id"] in wanted]
            missing = wanted - {m["id"] for m in models}
            if missing:
                raise RuntimeError(f"not offered by this deployment: {', '.join(sorted(missing))}")
        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            checks = list(pool.map(lambda m: check_model(api, m, timeout), models))
    finally:
        admin.revoke_key(created["tenant_id"], created["key"]["key_id"])
    return {
        "ok": all(c.ok for c in checks) and bool(checks),
        "tenant_id": created["tenant_id"],
        "api_url": api_url,
        "models": [asdict(c) for c in checks],
    }


def human(report: dict[str, Any]) -> str:
    lines = [f"{'model':<20} {'backend':<14} {'result':<24} {'latency':>9}  image"]
    for c in report["models"]:
        latency = f"{c['latency_seconds']:.2f} s" if c["latency_seconds"] is not None else "-"
        image = f"{c['width']}x{c['height']}, {c['image_bytes'] / 1024:.0f} KiB" if c["image_bytes"] else "-"
        lines.append(f"{c['model']:<20} {c['backend']:<14} {c['result']:<24} {latency:>9}  {image}")
        if c["message"] and not c["ok"]:
            lines.append(f"{'':<20} {c['message']}")
    failed = sum(1 for c in report["models"] if not c["ok"])
    lines.append(
        f"{len(report['models']) - failed} ok, {failed} failed (tenant {report['tenant_id']}, key revoked)"
    )
    return "\n".join(lines)
