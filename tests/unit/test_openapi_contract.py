"""The OpenAPI document: generated from the routes, committed, complete, and in step with the template and
the API guide (docs/api.md).

Every check reads the document the code generates from the resolver app.py wires, so routes added in new
router modules are covered as soon as app.py includes them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from local.template import load_template
from scripts.openapi import OUTPUT, generate

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = {
    ("get", "/v1/health"),
    ("get", "/v1/openapi.json"),
    ("get", "/docs"),
    ("get", "/v1/thumbnails/{token}"),
}
ENVELOPE = "#/components/schemas/ErrorEnvelope"
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return json.loads(generate())


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, ops in spec["paths"].items() for m, op in ops.items() if m in METHODS]


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_the_committed_document_is_what_the_code_generates() -> None:
    committed = OUTPUT.read_text(encoding="utf-8")
    assert committed == generate(), "docs/openapi.json is stale: run `make openapi` and commit it"


def test_the_document_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_powertools_default_validation_error_is_not_described(spec: dict[str, Any]) -> None:
    text = json.dumps(spec)
    for name in ("HTTPValidationError", "ResponseValidationError"):
        assert name not in text


def test_every_error_answer_is_the_envelope(spec: dict[str, Any]) -> None:
    for method, path, op in _operations(spec):
        for status, answer in op["responses"].items():
            if int(status) >= 400:
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": ENVELOPE}, (method, path, status)
        assert "500" in op["responses"], (method, path)


def test_typed_input_declares_422(spec: dict[str, Any]) -> None:
    from routes.bodies import VALIDATION_400_ROUTES  # KonPro's route answers failed checks 400, as documented

    answers_400 = {(m.lower(), p) for m, p in VALIDATION_400_ROUTES}
    assert answers_400
    for method, path, op in _operations(spec):
        typed = "requestBody" in op or any(p["in"] != "path" for p in op.get("parameters", []))
        if typed and (method, path) in answers_400:
            assert "400" in op["responses"] and "422" not in op["responses"], (method, path)
        elif typed:
            assert "422" in op["responses"], (method, path)


def test_authenticated_routes_declare_security_401_and_429_with_headers(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearerAuth"]["description"],
    }
    assert (schemes["apiKeyAuth"]["type"], schemes["apiKeyAuth"]["in"], schemes["apiKeyAuth"]["name"]) == (
        "apiKey",
        "header",
        "x-api-key",
    )
    for method, path, op in _operations(spec):
        if (method, path) in PUBLIC:
            assert "security" not in op and "401" not in op["responses"], (method, path)
            continue
        assert op["security"] == [{"bearerAuth": []}, {"apiKeyAuth": []}], (method, path)
        assert "401" in op["responses"], (method, path)
        limited = op["responses"]["429"]["headers"]
        assert {"Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(limited)


def test_documented_headers_are_the_ones_the_routes_send(spec: dict[str, Any]) -> None:
    ops = {(m, p): op for m, p, op in _operations(spec)}
    assert "Location" in ops[("post", "/v1/avatars/generate")]["responses"]["202"]["headers"]
    assert "Idempotent-Replayed" in ops[("post", "/v1/avatars/generate")]["responses"]["202"]["headers"]
    assert "X-Credits-Balance" in ops[("post", "/v1/avatars/generate")]["responses"]["402"]["headers"]
    assert {"X-Credits-Balance", "Preference-Applied"} <= set(
        ops[("get", "/v1/jobs/{job_id}")]["responses"]["200"]["headers"]
    )
    assert "Location" in ops[("post", "/v1/avatars/save")]["responses"]["201"]["headers"]


PAGE_ROUTES = {("get", "/"), ("get", "/playground/{asset}"), ("get", "/playground/previews/{name}")}


def test_every_template_route_is_in_the_document_and_back(spec: dict[str, Any]) -> None:
    events = load_template()["Resources"]["ApiFunction"]["Properties"]["Events"]
    template = {
        (e["Properties"]["Method"].lower(), _shape(e["Properties"]["Path"]))
        for e in events.values()
        if e["Type"] == "HttpApi"
    }
    documented = {(m, _shape(p)) for m, p, _ in _operations(spec)}
    assert documented - template == set(), "routes the local adapter and API Gateway would not serve"
    # The playground's page and its static assets are served by the api function but are not API
    # operations: they stay out of the document, and only they may.
    pages = {(m, _shape(p)) for m, p in PAGE_ROUTES}
    assert template - documented == pages, "template routes missing from the document"


def test_the_api_guide_route_table_matches_the_document(spec: dict[str, Any]) -> None:
    guide = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    section = guide.split("# API guide (v1)", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([A-Z/]+) (/[^`]*)` \|", section, flags=re.MULTILINE)
    listed = {(method.lower(), path) for methods, path in rows for method in methods.split("/")}
    documented = {(m, p) for m, p, _ in _operations(spec)}
    assert listed - documented - PAGE_ROUTES == set(), "the API guide names routes the API does not have"
    native = {(m, p) for m, p in documented if p.startswith("/v1/") or p == "/docs"}
    assert native - listed == set(), "routes missing from the API guide's table"


def test_the_api_import_leaves_the_swagger_assets_to_the_docs_route() -> None:
    import os
    import subprocess
    import sys

    code = "import sys, app; print(sorted(m for m in sys.modules if 'swagger_ui' in m))"
    paths = [str(ROOT / "functions" / "api"), str(ROOT / "layers" / "common")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "AWS_DEFAULT_REGION": "us-east-1"}
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "[]"
