"""Refusals, tried as an attacker would, on every route the served OpenAPI document lists (a new route is
covered without touching this file): integers given as `true`, `"2"`, `1.0`; numbers of 5,000 digits
and out of range, in bodies and in query strings; `NaN`, NUL and lone surrogates; bodies that are not
UTF-8; control characters in URLs; control, zero-width and bidi characters in labels and names. Every
answer is a 4xx in the error envelope, and nothing is stored."""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import AwsAccount, lambda_context, load_event
from tests.integration.helpers import api_call

HUGE = "9" * 5000
#: Property names whose strings are shown back as labels or names (see models/text.py).
NAME_FIELDS = {"label", "name", "description", "callback_id", "client_reference_id"}
URL_FIELDS = {"url", "callback_url"}
HOSTILE_NAMES = ["a\u202eb", "a\u200bb", "a\ufeffb", "a\u2066b", "a\r\nb", "a\x00b", "a\x1bb", "a\u2060b"]
HOSTILE_URLS = [
    "https://example.com/a\r\nX-Injected: 1",
    "https://example.com/\x00",
    "https://exa\tmple.com/",
]


def call(
    method: str,
    path: str,
    key: str | None,
    *,
    body: str | None = None,
    raw: bytes | None = None,
    query: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> tuple[int, dict[str, Any]]:
    """The api function, invoked with an HTTP API event for any route (as API Gateway builds it)."""
    from functions.api.app import lambda_handler

    event = copy.deepcopy(load_event("api/generate_avatar.json"))
    concrete = re.sub(r"\{[^}]+\}", "x_1", path)
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {path}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = concrete
    event["requestContext"]["http"]["method"] = method
    event["headers"] = {"host": "api.example.com", "content-type": content_type}
    if key:
        event["headers"]["authorization"] = f"Bearer {key}"
    names = re.findall(r"\{([^}]+)\}", path)
    event["pathParameters"] = dict.fromkeys(names, "x_1") if names else None
    event["body"], event["isBase64Encoded"] = body, False
    if raw is not None:
        event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode(), True
    if query:
        event["queryStringParameters"] = query
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    result = lambda_handler(event, lambda_context("ApiFunction", 29))
    return result["statusCode"], json.loads(result["body"]) if result.get("body") else {}


def assert_refused(status: int, reply: dict[str, Any], field: str | None = None) -> None:
    assert 400 <= status < 500 and status not in (401, 404), (status, reply)
    error = reply["error"]
    assert error["code"] and error["message"] and error["request_id"], reply
    if field is not None:
        named = {error.get("param")} | {d.get("loc") for d in error.get("details") or []}
        assert any(n and re.search(rf"(^|\.){re.escape(field)}(\.\d+)?$", n) for n in named), (field, reply)


# --- the routes and their typed fields, from the served document -------------------------------------
@pytest.fixture
def tenant(aws: AwsAccount) -> tuple[str, str]:
    return aws.add_tenant("mallory")


@pytest.fixture
def document(tenant: tuple[str, str]) -> dict[str, Any]:
    status, doc = call("GET", "/v1/openapi.json", tenant[1])
    assert status == 200
    return doc


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _variants(doc: dict[str, Any], schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    schema = _resolve(doc, schema)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            yield from _variants(doc, sub)
    yield schema


def properties(
    doc: dict[str, Any], schema: dict[str, Any], prefix: str = ""
) -> Iterator[tuple[str, set[str]]]:
    """(dotted name, JSON types it may take) of every property, nested objects included."""
    for name, types, _ in described_properties(doc, schema, prefix):
        yield name, types


def described_properties(
    doc: dict[str, Any], schema: dict[str, Any], prefix: str = ""
) -> Iterator[tuple[str, set[str], list[dict[str, Any]]]]:
    """(dotted name, JSON types, its schema variants) of every property, nested objects included."""
    for variant in _variants(doc, schema):
        for name, sub in (variant.get("properties") or {}).items():
            variants = list(_variants(doc, sub))
            types = {v.get("type") for v in variants} - {None}
            yield prefix + name, {str(t) for t in types}, variants
            for inner in variants:
                if inner.get("properties"):
                    yield from described_properties(doc, inner, prefix + name + ".")


def json_operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            content = (operation.get("requestBody") or {}).get("content") or {}
            if "application/json" in content:
                found.append((method.upper(), path, content["application/json"]["schema"]))
    assert len(found) >= 10, found
    return found


def nested(name: str, value: Any) -> dict[str, Any]:
    head, _, rest = name.partition(".")
    return {head: nested(rest, value) if rest else value}


def body_with(name: str, literal: str) -> str:
    """A JSON body with `literal` (JSON text, e.g. 5,000 digits) at the dotted `name`."""
    text = json.dumps(nested(name, "__VALUE__"))
    return text.replace('"__VALUE__"', literal)


# --- the tests ---------------------------------------------------------------------------------------
def test_integers_given_as_booleans_strings_or_decimals_are_refused_on_every_json_route(
    tenant: tuple[str, str], document: dict[str, Any]
) -> None:
    tried = 0
    for method, path, schema in json_operations(document):
        for name, types in properties(document, schema):
            if types != {"integer"} and types != {"integer", "null"}:
                continue
            for literal in ("true", '"2"', "1.0", "2.5", "false"):
                status, reply = call(method, path, tenant[1], body=body_with(name, literal))
                assert_refused(status, reply, name)
                tried += 1
    assert tried >= 60  # generate's num fields, Pi's output sizes, saves, uploads, rotations...


def test_absurdly_long_or_non_finite_numbers_are_a_400_on_every_json_route(
    tenant: tuple[str, str], document: dict[str, Any]
) -> None:
    for method, path, schema in json_operations(document):
        numeric = [n for n, t in properties(document, schema) if t & {"integer", "number"}] or ["anything"]
        for name in numeric:
            for literal in (HUGE, "-" + HUGE, "1e999", "NaN", "-Infinity", "0." + "1" * 5000):
                status, reply = call(method, path, tenant[1], body=body_with(name, literal))
                assert_refused(status, reply)
                assert (status, reply["error"]["code"]) == (400, "invalid_request"), (path, name, reply)


def test_out_of_range_integers_are_refused_naming_the_field(
    tenant: tuple[str, str], document: dict[str, Any]
) -> None:
    tried = 0
    for method, path, schema in json_operations(document):
        for name, types, variants in described_properties(document, schema):
            bounded = any("maximum" in v and "minimum" in v for v in variants)
            if "integer" not in types or not bounded:  # 302.AI's num/width/height fall back instead
                continue
            tried += 1
            for literal in ("-99999999999999999999", "99999999999999999999"):
                status, reply = call(method, path, tenant[1], body=body_with(name, literal))
                assert_refused(status, reply, name)
    assert tried >= 10


def test_query_integers_refuse_junk_and_huge_values_on_every_route(
    tenant: tuple[str, str], document: dict[str, Any]
) -> None:
    tried = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters") or []:
                kinds = {v.get("type") for v in _variants(document, parameter.get("schema") or {})}
                if parameter.get("in") != "query" or "integer" not in kinds:
                    continue
                for value in ("true", "1.5", HUGE, "-" + HUGE, "99999999999999999999", "%00", "1e3"):
                    status, reply = call(method.upper(), path, tenant[1], query={parameter["name"]: value})
                    assert_refused(status, reply)
                    tried += 1
    assert tried >= 20


def test_bodies_that_are_not_utf8_nul_or_lone_surrogates_are_refused_on_every_json_route(
    tenant: tuple[str, str], document: dict[str, Any]
) -> None:
    for method, path, _ in json_operations(document):
        for raw in (b'{"prompt": "caf\xe9"}', b'{"label": "\xff\xfe"}', b"\xc3\x28"):
            status, reply = call(method, path, tenant[1], raw=raw)
            assert (status, reply["error"]["code"]) == (400, "invalid_request"), (path, raw, reply)
        for text in ('{"prompt": "a\\u0000b"}', '{"label": "\\ud800"}', '{"x\\u0000": 1}'):
            status, reply = call(method, path, tenant[1], body=text)
            assert (status, reply["error"]["code"]) == (400, "invalid_request"), (path, text, reply)


def test_names_and_labels_with_control_zero_width_or_bidi_characters_are_refused_everywhere(
    tenant: tuple[str, str], document: dict[str, Any]
) -> None:
    tried = 0
    for method, path, schema in json_operations(document):
        for name, types in properties(document, schema):
            if name.rsplit(".", 1)[-1] not in NAME_FIELDS or "string" not in types:
                continue
            for value in HOSTILE_NAMES:
                status, reply = call(method, path, tenant[1], body=json.dumps(nested(name, value)))
                assert_refused(status, reply, None if "\x00" in value else name)
                tried += 1
    assert tried >= 60


def test_urls_with_control_characters_are_refused_everywhere(
    tenant: tuple[str, str], document: dict[str, Any]
) -> None:
    tried = 0
    for method, path, schema in json_operations(document):
        for name, types in properties(document, schema):
            leaf = name.rsplit(".", 1)[-1]
            if "string" not in types and "array" not in types:
                continue
            if leaf not in URL_FIELDS and leaf not in ("image", "reference_images"):
                continue
            for url in HOSTILE_URLS:
                value: Any = [url] if leaf == "reference_images" else url
                status, reply = call(method, path, tenant[1], body=json.dumps(nested(name, value)))
                assert_refused(status, reply, None if "\x00" in url else leaf)
                tried += 1
    assert tried >= 15


def test_nothing_hostile_was_stored(
    aws: AwsAccount, tenant: tuple[str, str], document: dict[str, Any]
) -> None:
    # Given every hostile body above sent once more with a valid prompt around it
    for method, path, _ in json_operations(document):
        for value in HOSTILE_NAMES[:3]:
            call(method, path, tenant[1], body=json.dumps({"prompt": "p", "label": value, "url": value}))
    # Then no job, avatar or webhook endpoint exists
    for listing in ("list_jobs", "list_avatars", "list_webhook_endpoints", "list_batches"):
        status, _, page = api_call(listing, tenant[1], query={})
        assert status == 200 and page["data"] == [], (listing, page)


def test_a_webhook_endpoint_url_with_crlf_is_refused_and_not_stored(tenant: tuple[str, str]) -> None:
    status, _, reply = api_call(
        "create_webhook_endpoint", tenant[1], body={"url": "https://hooks.example.com/a\r\nb"}
    )
    assert_refused(status, reply, "url")
    _, _, listed = api_call("list_webhook_endpoints", tenant[1], query={})
    assert listed["data"] == []


def test_a_label_is_kept_nfc_normalised(aws: AwsAccount, tenant: tuple[str, str]) -> None:
    from avatarsmith.dal.jobs import JobRepository
    from avatarsmith.dal.table import Table
    from tests.integration.stored_fixtures import completed_job

    job = completed_job(tenant[0])
    JobRepository(Table(aws.env["TABLE_NAME"])).create(job)
    for variation in job.variations:
        for stored in (variation.image_key, variation.thumbnail_key):
            if stored:
                aws.client("s3").put_object(Bucket=aws.env["IMAGES_BUCKET_NAME"], Key=stored, Body=b"img")
    decomposed = "Cafe\u0301 Zoe\u0308"
    status, _, saved = api_call("save_avatar", tenant[1], body={"job_id": job.id, "label": decomposed})
    assert status == 201, saved
    assert saved["label"] == "Café Zoë" and len(saved["label"]) == 8
    status, _, renamed = api_call(
        "update_avatar", tenant[1], path_params={"avatar_id": saved["id"]}, body={"label": "A\u030a"}
    )
    assert status == 200 and renamed["label"] == "\u00c5", renamed


def test_integers_as_integers_are_still_accepted(tenant: tuple[str, str]) -> None:
    status, _, job = api_call(
        "generate_avatar", tenant[1], body={"prompt": "p", "num_variations": 2, "seed": 7}
    )
    assert status == 202, job
    assert len(job["avatars"]) == 2 and job["request"]["seed"] == 7
    status, _, job = api_call(
        "generate_avatar", tenant[1], body={"prompt": "p", "guidance_scale": 7, "cfg_scale": None}
    )
    assert status == 202, job


def test_absurd_numbers_in_headers_are_refused_or_bounded(tenant: tuple[str, str]) -> None:
    status, _, reply = api_call(
        "generate_avatar", tenant[1], body={"prompt": "p"}, headers={"Cancel-After": HUGE}
    )
    assert (status, reply["error"]["param"]) == (400, "Cancel-After"), reply
    # Prefer is a preference: a huge wait is read as the longest wait allowed, never a 500
    status, _, job = api_call("generate_avatar", tenant[1], body={"prompt": "p"})
    status, _, read = api_call(
        "get_job",
        tenant[1],
        path_params={"job_id": job["id"]},
        headers={"Prefer": f"wait={HUGE}"},
    )
    assert status == 200 and read["id"] == job["id"], read


def _form(**fields: bytes) -> tuple[bytes, str]:
    boundary = "b0und4ry"
    out = b""
    for name, value in fields.items():
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value
            + b"\r\n"
        )
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_the_302ai_form_refuses_absurd_numbers_and_keeps_its_documented_fallbacks(
    tenant: tuple[str, str],
) -> None:
    for field in ("num", "width", "seed"):
        raw, content_type = _form(person_type=b"female", **{field: b"9" * 5000})
        status, reply = call("POST", "/v1/avatars/generate", tenant[1], raw=raw, content_type=content_type)
        assert (status, reply["error"]["code"], reply["error"].get("param")) == (
            400,
            "invalid_request",
            field,
        )
    raw, content_type = _form(person_type=b"female", num=b"two")
    status, reply = call("POST", "/v1/avatars/generate", tenant[1], raw=raw, content_type=content_type)
    assert_refused(status, reply, "num")
    raw, content_type = _form(
        person_type=b"male", num=b"99", width=b"99999", callback_url=b"https://x.example/\r\n"
    )
    status, reply = call("POST", "/v1/avatars/generate", tenant[1], raw=raw, content_type=content_type)
    assert_refused(status, reply, "callback_url")
    raw, content_type = _form(person_type=b"male", num=b"99", width=b"99999", height=b"1")
    status, job = call("POST", "/v1/avatars/generate", tenant[1], raw=raw, content_type=content_type)
    assert status == 202, job
    assert len(job["avatars"]) == 1 and (
        job["request"]["output"]["width"],
        job["request"]["output"]["height"],
    ) == (
        1024,
        1024,
    )
