"""A strict loopback fake of Bedrock Runtime's InvokeModel for the image models, built from
contracts/bedrock.json (botocore's service model and the AWS model pages), reached by boto3 through
`AWS_ENDPOINT_URL_BEDROCK_RUNTIME`.

- `POST /model/{modelId}/invoke` with a SigV4 `Authorization` header (service `bedrock`): a malformed or
  missing one is refused (and counted); an unknown access key id gets UnrecognizedClientException 403.
- The credential scope's region must offer the model (else ValidationException "The provided model
  identifier is invalid.", counted: it is how a wrong region fails).
- The body is checked against the model's table: unknown keys ("extraneous key [..] is not permitted"),
  task types, sizes (Nova's grid and bounds, Titan's list, Stability's ratio set), seeds, cfgScale,
  lengths, image counts and input images (format, sides, pixels, ratio, bytes). Each refusal is a
  ValidationException 400 in botocore's error form (`x-amzn-ErrorType` header + `{"message"}`) and is
  counted in `violations`.
- Scriptable: `fail_aws(code, ...)` queues any InvokeModel error; `block(mode)` queues a moderation
  answer ("input": ValidationException content filters; "all" / "partial": Nova/Titan 200 with `error`;
  "filter": SD 3.5 finish_reasons "Filter reason: output image").
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

from avatarsmith.backends.contracts import load_contract
from tests.fakes.server import FakeProvider, Fault, Reply, Request, serve
from tests.fakes.vendors.strict import check_value, image_kind, image_size, solid_png

ACCESS_KEY_ID = "AKIAAVATARSMITHFAKE1"
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)"
    r"/(?P<service>[a-z0-9-]+)/aws4_request,"
    r" ?SignedHeaders=(?P<signed>[a-z0-9;-]+), ?Signature=(?P<sig>[0-9a-f]{64})$"
)
_PATH = re.compile(r"^/model/(?P<model>[^/]+)/invoke$")
_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"


def aws_error(code: str, status: int, message: str) -> Reply:
    headers = {
        "Content-Type": "application/json",
        "x-amzn-ErrorType": f"{code}:{_NAMESPACE}",
        "x-amzn-RequestId": str(uuid.uuid4()),
    }
    return status, headers, json.dumps({"message": message}).encode()


def malformed(problem: str) -> str:
    return f"Malformed input request: {problem}, please reformat your input and try again."


class BedrockVendorFake(FakeProvider):
    vendor = "bedrock"

    def __init__(self, access_key_id: str | None = ACCESS_KEY_ID) -> None:
        """`access_key_id` None: any signed key id is recognised (a stack whose credentials we do not set)."""
        super().__init__()
        self.contract = load_contract("bedrock")
        self.access_key_id = access_key_id
        self.violations: list[str] = []
        self.invocations: list[dict[str, Any]] = []  # {model, region, body} of every accepted call
        self.moderation: list[str] = []

    # --- scripting ----------------------------------------------------------------------------------
    def fail_aws(self, code: str, message: str = "error", times: int = 1) -> None:
        status = int(self.contract["errors"][code]["status"])
        body = {"message": message}
        headers = {"x-amzn-ErrorType": f"{code}:{_NAMESPACE}"}
        self.faults.setdefault("invoke", []).extend(Fault(status, body, headers) for _ in range(times))

    def block(self, mode: str, times: int = 1) -> None:
        self.moderation.extend([mode] * times)

    def route(self, req: Request) -> str:
        return "invoke" if req.method == "POST" and _PATH.match(req.path) else "other"

    # --- the request ----------------------------------------------------------------------------------
    def handle(self, req: Request) -> Reply:
        with self.lock:
            label = self.route(req)
            self.calls.append((label, req.path))
            self.requests.append(req)
            auth = _AUTH.match(req.headers.get("authorization", ""))
            if auth is None or "x-amz-date" not in req.headers:
                self.violations.append(f"{req.path}: no SigV4 Authorization header / X-Amz-Date")
                return aws_error(
                    "IncompleteSignatureException", 403, "Authorization header requires a signature."
                )
            if self.access_key_id is not None and auth["key"] != self.access_key_id:
                return aws_error(
                    "UnrecognizedClientException",
                    403,
                    "The security token included in the request is invalid.",
                )
            if auth["service"] != "bedrock" or "host" not in auth["signed"].split(";"):
                self.violations.append(f"signed for service {auth['service']!r} / headers {auth['signed']!r}")
            if label != "invoke":
                self.violations.append(f"{req.method} {req.path} is not an InvokeModel route")
                return aws_error("UnknownOperationException", 404, "Unknown operation")
            queued = self.faults.get(label)
            if queued:
                fault = queued.pop(0)
                headers = {"Content-Type": "application/json", **fault.headers}
                return fault.status, headers, json.dumps(fault.body).encode()
            return self.invoke(req, auth["region"])

    def refuse(self, problem: str) -> Reply:
        self.violations.append(problem)
        return aws_error("ValidationException", 400, malformed(problem))

    def invoke(self, req: Request, region: str) -> Reply:
        match = _PATH.match(req.path)
        assert match is not None
        model_id = unquote(match["model"])
        table = self.contract["models"].get(model_id.split(":", 1)[0])
        if table is None or table["model_id"] != model_id or region not in table["regions"]["value"]:
            self.violations.append(f"model {model_id!r} is not offered in {region}")
            return aws_error("ValidationException", 400, "The provided model identifier is invalid.")
        if not req.headers.get("content-type", "").startswith("application/json"):
            return self.refuse(f"content type {req.headers.get('content-type')!r} is not application/json")
        if len(req.body) > int(self.contract["flow"]["max_body_bytes"]["value"]):
            return self.refuse(f"the body is {len(req.body)} bytes, over the 25,000,000-byte limit")
        try:
            body = json.loads(req.body)
        except ValueError:
            return self.refuse("#: the body is not JSON")
        if not isinstance(body, dict):
            return self.refuse("#: expected type: JSONObject")
        if table["family"] == "stability":
            problems = self.check_stability(table, body)
        else:
            problems = self.check_amazon(table, body)
        if problems:
            return self.refuse("; ".join(problems))
        self.invocations.append({"model": model_id, "region": region, "body": body})
        mode = self.moderation.pop(0) if self.moderation else None
        if mode == "input":
            return aws_error(
                "ValidationException",
                400,
                table.get("moderation", {}).get("input")
                or "This request has been blocked by our content filters.",
            )
        if table["family"] == "stability":
            return self.answer_stability(body, mode)
        return self.answer_amazon(table, body, mode)

    # --- Nova Canvas / Titan v2 ------------------------------------------------------------------------
    def check_amazon(self, table: dict[str, Any], body: dict[str, Any]) -> list[str]:
        fields: dict[str, Any] = table["fields"]
        problems = [
            f"#: extraneous key [{k}] is not permitted" for k in body if k not in table["top_keys"]["value"]
        ]
        task = table["task_types"].get(body.get("taskType"))
        if task is None:
            return [*problems, f"#/taskType: {body.get('taskType')!r} is not a valid enum value"]
        for other in {t["params"] for t in table["task_types"].values()} - {task["params"]}:
            if other in body:
                problems.append(f"#: extraneous key [{other}] is not permitted")
        params = body.get(task["params"])
        if not isinstance(params, dict):
            return [*problems, f"#: required key [{task['params']}] not found"]
        for key, value in params.items():
            if key not in task["keys"]:
                problems.append(f"#/{task['params']}: extraneous key [{key}] is not permitted")
            elif key == "images":
                problems += self.check_images(table, value)
            elif key in fields:
                problems += self.check_text(key, fields[key], value)
        if body["taskType"] in fields["text"].get("required_for", []) and "text" not in params:
            problems.append(f"#/{task['params']}: required key [text] not found")
        if task["params"] == "imageVariationParams" and "images" not in params:
            problems.append("#/imageVariationParams: required key [images] not found")
        config = body.get("imageGenerationConfig", {})
        if not isinstance(config, dict):
            return [*problems, "#/imageGenerationConfig: expected type: JSONObject"]
        for key, value in config.items():
            if key not in fields["imageGenerationConfig"]["keys"]:
                problems.append(f"#/imageGenerationConfig: extraneous key [{key}] is not permitted")
            elif key in fields:
                problems += [f"#/imageGenerationConfig/{p}" for p in check_value(key, fields[key], value)]
        w, h = config.get("width", 1024), config.get("height", 1024)
        if "sizes" in fields:
            if [w, h] not in fields["sizes"]["value"]:
                problems.append(f"#/imageGenerationConfig: {w}x{h} is not a supported size")
        elif isinstance(w, int) and isinstance(h, int) and w and h:
            pixels = fields["pixels"]
            if w * h > pixels["max"]:
                problems.append(f"#/imageGenerationConfig: {w}x{h} is over {pixels['max']} pixels")
            if max(w, h) / min(w, h) > pixels["max_ratio"]:
                problems.append(f"#/imageGenerationConfig: {w}x{h} is outside the 1:4 to 4:1 aspect ratio")
        return problems

    def check_text(self, key: str, spec: dict[str, Any], value: Any) -> list[str]:
        problems = check_value(key, spec, value)
        if isinstance(value, str) and len(value) < int(spec.get("min_length", 0)):
            problems.append(f"{key}: expected minLength: {spec['min_length']}, actual: {len(value)}")
        return problems

    def check_images(self, table: dict[str, Any], images: Any, *, one: bool = False) -> list[str]:
        refs = table["references"]
        listed = [images] if one else images
        field = table["fields"].get("images", {})
        if not one and (
            not isinstance(images, list)
            or not field.get("min_items", 1) <= len(images) <= field.get("max_items", 5)
        ):
            return [f"images: expected 1-{field.get('max_items', 5)} items"]
        problems = []
        for i, encoded in enumerate(listed):
            try:
                data = base64.b64decode(encoded, validate=True)
            except (binascii.Error, TypeError, ValueError):
                problems.append(f"images[{i}] is not base64")
                continue
            kind = image_kind(data)
            if kind not in refs["formats"]:
                problems.append(f"images[{i}] is {kind or 'not an image'}, not one of {refs['formats']}")
                continue
            w, h = image_size(data)
            limit = refs.get("vendor_max_bytes")
            if limit and len(data) > limit:
                problems.append(f"images[{i}] is {len(data)} bytes, over {limit}")
            if refs.get("max_side") and max(w, h) > refs["max_side"]:
                problems.append(f"images[{i}] is {w}x{h}, over {refs['max_side']} px a side")
            if refs.get("min_side") and min(w, h) < refs["min_side"]:
                problems.append(f"images[{i}] is {w}x{h}, under {refs['min_side']} px a side")
            if refs.get("max_pixels") and w * h > refs["max_pixels"]:
                problems.append(f"images[{i}] is {w}x{h}, over {refs['max_pixels']} pixels")
            if refs.get("max_ratio") and max(w, h) / min(w, h) > refs["max_ratio"] + 1e-6:
                problems.append(f"images[{i}] is {w}x{h}, outside 1:{refs['max_ratio']:g}")
        return problems

    def answer_amazon(self, table: dict[str, Any], body: dict[str, Any], mode: str | None) -> Reply:
        config = body.get("imageGenerationConfig", {})
        w, h, n = config.get("width", 1024), config.get("height", 1024), config.get("numberOfImages", 1)
        images = [base64.b64encode(solid_png(w, h)).decode() for _ in range(n)]
        answer: dict[str, Any] = {"images": images}
        if mode == "all":
            answer = {
                "images": [],
                "error": table["moderation"].get(
                    "all", "All of the generated images have been blocked by our content filters."
                ),
            }
        elif mode == "partial":
            answer = {"images": images[:-1], "error": table["moderation"]["partial"]}
        return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()

    # --- Stable Diffusion 3.5 Large --------------------------------------------------------------------
    def check_stability(self, table: dict[str, Any], body: dict[str, Any]) -> list[str]:
        fields: dict[str, Any] = table["fields"]
        mode = body.get("mode", "text-to-image")
        allowed = table["modes"].get(mode)
        if allowed is None:
            return [f"mode: {mode!r} is not one of {list(table['modes'])}"]
        problems = [f"#: extraneous key [{k}] is not permitted" for k in body if k not in allowed["keys"]]
        problems += [
            f"#: required key [{k}] not found" for k in allowed.get("required", ["prompt"]) if k not in body
        ]
        if "prompt" not in body:
            problems.append("#: required key [prompt] not found")
        for key, value in body.items():
            if key == "image" and key in allowed["keys"]:
                problems += self.check_images(table, value, one=True)
            elif key in fields and key in allowed["keys"]:
                problems += self.check_text(key, fields[key], value)
        return problems

    def answer_stability(self, body: dict[str, Any], mode: str | None) -> Reply:
        if body.get("mode") == "image-to-image":
            w, h = image_size(base64.b64decode(body["image"]))
            ratio = w / h
        else:
            a, b = (int(x) for x in body.get("aspect_ratio", "1:1").split(":"))
            ratio = a / b
        width = max(64, round(math.sqrt(1_048_576 * ratio) / 64) * 64)
        height = max(64, round(math.sqrt(1_048_576 / ratio) / 64) * 64)
        seed = body.get("seed") or 1234
        if mode == "filter":
            answer: dict[str, Any] = {
                "seeds": [seed],
                "finish_reasons": ["Filter reason: output image"],
                "images": [],
            }
        else:
            image = base64.b64encode(solid_png(width, height)).decode()
            answer = {"seeds": [seed], "finish_reasons": [None], "images": [image]}
        return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()


@contextmanager
def bedrock_fake(monkeypatch: Any, access_key_id: str = ACCESS_KEY_ID) -> Iterator[BedrockVendorFake]:
    """The fake served on loopback, with boto3 pointed at it (AWS_ENDPOINT_URL_BEDROCK_RUNTIME) and
    signing with `access_key_id`; the adapter's client cache is cleared on both sides."""
    from avatarsmith.backends import bedrock

    with serve(BedrockVendorFake(access_key_id)) as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key_id)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-for-the-loopback-fake")
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        bedrock._CLIENTS.clear()
        try:
            yield fake
        finally:
            bedrock._CLIENTS.clear()
