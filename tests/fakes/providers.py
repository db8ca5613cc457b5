"""Protocol fakes for the self-hosted HTTP backends (see tests/fakes/server.py for the scripting). The hosted
vendors (OpenAI, Replicate, fal, Black Forest Labs) have strict contract fakes in tests/fakes/vendors/."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.server import FakeProvider, Reply, Request, b64png, json_reply, png
from tests.fakes.vendors.bfl import BflVendorFake as BflFake
from tests.fakes.vendors.fal import FalVendorFake as FalFake
from tests.fakes.vendors.openai import OpenAIVendorFake as OpenAIFake
from tests.fakes.vendors.replicate import ReplicateVendorFake as ReplicateFake

# The hosted vendors' fakes are their strict contract fakes; the old names stay for existing callers.
__all__ = ["A1111Fake", "BflFake", "ComfyFake", "FalFake", "OpenAIFake", "ReplicateFake"]


def _png_reply(width: int = 512, height: int = 512) -> Reply:
    return 200, {"Content-Type": "image/png"}, png(width, height)


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
