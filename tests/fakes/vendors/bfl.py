"""A strict loopback fake of the Black Forest Labs API, from contracts/bfl.json (api.bfl.ai/openapi.json):
`x-key` header; POST /v1/{model} answers {id, polling_url}, and the polling URL points at the cluster that
took the task (the global /v1/get_result does not know it: "Task not found"); Pending -> Ready with a
`result.sample` URL that expires in 10 minutes, or Request/Content Moderated; width/height, aspect ratio and
fields checked (422 on a wrong value; fields a model does not have are ignored, recorded in `dropped`)."""

from __future__ import annotations

import math
from typing import Any

from tests.fakes.server import Reply, Request, json_reply
from tests.fakes.vendors.strict import StrictVendorFake, image_kind, image_size, solid_png

CLUSTER = "/cluster-7"


class BflVendorFake(StrictVendorFake):
    vendor = "bfl"

    def __init__(self) -> None:
        super().__init__()
        self.tasks: dict[str, dict[str, Any]] = {}
        self.moderation_status = "Content Moderated"

    def error_body(self, kind: str) -> Any:
        if kind == "auth":
            return {"detail": self.contract["errors"]["auth"]["detail"]}
        if kind == "rate_limit":
            return {"detail": "You have exceeded the number of active tasks."}
        return {"detail": "Internal Server Error"}

    def public(self, req: Request) -> bool:
        return req.path.startswith("/delivery/")

    def route(self, req: Request) -> str:
        if req.path.startswith("/delivery/"):
            return "download"
        if req.method == "GET" and req.path.endswith("/v1/get_result"):
            return "poll"
        if req.method == "POST" and req.path.startswith("/v1/"):
            return "submit"
        return "other"

    def serve(self, label: str, req: Request) -> Reply:
        if label == "submit":
            return self._submit(req)
        if label == "download":
            if self.expired(req):
                return 403, {"Content-Type": "application/xml"}, b"<Error><Code>AccessDenied</Code></Error>"
            self.downloads += 1
            w, h = self.tasks[req.path.split("/")[2]]["size"]
            return 200, {"Content-Type": "image/png"}, solid_png(w, h)
        if label == "other":
            self.violation(f"{req.method} {req.path}: no such route")
            return json_reply(404, {"detail": "Not Found"})
        tid = req.query.get("id", [""])[0]
        t = self.tasks.get(tid)
        if t is None or not req.path.startswith(CLUSTER):
            return json_reply(200, {"id": tid, "status": "Task not found", "result": None})
        t["polls"] += 1
        if t["polls"] < self.polls_needed:
            return json_reply(200, {"id": tid, "status": "Pending", "result": None, "progress": 0.5})
        if t["number"] in self.moderate:
            return json_reply(
                200, {"id": tid, "status": self.moderation_status, "result": None, "details": {}}
            )
        result = {
            "sample": self.signed(f"/delivery/{tid}/sample.png"),
            "prompt": t["input"].get("prompt"),
            "seed": t["input"].get("seed"),
        }
        return json_reply(200, {"id": tid, "status": "Ready", "result": result, "progress": None})

    def _submit(self, req: Request) -> Reply:
        model = req.path[len("/v1/") :]
        table = self.model_table(model)
        if table is None:
            self.violation(f"POST {req.path}: no such model")
            return json_reply(404, {"detail": "Not Found"})
        body = req.json()
        problems = self.check_fields(table, body)
        problems += self._check_images(table, body)
        if problems:
            return json_reply(
                422, {"detail": [{"loc": ["body"], "msg": p, "type": "value_error"} for p in problems]}
            )
        if "aspect_ratio" in body:
            a, b = (int(x) for x in body["aspect_ratio"].split(":"))
            w = math.sqrt(1_048_576 * a / b)
            size = (round(w / 32) * 32, round(w * b / a / 32) * 32)
        else:
            size = (int(body.get("width", 1024)), int(body.get("height", 768)))
        tid = f"t{len(self.tasks):04d}"
        self.tasks[tid] = {"number": len(self.tasks), "polls": 0, "input": body, "size": size}
        self.submitted.append({"model": model, **body})
        return json_reply(200, {"id": tid, "polling_url": f"{self.url}{CLUSTER}/v1/get_result?id={tid}"})

    def _check_images(self, table: dict[str, Any], body: dict[str, Any]) -> list[str]:
        import base64
        import binascii

        limits = table.get("references")
        if not limits:
            return []
        problems = []
        for name in [limits["field"], *limits.get("extra_fields", [])]:
            if name not in body:
                continue
            try:
                data = base64.b64decode(body[name], validate=True)
            except (binascii.Error, ValueError):
                problems.append(f"{name} is not base64")
                continue
            kind = image_kind(data)
            if kind not in limits["formats"]:
                problems.append(f"{name} is {kind}, not one of {limits['formats']}")
                continue
            w, h = image_size(data)
            if max(w, h) > limits["max_side"] or (limits.get("max_pixels") and w * h > limits["max_pixels"]):
                problems.append(f"{name} is {w}x{h}, over the model's input limits")
            if len(body[name]) > limits["max_bytes"]:
                problems.append(f"{name} is {len(body[name])} bytes of base64, over {limits['max_bytes']}")
        self.violations.extend(problems)
        return problems
