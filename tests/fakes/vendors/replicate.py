"""A strict loopback fake of Replicate's predictions API, from contracts/replicate.json (replicate-python
and each model's published input schema): official models only on /v1/models/{owner}/{name}/predictions,
community models only on /v1/predictions with their version; inputs checked against the model's schema
(422 problem details on a wrong enum or range; unknown inputs are ignored, and recorded in `dropped`);
predictions go starting -> processing -> succeeded/failed/canceled at `urls.get`; outputs are expiring
file URLs of the size the model makes for the asked aspect ratio or width/height."""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

from tests.fakes.server import Reply, Request, json_reply
from tests.fakes.vendors.strict import StrictVendorFake, image_kind, solid_png

_BODY_KEYS = {"version", "input", "webhook", "webhook_events_filter", "stream"}


def ratio_size(ratio: str, megapixels: float = 1.0) -> tuple[int, int]:
    """About one megapixel at the ratio, sides multiples of 16 (what FLUX and Imagen produce)."""
    a, b = (int(x) for x in ratio.split(":"))
    w = math.sqrt(megapixels * 1_048_576 * a / b)
    return round(w / 16) * 16, round(w * b / a / 16) * 16


class ReplicateVendorFake(StrictVendorFake):
    vendor = "replicate"

    def __init__(self) -> None:
        super().__init__()
        self.predictions: dict[str, dict[str, Any]] = {}

    def error_body(self, kind: str) -> Any:
        spec = self.contract["errors"][kind]
        if kind == "auth":
            return {"title": spec["title"], "detail": spec["detail"], "status": 401}
        if kind == "rate_limit":
            return {"detail": spec["detail"], "status": 429}
        return {"title": "Internal server error", "detail": "upstream unavailable", "status": 503}

    def public(self, req: Request) -> bool:
        return req.path.startswith("/files/")

    def route(self, req: Request) -> str:
        if req.path.startswith("/files/"):
            return "download"
        if req.method == "POST" and req.path.endswith("/cancel"):
            return "cancel"
        if req.method == "POST" and req.path == "/v1/predictions":
            return "submit"
        if req.method == "POST" and req.path.startswith("/v1/models/") and req.path.endswith("/predictions"):
            return "submit"
        if req.method == "GET" and req.path.startswith("/v1/predictions/"):
            return "poll"
        return "other"

    def _problem(self, status: int, title: str, detail: str) -> Reply:
        return json_reply(status, {"title": title, "detail": detail, "status": status})

    def serve(self, label: str, req: Request) -> Reply:
        if label == "submit":
            return self._submit(req)
        if label == "download":
            if self.expired(req):
                return 404, {"Content-Type": "text/plain"}, b"expired"
            self.downloads += 1
            pid = req.path.split("/")[2]
            w, h = self.predictions[pid]["size"]
            return 200, {"Content-Type": "image/png"}, solid_png(w, h)
        if label == "other":
            self.violation(f"{req.method} {req.path}: no such route")
            return self._problem(404, "Not found", "The requested resource could not be found.")
        pid = req.path.split("/")[3]
        p = self.predictions.get(pid)
        if p is None:
            return self._problem(404, "Not found", "Prediction not found.")
        if label == "cancel":
            if p["status"] in ("starting", "processing"):
                p["status"] = "canceled"
            return json_reply(200, self._view(pid))
        if p["status"] in ("starting", "processing"):
            p["polls"] += 1
            if p["polls"] >= self.polls_needed:
                p["status"] = "failed" if p["number"] in self.moderate else "succeeded"
            else:
                p["status"] = "processing"
        return json_reply(200, self._view(pid))

    def _submit(self, req: Request) -> Reply:
        body = req.json()
        if not isinstance(body, dict) or not isinstance(body.get("input"), dict):
            self.violation("prediction body without an input object")
            return self._problem(422, "Input validation failed", "input is required")
        extra = set(body) - _BODY_KEYS
        if extra:
            self.violation(f"unknown prediction body fields {sorted(extra)}")
            return self._problem(422, "Invalid request", f"unknown fields {sorted(extra)}")
        if req.path == "/v1/predictions":
            model = next(
                (
                    m
                    for m, t in self.contract["models"].items()
                    if (t.get("version") or {}).get("value") == body.get("version")
                ),
                None,
            )
            if model is None:
                self.violation(f"POST /v1/predictions with unknown version {body.get('version')!r}")
                return self._problem(422, "Invalid version", "Invalid version or not permitted")
        else:
            model = req.path[len("/v1/models/") : -len("/predictions")]
            table = self.model_table(model)
            if table is None or table.get("route") != "official":
                self.violation(
                    f"POST {req.path}: {model} is not an official model; it needs /v1/predictions + version"
                )
                return self._problem(404, "Not found", "The requested resource could not be found.")
            if "version" in body:
                self.violation("a version in the body of an official model's route")
                return self._problem(422, "Invalid request", "version is not allowed here")
        table = self.model_table(model)
        assert table is not None
        inputs = body["input"]
        problems = self.check_fields(table, inputs) + self._check_reference(table, inputs)
        if problems:
            return self._problem(422, "Input validation failed", "- input." + "\n- input.".join(problems))
        sizes = (table.get("aspect_ratio_sizes") or {}).get("value", {})
        if inputs.get("aspect_ratio") in sizes:
            size = tuple(sizes[inputs["aspect_ratio"]])
        elif "aspect_ratio" in inputs:
            size = ratio_size(inputs["aspect_ratio"])
        elif "width" in inputs or "height" in inputs:
            size = (int(inputs.get("width", 1024)), int(inputs.get("height", 1024)))
        else:
            size = ratio_size("1:1")
        number = len(self.predictions)
        pid = f"p{number:04d}xyz"
        self.predictions[pid] = {
            "number": number,
            "polls": 0,
            "status": "starting",
            "model": model,
            "input": inputs,
            "size": size,
        }
        self.submitted.append({"model": model, "version": body.get("version"), **inputs})
        return json_reply(201, self._view(pid))

    def _view(self, pid: str) -> dict[str, Any]:
        p = self.predictions[pid]
        table = self.model_table(p["model"]) or {}
        view: dict[str, Any] = {
            "id": pid,
            "model": p["model"],
            "version": (table.get("version") or {}).get("value", "hidden"),
            "input": p["input"],
            "logs": "",
            "output": None,
            "data_removed": False,
            "error": None,
            "status": p["status"],
            "created_at": "2026-12-07T03:00:00.000Z",
            "urls": {
                "get": f"{self.url}/v1/predictions/{pid}",
                "cancel": f"{self.url}/v1/predictions/{pid}/cancel",
                "stream": f"{self.url}/v1/predictions/{pid}/stream",
                "web": f"{self.url}/p/{pid}",
            },
        }
        if p["status"] == "succeeded":
            file_url = self.signed(f"/files/{pid}/out-0.png")
            kind = table.get("output", {}).get("kind")
            view["output"] = file_url if kind == "uri" else [file_url]
        if p["status"] == "failed":
            view["error"] = "NSFW content detected. Try running it again, or try a different prompt."
        return view

    def _check_reference(self, table: dict[str, Any], inputs: dict[str, Any]) -> list[str]:
        """A data-URI reference: its declared type is what the bytes are, and it stays within the limit."""
        limits = table.get("references")
        value = inputs.get(limits["field"]) if limits else None
        if not isinstance(value, str) or not value.startswith("data:"):
            return []
        header, _, payload = value.partition(",")
        problems = []
        if len(value) > limits["max_bytes"]:
            problems.append(f"{limits['field']} data URI is {len(value)} bytes, over {limits['max_bytes']}")
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            return [*problems, f"{limits['field']} is not base64"]
        kind = image_kind(data)
        if kind not in limits["formats"] or header != f"data:image/{kind};base64":
            problems.append(f"{limits['field']} declares {header!r} for {kind} bytes")
        self.violations.extend(problems)
        return problems
