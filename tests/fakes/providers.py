"""Protocol fakes for each HTTP provider (see tests/fakes/server.py for the scripting)."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.fakes.server import FakeProvider, Reply, Request, b64png, json_reply, png


def _png_reply(width: int = 512, height: int = 512) -> Reply:
    return 200, {"Content-Type": "image/png"}, png(width, height)


class OpenAIFake(FakeProvider):
    def authorised(self, req: Request) -> bool:
        return req.headers.get("authorization") == f"Bearer {self.key}"

    def route(self, req: Request) -> str:
        return {"/v1/images/generations": "generate", "/v1/images/edits": "edit"}.get(req.path, "other")

    def serve(self, label: str, req: Request) -> Reply:
        if label == "generate":
            body = req.json()
            n, size = int(body["n"]), body["size"]
        elif label == "edit":
            text = req.body.decode("latin-1")
            n = int(re.search(r'name="n"\r\n\r\n(\d+)', text).group(1))  # type: ignore[union-attr]
            size = re.search(r'name="size"\r\n\r\n(\d+x\d+)', text).group(1)  # type: ignore[union-attr]
        else:
            return json_reply(404, {"error": {"message": "not found"}})
        w, h = (int(x) for x in size.split("x"))
        return json_reply(
            200, {"created": 1, "data": [{"b64_json": b64png(w // 8, h // 8)} for _ in range(n)]}
        )


class ReplicateFake(FakeProvider):
    def __init__(self) -> None:
        super().__init__()
        self.predictions: dict[str, dict[str, Any]] = {}

    def authorised(self, req: Request) -> bool:
        return req.path.startswith("/files/") or req.headers.get("authorization") == f"Bearer {self.key}"

    def route(self, req: Request) -> str:
        if req.method == "POST" and req.path.endswith("/cancel"):
            return "cancel"
        if req.method == "POST":
            return "submit"
        if req.path.startswith("/files/"):
            return "download"
        return "poll"

    def serve(self, label: str, req: Request) -> Reply:
        if label == "submit":
            number = len(self.predictions)
            pid = f"pred{number}"
            self.predictions[pid] = {
                "number": number,
                "polls": 0,
                "input": req.json()["input"],
                "status": "starting",
            }
            return json_reply(201, self._view(pid))
        pid = req.path.split("/")[3] if label != "download" else ""
        if label == "cancel":
            self.predictions[pid]["status"] = "canceled"
            return json_reply(200, self._view(pid))
        if label == "download":
            return _png_reply()
        p = self.predictions[pid]
        if p["status"] == "canceled":
            return json_reply(200, self._view(pid))
        p["polls"] += 1
        if p["polls"] >= self.polls_needed:
            p["status"] = "failed" if p["number"] in self.moderate else "succeeded"
        else:
            p["status"] = "processing"
        return json_reply(200, self._view(pid))

    def _view(self, pid: str) -> dict[str, Any]:
        p = self.predictions[pid]
        view = {
            "id": pid,
            "status": p["status"],
            "urls": {
                "get": f"{self.url}/v1/predictions/{pid}",
                "cancel": f"{self.url}/v1/predictions/{pid}/cancel",
            },
        }
        if p["status"] == "succeeded":
            view["output"] = [f"{self.url}/files/{pid}.png"]
        if p["status"] == "failed":
            view["error"] = "NSFW content detected. Try running it again, or try a different prompt."
        return view


class FalFake(FakeProvider):
    def __init__(self) -> None:
        super().__init__()
        self.requests_seen: dict[str, dict[str, Any]] = {}

    def authorised(self, req: Request) -> bool:
        return req.path.startswith("/files/") or req.headers.get("authorization") == f"Key {self.key}"

    def route(self, req: Request) -> str:
        if req.path.startswith("/files/"):
            return "download"
        if req.method == "PUT":
            return "cancel"
        if req.method == "POST":
            return "submit"
        return "status" if req.path.endswith("/status") else "result"

    def serve(self, label: str, req: Request) -> Reply:
        if label == "submit":
            rid = f"req{len(self.requests_seen)}"
            self.requests_seen[rid] = {
                "number": len(self.requests_seen),
                "polls": 0,
                "input": req.json(),
                "cancelled": False,
            }
            base = f"{self.url}{req.path}/requests/{rid}"
            return json_reply(
                200,
                {
                    "request_id": rid,
                    "status_url": f"{base}/status",
                    "response_url": base,
                    "cancel_url": f"{base}/cancel",
                },
            )
        if label == "download":
            return _png_reply()
        rid = req.path.split("/requests/")[1].split("/")[0]
        r = self.requests_seen[rid]
        if label == "cancel":
            r["cancelled"] = True
            return json_reply(202, {"status": "CANCELLATION_REQUESTED"})
        if label == "status":
            r["polls"] += 1
            status = (
                "COMPLETED"
                if r["polls"] >= self.polls_needed
                else ("IN_PROGRESS" if r["polls"] > 1 else "IN_QUEUE")
            )
            return json_reply(200, {"status": status, "queue_position": 0})
        size = r["input"]["image_size"]
        return json_reply(
            200,
            {
                "images": [
                    {"url": f"{self.url}/files/{rid}.png", "width": size["width"], "height": size["height"]}
                ],
                "seed": r["input"].get("seed"),
                "has_nsfw_concepts": [r["number"] in self.moderate],
            },
        )


class BflFake(FakeProvider):
    def __init__(self) -> None:
        super().__init__()
        self.tasks: dict[str, dict[str, Any]] = {}

    def authorised(self, req: Request) -> bool:
        return req.path.startswith("/samples/") or req.headers.get("x-key") == self.key

    def route(self, req: Request) -> str:
        if req.path.startswith("/samples/"):
            return "download"
        return "submit" if req.method == "POST" else "poll"

    def serve(self, label: str, req: Request) -> Reply:
        if label == "submit":
            tid = f"task{len(self.tasks)}"
            self.tasks[tid] = {"number": len(self.tasks), "polls": 0, "input": req.json()}
            return json_reply(200, {"id": tid, "polling_url": f"{self.url}/v1/get_result?id={tid}"})
        if label == "download":
            return _png_reply()
        tid = req.query["id"][0]
        t = self.tasks.get(tid)
        if t is None:
            return json_reply(200, {"id": tid, "status": "Task not found"})
        t["polls"] += 1
        if t["polls"] < self.polls_needed:
            return json_reply(200, {"id": tid, "status": "Pending", "progress": 0.5})
        if t["number"] in self.moderate:
            return json_reply(200, {"id": tid, "status": "Content Moderated"})
        return json_reply(
            200, {"id": tid, "status": "Ready", "result": {"sample": f"{self.url}/samples/{tid}.png"}}
        )


class A1111Fake(FakeProvider):
    def route(self, req: Request) -> str:
        return req.path.rsplit("/", 1)[-1]  # txt2img | img2img

    def serve(self, label: str, req: Request) -> Reply:
        body = req.json()
        n, seed = int(body["batch_size"]), int(body["seed"])
        images = [b64png(body["width"] // 4, body["height"] // 4) for _ in range(n)]
        info = json.dumps({"seed": seed, "all_seeds": [seed + i for i in range(n)]})
        return json_reply(200, {"images": images, "parameters": body, "info": info})


class ComfyFake(FakeProvider):
    def __init__(self) -> None:
        super().__init__()
        self.prompts: dict[str, dict[str, Any]] = {}
        self.deleted: list[str] = []

    def route(self, req: Request) -> str:
        if req.path.startswith("/history/"):
            return "poll"
        return {"/prompt": "submit", "/view": "download", "/queue": "queue", "/interrupt": "interrupt"}.get(
            req.path, "other"
        )

    def serve(self, label: str, req: Request) -> Reply:
        if label == "submit":
            graph = req.json()["prompt"]
            bad = [nid for nid, node in graph.items() if "class_type" not in node]
            if bad:
                return json_reply(
                    400,
                    {
                        "error": {"type": "prompt_outputs_failed_validation"},
                        "node_errors": {bad[0]: "missing class_type"},
                    },
                )
            pid = f"p{len(self.prompts)}"
            self.prompts[pid] = {"number": len(self.prompts), "polls": 0, "graph": graph}
            return json_reply(200, {"prompt_id": pid, "number": len(self.prompts), "node_errors": {}})
        if label == "poll":
            pid = req.path.split("/")[2]
            p = self.prompts[pid]
            p["polls"] += 1
            if p["polls"] < self.polls_needed or pid in self.deleted:
                return json_reply(200, {})
            if p["number"] in self.moderate:
                status = {"status_str": "error", "completed": False, "messages": [["execution_error", {}]]}
                return json_reply(200, {pid: {"status": status, "outputs": {}}})
            outputs = {"9": {"images": [{"filename": f"{pid}.png", "subfolder": "", "type": "output"}]}}
            return json_reply(
                200,
                {
                    pid: {
                        "status": {"status_str": "success", "completed": True, "messages": []},
                        "outputs": outputs,
                    }
                },
            )
        if label == "download":
            return _png_reply()
        if label == "queue":
            self.deleted.extend(req.json().get("delete", []))
            return json_reply(200, {})
        if label == "interrupt":
            return json_reply(200, {})
        return json_reply(404, {"error": "not found"})
