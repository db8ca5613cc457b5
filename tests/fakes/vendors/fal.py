"""A strict loopback fake of fal's queue, from contracts/fal.json (fal_client and the models' published
schemas): `Authorization: Key …`; POST /{model_id} answers request_id + status_url/response_url/cancel_url,
which live under the app's owner/alias only (a URL rebuilt from the full model id finds nothing); status
IN_QUEUE -> IN_PROGRESS -> COMPLETED; the result carries images of the preset or aspect ratio asked;
inputs a model does not have are ignored by fal (recorded in `dropped`), wrong values end the request
with a 422 at its result; cancel is a PUT."""

from __future__ import annotations

from typing import Any

from tests.fakes.server import Reply, Request, json_reply
from tests.fakes.vendors.strict import StrictVendorFake, solid_png


class FalVendorFake(StrictVendorFake):
    vendor = "fal"

    def __init__(self) -> None:
        super().__init__()
        self.queue: dict[str, dict[str, Any]] = {}

    def error_body(self, kind: str) -> Any:
        return {
            "auth": {"detail": "No user found for Key ID and Secret"},
            "rate_limit": {"detail": "Too many requests"},
        }.get(kind, {"detail": "Internal Server Error"})

    def public(self, req: Request) -> bool:
        return req.path.startswith("/files/")

    def route(self, req: Request) -> str:
        if req.path.startswith("/files/"):
            return "download"
        if "/requests/" in req.path:
            if req.method == "PUT" and req.path.endswith("/cancel"):
                return "cancel"
            if req.method == "GET":
                return "status" if req.path.endswith("/status") else "result"
            return "other"
        if req.method == "POST":
            return "submit"
        return "other"

    def serve(self, label: str, req: Request) -> Reply:
        if label == "submit":
            return self._submit(req)
        if label == "download":
            if self.expired(req):
                return 404, {}, b"expired"
            self.downloads += 1
            w, h = self.queue[req.path.split("/")[2]]["size"]
            return 200, {"Content-Type": "image/png"}, solid_png(w, h)
        if label == "other":
            self.violation(f"{req.method} {req.path}: no such queue route")
            return json_reply(405, {"detail": "Method Not Allowed"})
        app, _, rest = req.path.lstrip("/").partition("/requests/")
        rid = rest.split("/")[0]
        r = self.queue.get(rid)
        if r is None or r["app"] != app:
            self.violation(f"{req.method} {req.path}: not a URL the queue answered")
            return json_reply(404, {"detail": "Request not found"})
        if label == "cancel":
            if r["status"] == "COMPLETED":
                return json_reply(400, {"status": "ALREADY_COMPLETED"})
            r["cancelled"] = True
            return json_reply(202, {"status": "CANCELLATION_REQUESTED"})
        if label == "status":
            if r["status"] != "COMPLETED":
                r["polls"] += 1
                r["status"] = (
                    "COMPLETED"
                    if r["polls"] >= self.polls_needed
                    else ("IN_PROGRESS" if r["polls"] > 1 else "IN_QUEUE")
                )
            answer: dict[str, Any] = {
                "status": r["status"],
                "request_id": rid,
                "response_url": r["urls"]["response_url"],
            }
            if r["status"] == "IN_QUEUE":
                answer["queue_position"] = 0
            if r["status"] != "IN_QUEUE":
                answer["logs"] = None
            return json_reply(200, answer)
        if r["status"] != "COMPLETED":
            return json_reply(400, {"detail": "Request is still in progress"})
        if r["problems"]:
            return json_reply(
                422, {"detail": [{"loc": ["body"], "msg": p, "type": "value_error"} for p in r["problems"]]}
            )
        table = r["table"]
        blocked = r["number"] in self.moderate
        if blocked and "nsfw_field" not in table["output"]:
            return json_reply(
                422,
                {
                    "detail": [
                        {
                            "loc": ["body", "prompt"],
                            "msg": "The content was flagged by the safety filter.",
                            "type": "content_policy_violation",
                        }
                    ]
                },
            )
        w, h = r["size"]
        result: dict[str, Any] = {
            "images": [
                {
                    "url": self.signed(f"/files/{rid}/0.png"),
                    "width": w,
                    "height": h,
                    "content_type": "image/png",
                }
            ],
            "seed": r["input"].get("seed", 42),
            "prompt": r["input"].get("prompt"),
        }
        if "nsfw_field" in table["output"]:
            result[table["output"]["nsfw_field"]] = [blocked]
            result["timings"] = {"inference": 0.1}
        return json_reply(200, result)

    def _submit(self, req: Request) -> Reply:
        model = req.path.lstrip("/")
        table = self.model_table(model)
        if table is None:
            self.violation(f"POST {req.path}: no such model")
            return json_reply(404, {"detail": f"Application '{model}' not found"})
        body = req.json()
        if not isinstance(body, dict):
            self.violation("submit body is not an object")
            return json_reply(
                422, {"detail": [{"loc": ["body"], "msg": "not an object", "type": "type_error"}]}
            )
        problems = self.check_fields(table, body)
        size = self._size(table, body)
        rid = f"{len(self.queue):04d}-req"
        app = "/".join(model.split("/")[:2])  # fal-ai/flux/dev -> fal-ai/flux
        base = f"{self.url}/{app}/requests/{rid}"
        urls = {"status_url": f"{base}/status", "response_url": base, "cancel_url": f"{base}/cancel"}
        self.queue[rid] = {
            "number": len(self.queue),
            "polls": 0,
            "status": "IN_QUEUE",
            "app": app,
            "table": table,
            "input": body,
            "problems": problems,
            "size": size,
            "urls": urls,
            "cancelled": False,
        }
        self.submitted.append({"model": model, **body})
        return json_reply(200, {"request_id": rid, **urls, "queue_position": 0})

    @staticmethod
    def _size(table: dict[str, Any], body: dict[str, Any]) -> tuple[int, int]:
        if "aspect_ratio_sizes" in table:
            sizes = table["aspect_ratio_sizes"]["value"]
            w, h = sizes.get(body.get("aspect_ratio", "1:1"), sizes["1:1"])
            return w, h
        presets = table["image_size_presets"]["value"]
        size = body.get("image_size", "landscape_4_3")
        if isinstance(size, dict):
            return int(size.get("width", 512)), int(size.get("height", 512))
        w, h = presets.get(size, presets["landscape_4_3"])
        return w, h
