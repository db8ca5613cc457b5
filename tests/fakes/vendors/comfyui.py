"""A strict loopback fake of a ComfyUI server, built from contracts/comfyui.json (ComfyUI's server.py and
node definitions).

- `POST /prompt` validates the API-format graph node by node (known class_type, required inputs, links to
  existing nodes, min/max/step of numbers, an output node): an invalid graph is a 400 `{error,
  node_errors}` and counts as a contract violation. `partial_next` scripts the other documented answer: a
  200 that queues the prompt although `node_errors` is not empty.
- One prompt executes at a time, in queue order; `GET /history/{id}` is `{}` until it has run. Each history
  request advances the running prompt by one step (`polls_needed` steps each).
- `GET /queue` lists the running and pending entries; `POST /queue {"delete": [...]}` removes pending ones
  only; `POST /interrupt` stops whatever runs: stopping a prompt another client queued (`add_foreign`)
  is counted as a violation.
- `GET /view?filename&subfolder&type` serves the outputs.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from avatarsmith.backends.contracts import load_contract
from tests.fakes.server import FakeProvider, Reply, Request, json_reply
from tests.fakes.vendors.strict import solid_png


class ComfyUIVendorFake(FakeProvider):
    vendor = "comfyui"

    def __init__(self) -> None:
        super().__init__()
        self.contract = load_contract("comfyui")
        self.violations: list[str] = []
        self.dropped: list[str] = []
        self.prompts: dict[str, dict[str, Any]] = {}  # id -> {number, graph, client_id, foreign, steps}
        self.pending: list[str] = []
        self.running: str | None = None
        self.history: dict[str, dict[str, Any]] = {}
        self.files: dict[str, tuple[int, int]] = {}
        self.partial_next = 0  # the next N valid prompts answer 200 with non-empty node_errors
        self.fail_next = 0  # the next N prompts end with status_str error
        self.interrupted: list[str] = []
        self.number = 0

    def route(self, req: Request) -> str:
        if req.path.startswith("/history/"):
            return "poll"
        table = {("POST", "/prompt"): "submit", ("GET", "/view"): "download", ("GET", "/queue"): "queue"}
        table |= {("POST", "/queue"): "delete", ("POST", "/interrupt"): "interrupt"}
        return table.get((req.method, req.path), "other")

    # --- test scripting -----------------------------------------------------------------------------
    def add_foreign(self) -> str:
        """A prompt another client queued; it starts running if nothing else does."""
        return self._queue({"9": {"class_type": "SaveImage", "inputs": {}}}, "someone-else", foreign=True)

    def _queue(self, graph: dict[str, Any], client_id: str, *, foreign: bool = False) -> str:
        pid = str(uuid.uuid4())
        self.number += 1
        self.prompts[pid] = {
            "number": self.number,
            "graph": graph,
            "client_id": client_id,
            "foreign": foreign,
        }
        self.prompts[pid]["steps"] = 0
        self.pending.append(pid)
        self._start_next()
        return pid

    def _start_next(self) -> None:
        if self.running is None and self.pending:
            self.running = self.pending.pop(0)

    def _advance(self) -> None:
        pid = self.running
        if pid is None:
            return
        prompt = self.prompts[pid]
        prompt["steps"] += 1
        if prompt["steps"] < self.polls_needed or prompt["foreign"]:
            return  # another client's prompt runs until someone interrupts it
        if prompt.get("fail"):
            self._finish(pid, "error", [["execution_error", {"prompt_id": pid, "node_id": "3"}]], {})
        else:
            self._finish(pid, "success", [["execution_success", {"prompt_id": pid}]], self._outputs(pid))

    def _outputs(self, pid: str) -> dict[str, Any]:
        graph = self.prompts[pid]["graph"]
        latent = next((n["inputs"] for n in graph.values() if n.get("class_type") == "EmptyLatentImage"), {})
        size = (int(latent.get("width", 512)), int(latent.get("height", 512)))
        outputs = {}
        for nid, node in graph.items():
            if node.get("class_type") == "SaveImage":
                name = f"{node['inputs'].get('filename_prefix', 'ComfyUI')}_{pid[:8]}_00001_.png"
                self.files[name] = size
                outputs[nid] = {"images": [{"filename": name, "subfolder": "", "type": "output"}]}
        return outputs

    def _finish(self, pid: str, status: str, messages: list[Any], outputs: dict[str, Any]) -> None:
        self.history[pid] = {
            "prompt": [self.prompts[pid]["number"], pid, self.prompts[pid]["graph"], {}, list(outputs)],
            "outputs": outputs,
            "status": {"status_str": status, "completed": status == "success", "messages": messages},
        }
        self.running = None
        self._start_next()

    # --- validation -----------------------------------------------------------------------------------
    def validate(self, graph: Any) -> tuple[dict[str, Any], list[str]]:
        """(node_errors in ComfyUI's form, the ids of the output nodes)."""
        if not isinstance(graph, dict):
            return {"prompt": {"errors": [{"type": "invalid_prompt", "message": "not a dict"}]}}, []
        classes: dict[str, Any] = self.contract["node_inputs"]
        errors: dict[str, Any] = {}
        outputs = []
        for nid, node in graph.items():
            ctype = node.get("class_type") if isinstance(node, dict) else None
            if ctype not in classes:
                errors[nid] = [self._error("invalid_prompt", f"node {nid}: unknown class_type {ctype!r}")]
                continue
            spec = classes[ctype]
            if spec.get("output"):
                outputs.append(nid)
            found = []
            inputs = node.get("inputs", {})
            for name, rule in spec["required"].items():
                if name not in inputs:
                    found.append(self._error("required_input_missing", f"Required input is missing: {name}"))
                    continue
                found += self._check_input(graph, name, rule, inputs[name])
            if found:
                errors[nid] = found
        return {
            nid: {"errors": errs, "dependent_outputs": outputs, "class_type": graph[nid].get("class_type")}
            for nid, errs in errors.items()
        }, outputs

    @staticmethod
    def _error(kind: str, message: str) -> dict[str, Any]:
        return {"type": kind, "message": message, "details": message, "extra_info": {}}

    def _check_input(self, graph: dict[str, Any], name: str, rule: dict[str, Any], value: Any) -> list[Any]:
        if isinstance(value, list):  # a link [node id, output index]
            ok = len(value) == 2 and str(value[0]) in graph and isinstance(value[1], int)
            return [] if ok else [self._error("bad_linked_input", f"{name}: link {value!r} goes nowhere")]
        if rule.get("link"):
            return [self._error("return_type_mismatch", f"{name} must be a link, got {value!r}")]
        if rule.get("type") == "string":
            ok = isinstance(value, str)
            return [] if ok else [self._error("invalid_input_type", f"{name}: {value!r} is not a string")]
        if "min" in rule or "max" in rule:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return [self._error("invalid_input_type", f"{name}: {value!r} is not a number")]
            if value < rule.get("min", value):
                return [self._error("value_smaller_than_min", f"{name} {value} < {rule['min']}")]
            if value > rule.get("max", value):
                return [self._error("value_bigger_than_max", f"{name} {value} > {rule['max']}")]
            if rule.get("step") and value % rule["step"]:
                return [self._error("value_not_valid", f"{name} {value} is not a multiple of {rule['step']}")]
        return []

    # --- routes ---------------------------------------------------------------------------------------
    def serve(self, label: str, req: Request) -> Reply:
        if label == "submit":
            return self.submit(req)
        if label == "poll":
            self._advance()
            pid = req.path.split("/", 2)[2]
            return json_reply(200, {pid: self.history[pid]} if pid in self.history else {})
        if label == "queue":

            def entry(pid: str) -> list[Any]:
                p = self.prompts[pid]
                return [p["number"], pid, p["graph"], {"client_id": p["client_id"]}, ["9"]]

            running = [entry(self.running)] if self.running else []
            return json_reply(
                200, {"queue_running": running, "queue_pending": [entry(p) for p in self.pending]}
            )
        if label == "delete":
            body = req.json() or {}
            for pid in body.get("delete", []):
                if pid in self.pending:
                    self.pending.remove(pid)
            return 200, {}, b""
        if label == "interrupt":
            pid = self.running
            if pid is not None:
                if self.prompts[pid]["foreign"]:
                    self.violations.append(f"/interrupt stopped {pid}, a prompt another client queued")
                self.interrupted.append(pid)
                self._finish(pid, "error", [["execution_interrupted", {"prompt_id": pid}]], {})
            return 200, {}, b""
        if label == "download":
            name = req.query.get("filename", [""])[0]
            if name not in self.files or req.query.get("type", ["output"])[0] != "output":
                return 404, {}, b""
            return 200, {"Content-Type": "image/png"}, solid_png(*self.files[name])
        self.violations.append(f"{req.method} {req.path} is not a ComfyUI route")
        return 404, {}, b""

    def submit(self, req: Request) -> Reply:
        try:
            body = json.loads(req.body or b"{}")
        except ValueError:
            self.violations.append("/prompt body is not JSON")
            return 400, {}, b"invalid json"
        known = self.contract["flow"]["submit"]["body_keys"]
        self.dropped += [k for k in body if k not in known]
        if "prompt" not in body:
            self.violations.append("/prompt without a prompt")
            return json_reply(400, {"error": "no prompt", "node_errors": []})
        node_errors, outputs = self.validate(body["prompt"])
        if node_errors or not outputs:
            self.violations.append(f"/prompt refused: {json.dumps(node_errors)[:300] or 'no output node'}")
            error = self.contract["errors"]["prompt_error" if node_errors else "no_output"]["value"]
            return json_reply(
                400, {"error": {**error, "details": "", "extra_info": {}}, "node_errors": node_errors}
            )
        pid = self._queue(body["prompt"], str(body.get("client_id", "")))
        partial: dict[str, Any] = {}
        if self.partial_next:
            self.partial_next -= 1
            partial = {
                "10": {
                    "errors": [self._error("value_not_in_list", "ckpt_name: 'x' not in []")],
                    "dependent_outputs": ["10"],
                    "class_type": "SaveImage",
                }
            }
        if self.fail_next:
            self.fail_next -= 1
            self.prompts[pid]["fail"] = True
        return json_reply(
            200, {"prompt_id": pid, "number": self.prompts[pid]["number"], "node_errors": partial}
        )
