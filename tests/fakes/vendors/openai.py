"""A strict loopback fake of OpenAI Images (gpt-image-1), from contracts/openai.json (the vendor's OpenAPI
document): JSON generations and multipart edits, unknown fields refused (400 invalid_request_error),
sizes/n/formats checked, each `image[]` part's content type checked against the allowed image types and
against what its bytes and filename really are (`application/octet-stream` -> 400 unsupported mimetype).
Answers `{created, data: [{b64_json}], ...}` with images of the requested size."""

from __future__ import annotations

import base64
import time
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from tests.fakes.server import Reply, Request, json_reply
from tests.fakes.vendors.strict import StrictVendorFake, image_kind, solid_png

_EXT = {"png": ("png",), "jpeg": ("jpg", "jpeg"), "webp": ("webp",)}


def _error(
    message: str, *, kind: str = "invalid_request_error", param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def parse_multipart(req: Request) -> list[tuple[str, str | None, str | None, bytes]]:
    """(name, filename, content type, payload) per part."""
    head = f"Content-Type: {req.headers.get('content-type', '')}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + req.body)
    parts = []
    for part in message.iter_parts():
        params = dict(part.get_params(header="content-disposition") or [])
        name = params.get("name") or ""
        filename = params.get("filename")
        ctype = part.get("Content-Type") if "Content-Type" in part else None
        payload = part.get_payload(decode=True) or b""
        parts.append((name, filename, ctype, payload))
    return parts


class OpenAIVendorFake(StrictVendorFake):
    vendor = "openai"

    def __init__(self) -> None:
        super().__init__()
        self.moderate_next = 0  # the next N generation calls are refused by the safety system

    def error_body(self, kind: str) -> Any:
        spec = self.contract["errors"][kind]
        if kind == "auth":
            return _error("Incorrect API key provided.", code="invalid_api_key")
        if kind == "rate_limit":
            return _error(
                "Rate limit reached for images per minute.", kind="requests", code="rate_limit_exceeded"
            )
        if kind == "moderation":
            return _error(spec["message"], code="moderation_blocked")
        return _error("The server had an error while processing your request.", kind="server_error")

    def route(self, req: Request) -> str:
        endpoints = self.contract["models"]["gpt-image-1"]["endpoints"]
        for label, ep in endpoints.items():
            if req.method == ep["method"] and req.path == ep["path"]:
                return label
        return "other"

    def serve(self, label: str, req: Request) -> Reply:
        if label == "other":
            self.violation(f"{req.method} {req.path}: no such endpoint")
            return json_reply(404, _error(f"Invalid URL ({req.method} {req.path})"))
        ctype = req.headers.get("content-type", "")
        expected = self.contract["models"]["gpt-image-1"]["endpoints"][label]["content_type"]
        if not ctype.startswith(expected):
            self.violation(f"{label}: content type {ctype!r}, expected {expected}")
            return json_reply(400, _error(f"Unsupported content type: {ctype}"))
        if label == "generate":
            body = req.json()
            files: list[tuple[str | None, str | None, bytes]] = []
        else:
            body, files = self._form(req)
            if not files:
                self.violation("edit without any image[] part")
                return json_reply(400, _error("Missing required parameter: 'image'.", param="image"))
        table = self.model_table(str(body.get("model")))
        if table is None:
            self.violation(f"model {body.get('model')!r} is not in the contract")
            return json_reply(400, _error(f"Invalid value for 'model' = {body.get('model')}.", param="model"))
        problems = self.check_fields(table, body, endpoint=label)
        if problems:
            first = problems[0]
            param = first.split("=")[0].split()[-1].strip("'")
            return json_reply(400, _error(first[:200], param=param))
        if label == "edit":
            refused = self._check_images(table, files)
            if refused:
                return refused
        self.submitted.append({"endpoint": label, **body, "images": files})
        if self.moderate_next:
            self.moderate_next -= 1
            return json_reply(400, self.error_body("moderation"))
        n = int(body.get("n", 1))
        size = str(body.get("size", "1024x1024"))
        w, h = (1024, 1024) if size == "auto" else (int(x) for x in size.split("x"))
        image = base64.b64encode(solid_png(w, h)).decode()
        return json_reply(
            200,
            {
                "created": int(time.time()),
                "data": [{"b64_json": image} for _ in range(n)],
                "size": f"{w}x{h}",
                "output_format": body.get("output_format", "png"),
                "usage": {"input_tokens": 10, "output_tokens": 10, "total_tokens": 20},
            },
        )

    def _form(self, req: Request) -> tuple[dict[str, Any], list[tuple[str | None, str | None, bytes]]]:
        body: dict[str, Any] = {}
        files = []
        for name, filename, ctype, payload in parse_multipart(req):
            if filename is not None:
                files.append((filename, ctype, payload))
                if name != "image[]":
                    body[name] = "<file>"
                continue
            text = payload.decode()
            spec = self.contract["models"]["gpt-image-1"]["fields"].get(name, {})
            if spec.get("type") == "integer":
                try:
                    body[name] = int(text)
                except ValueError:
                    body[name] = text
            else:
                body[name] = text
        return body, files

    def _check_images(
        self, table: dict[str, Any], files: list[tuple[str | None, str | None, bytes]]
    ) -> Reply | None:
        limits = table["references"]
        if len(files) > limits["max_count"]:
            self.violation(f"{len(files)} images, over {limits['max_count']}")
            return json_reply(400, _error(f"Too many images: at most {limits['max_count']}.", param="image"))
        for i, (filename, ctype, payload) in enumerate(files):
            if ctype not in limits["mime_types"]:
                self.violation(f"image {i}: content type {ctype!r}")
                return json_reply(
                    400,
                    _error(
                        f"Invalid file 'image': unsupported mimetype ('{ctype}'). Supported file formats are "
                        "'image/jpeg', 'image/png', and 'image/webp'.",
                        param="image",
                    ),
                )
            kind = image_kind(payload)
            if kind is None or f"image/{kind}" != ctype:
                self.violation(f"image {i}: declared {ctype}, bytes are {kind}")
                return json_reply(
                    400, _error(f"Invalid image file or mode for image {i + 1}.", param="image")
                )
            ext = (filename or "").rsplit(".", 1)[-1].lower()
            if ext not in _EXT[kind]:
                self.violation(f"image {i}: filename {filename!r} does not match {ctype}")
                return json_reply(400, _error(f"Invalid image file name for image {i + 1}.", param="image"))
            if len(payload) > limits["max_bytes"]:
                self.violation(f"image {i}: {len(payload)} bytes")
                return json_reply(400, _error("Image file is too large.", param="image"))
        return None
