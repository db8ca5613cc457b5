"""A strict loopback fake of the AUTOMATIC1111 webui API (`--api`, optionally `--api-auth`), built from
contracts/automatic1111.json (modules/api/api.py and models.py).

- `POST /sdapi/v1/txt2img` and `/img2img`: the request model is checked field by field (types -> 422 in
  FastAPI's `{"detail": [{loc, msg, type}]}` form; the documented ranges, 8-pixel sizes -> 422 too, counted
  as violations); fields the API does not know are dropped silently, as the webui does, and recorded in
  `dropped` (a dropped field is a capability that never reached the model). img2img without init_images
  is 404 "Init image not found"; an unknown sampler 404 "Sampler not found".
- Answers `{images: [base64 PNG], parameters, info}` with `info` a JSON string holding `seed` and
  `all_seeds`, images of the requested width x height.
- With `auth` set, every route needs HTTP Basic credentials (401 otherwise).
"""

from __future__ import annotations

import base64
import binascii
import json
import random
from typing import Any

from avatarsmith.backends.contracts import load_contract
from tests.fakes.server import FakeProvider, Fault, Reply, Request, json_reply
from tests.fakes.vendors.strict import check_value, image_kind, solid_png

SAMPLERS = [
    "Euler a",
    "Euler",
    "LMS",
    "Heun",
    "DPM2",
    "DPM++ 2M",
    "DPM++ SDE",
    "DPM++ 2M SDE",
    "DDIM",
    "UniPC",
]


class Automatic1111VendorFake(FakeProvider):
    vendor = "automatic1111"

    def __init__(self, auth: str | None = None) -> None:
        super().__init__()
        self.contract = load_contract("automatic1111")
        self.fields: dict[str, Any] = self.contract["models"]["sd_xl_base_1.0"]["fields"]
        self.auth = auth
        self.violations: list[str] = []
        self.dropped: list[str] = []
        self.submitted: list[dict[str, Any]] = []

    def route(self, req: Request) -> str:
        if req.method == "POST" and req.path in ("/sdapi/v1/txt2img", "/sdapi/v1/img2img"):
            return req.path.rsplit("/", 1)[-1]
        return "other"

    def handle(self, req: Request) -> Reply:
        with self.lock:
            label = self.route(req)
            self.calls.append((label, req.path))
            self.requests.append(req)
            if self.auth is not None:
                expected = "Basic " + base64.b64encode(self.auth.encode()).decode()
                if req.headers.get("authorization") != expected:
                    return json_reply(401, {"detail": "Incorrect username or password"})
            queued = self.faults.get(label)
            if queued:
                fault: Fault = queued.pop(0)
                return json_reply(fault.status, fault.body, fault.headers)
            return self.serve(label, req)

    def serve(self, label: str, req: Request) -> Reply:
        if label == "other":
            self.violations.append(f"{req.method} {req.path} is not an A1111 API route")
            return json_reply(404, {"detail": "Not Found"})
        try:
            body = json.loads(req.body)
        except ValueError:
            self.violations.append("body is not JSON")
            return json_reply(
                422, {"detail": [{"loc": ["body"], "msg": "invalid json", "type": "value_error"}]}
            )
        other = "img2img_only" if label == "txt2img" else "txt2img_only"
        problems = []
        for name, value in body.items():
            spec = self.fields.get(name)
            if spec is None or spec.get(other):
                self.dropped.append(name)
                continue
            if value is None:
                continue
            problems += [
                {"loc": ["body", name], "msg": p, "type": "value_error"}
                for p in check_value(name, spec, value)
            ]
        if problems:
            self.violations += [p["msg"] for p in problems]
            return json_reply(422, {"detail": problems})
        sampler = body.get("sampler_name") or body.get("sampler_index") or "Euler"
        if sampler not in SAMPLERS:
            self.violations.append(f"sampler {sampler!r}")
            return json_reply(404, {"detail": "Sampler not found"})
        if label == "img2img":
            problem = self.check_init_images(body.get("init_images"))
            if problem:
                return problem
        self.submitted.append({"route": label, "body": body})
        return self.answer(body)

    def check_init_images(self, images: Any) -> Reply | None:
        if images is None:
            self.violations.append("img2img without init_images")
            return json_reply(404, {"detail": "Init image not found"})
        refs = self.contract["models"]["sd_xl_base_1.0"]["references"]
        for i, encoded in enumerate(images):
            raw = encoded.split(",", 1)[1] if encoded.startswith("data:") else encoded
            try:
                data = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                self.violations.append(f"init_images[{i}] is not base64")
                return json_reply(500, {"error": "HTTPException", "detail": "Invalid encoded image"})
            if image_kind(data) not in refs["formats"]:
                self.violations.append(f"init_images[{i}] is not an image PIL decodes")
                return json_reply(500, {"error": "HTTPException", "detail": "Invalid encoded image"})
        return None

    def answer(self, body: dict[str, Any]) -> Reply:
        n = int(body.get("batch_size") or 1) * int(body.get("n_iter") or 1)
        seed = int(body.get("seed", -1))
        if seed == -1:
            seed = random.randrange(2**32)
        width, height = int(body.get("width") or 512), int(body.get("height") or 512)
        images = [base64.b64encode(solid_png(width, height)).decode() for _ in range(n)]
        info = {"prompt": body.get("prompt", ""), "seed": seed, "all_seeds": [seed + i for i in range(n)]}
        info |= {"width": width, "height": height, "batch_size": body.get("batch_size", 1)}
        return json_reply(200, {"images": images, "parameters": body, "info": json.dumps(info)})
