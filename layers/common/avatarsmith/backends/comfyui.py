"""ComfyUI: queue an API-format workflow graph per variation (POST /prompt), poll GET /history/{id}
(`{}` until done), download outputs with GET /view.

Cancelling never stops another client's work: `POST /interrupt` stops whatever prompt is executing, so it
is sent only when `GET /queue` shows ours running; a prompt still waiting is removed with
`POST /queue {"delete": [id]}`. A 200 whose `node_errors` is not empty (ComfyUI queued only the outputs
that validated) fails that variation, and the prompt is removed the same way.

The graph comes from a workflow template file: the catalog route's `backend_model` names a file shipped
next to this module, or `options.workflow_path` an absolute path in the deployment. String values that
are exactly `{{prompt}}`, `{{negative_prompt}}`, `{{seed}}`, `{{width}}`, `{{height}}` or `{{cfg}}` are
replaced (numbers stay numbers).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from avatarsmith.backends.http import AsyncTaskAdapter, TaskFailed
from avatarsmith.backends.mapping import Plan, round_size, sized_plan
from avatarsmith.errors import GenerationRejectedError
from avatarsmith.models.domain import GenerationSpec

HERE = Path(__file__).resolve().parent


def fill_template(node: Any, values: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        return {k: fill_template(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [fill_template(v, values) for v in node]
    if isinstance(node, str) and node.startswith("{{") and node.endswith("}}"):
        key = node[2:-2].strip()
        if key not in values:
            raise GenerationRejectedError(f"the ComfyUI workflow template uses an unknown placeholder {node}")
        return values[key]
    return node


class ComfyUIBackend(AsyncTaskAdapter):
    name = "comfyui"
    capabilities = frozenset({"seed", "negative_prompt", "guidance_scale", "styles", "attributes"})

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def _template(self, spec: GenerationSpec) -> Any:
        path = self.options(spec).get("workflow_path")
        file = Path(path) if path else HERE / Path(spec.backend_model or "comfyui_txt2img.json").name
        try:
            return json.loads(file.read_text())
        except (OSError, ValueError) as exc:
            raise GenerationRejectedError(
                f"the ComfyUI workflow template {file.name} cannot be read"
            ) from exc

    def plan(self, spec: GenerationSpec) -> Plan:
        size = round_size(spec.output.width, spec.output.height, multiple=8, low=64, high=2048)
        return sized_plan(spec, size, negative_supported=True)

    def start_task(
        self, spec: GenerationSpec, plan: Plan, references: list[bytes], index: int
    ) -> dict[str, Any]:
        seed = spec.variation_seed(index)
        graph = fill_template(
            self._template(spec),
            {
                "prompt": plan.prompt,
                "negative_prompt": plan.negative or "",
                "seed": seed,
                "width": plan.width,
                "height": plan.height,
                "cfg": spec.guidance_scale if spec.guidance_scale is not None else 7.0,
            },
        )
        answer = self.get_json(
            "POST", f"{self.base_url}/prompt", json={"prompt": graph, "client_id": uuid.uuid4().hex}
        )
        if not answer.get("prompt_id"):
            raise GenerationRejectedError("comfyui answered without a prompt_id")
        if answer.get("node_errors"):  # queued anyway, with only the outputs that validated: take it back
            self._cancel_quietly({"id": answer["prompt_id"]})
            raise GenerationRejectedError(
                f"comfyui refused part of the workflow: {str(answer['node_errors'])[:200]}"
            )
        return {"id": answer["prompt_id"], "seed": seed}

    def check_task(self, spec: GenerationSpec, task: dict[str, Any]) -> dict[str, Any]:
        history = self.get_json("GET", f"{self.base_url}/history/{task['id']}")
        entry = history.get(task["id"]) if isinstance(history, dict) else None
        if not entry:
            return {"status": "pending"}
        status = entry.get("status") or {}
        if status.get("status_str") == "error":
            raise TaskFailed(GenerationRejectedError("comfyui reported an execution error"))
        if not status.get("completed", True):
            return {"status": "pending"}
        for node in (entry.get("outputs") or {}).values():
            for image in node.get("images") or []:
                if image.get("type", "output") == "output":
                    query = urlencode({k: image.get(k, "") for k in ("filename", "subfolder", "type")})
                    return {"status": "succeeded", "outputs": [query]}
        raise TaskFailed(GenerationRejectedError("comfyui finished without an output image"))

    def download_output(self, task: dict[str, Any]) -> bytes:
        return self.call("GET", f"{self.base_url}/view?{task['outputs'][0]}", ok=(200,)).content

    def cancel_task(self, task: dict[str, Any]) -> None:
        """Interrupt our prompt if it is the one executing; otherwise take it out of the queue."""
        queue = self.get_json("GET", f"{self.base_url}/queue")
        running = queue.get("queue_running") if isinstance(queue, dict) else None
        if any(
            isinstance(entry, list) and len(entry) > 1 and entry[1] == task["id"] for entry in running or []
        ):
            self.call("POST", f"{self.base_url}/interrupt", json={"prompt_id": task["id"]})
        else:
            self.call("POST", f"{self.base_url}/queue", json={"delete": [task["id"]]})
