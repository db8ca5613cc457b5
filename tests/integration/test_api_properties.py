"""Property-based tests of the whole HTTP surface: generated bodies, query strings, headers and path ids
for every route template.yaml declares, sent over real HTTP on loopback to the local API adapter in
front of the api function (AWS under moto, in process).

For every request: never a 5xx; every 4xx in the error envelope; one tenant never sees another's ids;
whatever is accepted can be read back (a created job, saved avatar or endpoint is served by its GET and
every list still answers). Seeded (derandomized) and bounded, so each run sends the same few hundred
requests.

Nothing generated is fetched or called: loopback URLs are refused (the deployed default), host names are
never resolved (the guard's resolver answers IP literals only, everything else "does not resolve"), and
no worker runs here (queued jobs and webhook deliveries stay queued).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avatarsmith import urlguard
from avatarsmith.dal.avatars import AvatarRepository
from avatarsmith.dal.jobs import JobRepository
from avatarsmith.dal.table import Table
from local.http_adapter import ApiServer
from local.lambda_adapter import REGISTRY
from local.template import functions, load_template
from tests.conftest import AwsAccount, _reset_caches
from tests.integration.stored_fixtures import completed_job, saved_avatar

EXAMPLES_PER_ROUTE = 14  # x 22 routes: about 300 requests per run

# --- what is generated -------------------------------------------------------------------------------
URLS = [
    "https://93.184.215.14/hook",  # a public literal: accepted, never called (no worker runs)
    "https://example.com/a.png",  # a name: never resolved here
    "https://127.0.0.1/",
    "http://localhost:9/",
    "https://[::1]/",
    "https://169.254.169.254/latest/meta-data/",
    "https://[64:ff9b::a9fe:a9fe]/",
    "https://[64:ff9b::a00:1]/",
    "https://[::7f00:1]/",
    "https://[2002:a9fe:a9fe::]/",
    "https://[2001:0:a00:1:8000:63bf:80ff:fffe]/",
    "https://[fec0::1]/",
    "https://[::ffff:10.0.0.1]/",
    "https://2130706433/",
    "https://0x7f.1/",
    "https://user:pw@example.com/",
    "https://example.com:99999/",
    "ftp://example.com/",
    "file:///etc/passwd",
    "javascript:alert(1)",
]
FIELDS = [
    "prompt",
    "negative_prompt",
    "model",
    "style",
    "num_variations",
    "num",
    "seed",
    "width",
    "height",
    "aspect_ratio",
    "output",
    "output_format",
    "format",
    "hints",
    "metadata",
    "client_reference_id",
    "callback_url",
    "reference_images",
    "image",
    "gender",
    "age",
    "pose",
    "person_type",
    "name",
    "guidance_scale",
    "job_id",
    "label",
    "variation",
    "url",
    "events",
    "description",
    "overlap_seconds",
]
EVENT_TYPES = ["avatar.generation.completed", "avatar.generation.failed", "webhook.test", "x"]

printable = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
odd_text = st.one_of(
    st.text(max_size=40),
    st.text(printable, max_size=40),
    st.sampled_from(["", " ", "\x00", "%00", "../../etc", "null", "NaN", "1e309", "ß" * 300, "x" * 6000]),
)
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 4, 5, 2**31, 2**53 + 1]),
    st.floats(allow_nan=False, allow_infinity=False),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, odd_text, st.sampled_from(URLS))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), odd_text), inner, max_size=4),
    ),
    max_leaves=12,
)
field_values = st.one_of(
    json_values,
    st.sampled_from(URLS),
    st.lists(st.sampled_from(URLS), max_size=5),
    st.lists(st.sampled_from(EVENT_TYPES), max_size=5),
)
generic_object = st.dictionaries(st.one_of(st.sampled_from(FIELDS), odd_text), field_values, max_size=8)
plausible_generate = st.fixed_dictionaries(
    {"prompt": st.text(printable, min_size=1, max_size=60)},
    optional={
        "style": st.sampled_from(["noir", "watercolor", "pixel", "nope", ""]),
        "num_variations": st.integers(min_value=-1, max_value=5),
        "seed": st.integers(min_value=-1, max_value=2**32),
        "client_reference_id": st.one_of(st.just(""), st.text(printable, max_size=210)),
        "metadata": st.dictionaries(
            st.text(printable, max_size=41), st.text(printable, max_size=20), max_size=3
        ),
        "hints": st.dictionaries(st.text(printable, max_size=8), scalars, max_size=3),
        "callback_url": st.sampled_from(URLS),
        "reference_images": st.lists(st.sampled_from(URLS), max_size=2),
        "label": odd_text,
    },
)
nested = st.integers(min_value=1, max_value=3000).map(
    lambda n: '{"prompt":"x","hints":' + "[" * n + "]" * n + "}"
)
raw_bodies = st.one_of(
    st.binary(max_size=200).map(lambda b: b),
    nested.map(str.encode),
    st.sampled_from([b"", b"null", b"[]", b'"x"', b"{", b"{}", b'{"a":1}' * 2, b"\xff\xfe{}"]),
)


@st.composite
def bodies(draw: st.DrawFn, known: dict[str, list[str]], template: str) -> bytes | None:
    # Mostly what this route takes (so requests get past validation and reach storage), else anything.
    own = {
        "/v1/avatars/generate": "plausible",
        "/v1/avatars/save": "save",
        "/v1/webhook-endpoints": "endpoint",
    }
    fitting = own.get(
        template, "rotate" if template.endswith(("rotate-secret", "callback-secret")) else "generic"
    )
    kind = draw(st.sampled_from([fitting, fitting, fitting, "none", "raw", "generic"]))
    if kind == "rotate":
        return json.dumps(
            draw(st.dictionaries(st.sampled_from(["overlap_seconds", "x"]), scalars, max_size=2))
        ).encode()
    if kind == "none":
        return None
    if kind == "raw":
        return draw(raw_bodies)
    if kind == "generic":
        value: Any = draw(generic_object)
    elif kind == "plausible":
        value = draw(plausible_generate)
    elif kind == "save":
        value = {"job_id": draw(st.sampled_from(known["job"] + ["job_x", ""]))}
        value |= draw(
            st.fixed_dictionaries(
                {}, optional={"label": st.one_of(st.none(), odd_text), "variation": numbers}
            )
        )
    else:
        value = {"url": draw(st.sampled_from(URLS))}
        value |= draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "events": st.lists(st.sampled_from(EVENT_TYPES), max_size=4),
                    "description": st.one_of(st.none(), odd_text),
                },
            )
        )
    return json.dumps(value).encode()


QUERY_KEYS = [
    "limit",
    "offset",
    "cursor",
    "status",
    "client_reference_id",
    "job_id",
    "timeout_seconds",
    "wait_for_completion",
    "model",
    "page",
]


def _nested_cursor(depth: int) -> str:
    return base64.urlsafe_b64encode(("[" * depth + "]" * depth).encode()).decode().rstrip("=")


query_values = st.one_of(
    odd_text.filter(lambda s: "\x00" not in s),
    st.integers(min_value=-(2**40), max_value=2**40).map(str),
    st.sampled_from(["true", "completed", "queued", "failed", "bogus", "0", "1", "100", "101", "-1"]),
    st.sampled_from([1, 2, 500, 1000, 5000, 30_000]).map(_nested_cursor),
    st.binary(max_size=60).map(lambda b: base64.urlsafe_b64encode(b).decode()),
)


@st.composite
def queries(draw: st.DrawFn) -> str:
    pairs = draw(st.lists(st.tuples(st.just("cursor"), query_values), max_size=1)) + draw(
        st.lists(st.tuples(st.one_of(st.sampled_from(QUERY_KEYS), odd_text), query_values), max_size=5)
    )
    # Long-polls would wait for jobs that never run here: at most a second, or a refused value.
    pairs = [
        (k, v if k != "timeout_seconds" or not v.strip().isdigit() else str(min(int(v.strip()), 1)))
        for k, v in pairs
    ]
    if any(k == "wait_for_completion" for k, _ in pairs) and not any(
        k == "timeout_seconds" for k, _ in pairs
    ):
        pairs.append(("timeout_seconds", "0"))
    return urlencode(pairs)


header_text = st.text(printable, max_size=60).map(str.strip)


@st.composite
def headers(draw: st.DrawFn, keys: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    who = draw(st.sampled_from(["a", "a", "a", "a", "a", "b", "garbage", "none", "x-api-key"]))
    if who in ("a", "b"):
        out["Authorization"] = f"Bearer {keys[who]}"
    elif who == "x-api-key":
        out["X-Api-Key"] = keys["a"]
    elif who == "garbage":
        out["Authorization"] = draw(header_text)
    out["Content-Type"] = draw(
        st.sampled_from(
            [
                "application/json",
                "application/json; charset=utf-8",
                "application/merge-patch+json",
                "text/plain",
                "",
            ]
        )
    )
    extra = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "Idempotency-Key": header_text,
                "Prefer": st.sampled_from(["wait=0", "wait=1", "wait=abc", "respond-async", ""]),
                "Accept": header_text,
                "X-Forwarded-For": header_text,
            },
        )
    )
    return out | extra


def path_ids(known: dict[str, list[str]]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from([i for ids in known.values() for i in ids]),
        st.from_regex(r"\A(job|ava|whe|whd|ten)_[0-9a-z]{26}\Z"),
        st.text(min_size=1, max_size=80),
    )


# --- the server and its data -------------------------------------------------------------------------
def _literal_only_getaddrinfo(
    host: str, port: Any = None, *args: Any, **kwargs: Any
) -> list[tuple[Any, ...]]:
    """The resolver for this test: IP literals resolve to themselves, names never (no DNS)."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        raise socket.gaierror(socket.EAI_NONAME, "names are not resolved in this test") from None
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    return [(family, socket.SOCK_STREAM, 6, "", (str(address), int(port or 0)))]


@pytest.fixture
def surface(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.delenv("AVATARSMITH_ALLOW_LOOPBACK_URLS", raising=False)  # the deployed default
    monkeypatch.setattr(urlguard.socket, "getaddrinfo", _literal_only_getaddrinfo)
    _reset_caches()
    tenant_a, key_a = aws.add_tenant("a", max_concurrent_jobs=100_000)
    tenant_b, key_b = aws.add_tenant("b", max_concurrent_jobs=100_000)
    table = Table(aws.env["TABLE_NAME"])
    jobs, avatars = JobRepository(table), AvatarRepository(table)
    job_a, job_b = completed_job(tenant_a), completed_job(tenant_b, "at_limit")
    jobs.create(job_a)
    jobs.create(job_b)
    avatar_b = saved_avatar(tenant_b, job_b, "at_limit")
    avatars.create(avatar_b)
    api = next(d for d in functions(load_template()).values() if d.http_routes())
    REGISTRY.register(api.logical_id, api.module, api.attribute, timeout=api.timeout, memory=api.memory)
    server = ApiServer(function_name=api.logical_id, routes=api.http_routes(), port=0)
    server.start()
    try:
        yield {
            "base": f"http://127.0.0.1:{server.port}",
            "routes": api.http_routes(),
            "keys": {"a": key_a, "b": key_b},
            "known": {"job": [job_a.id, job_b.id], "avatar": [avatar_b.id]},
            "foreign": {job_b.id, avatar_b.id, tenant_b},
        }
    finally:
        server.stop()


def _assert_envelope(response: requests.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, body
        error = body["error"]
        assert isinstance(error["code"], str) and error["code"], body
        assert isinstance(error["message"], str) and error["message"], body
        assert isinstance(error["request_id"], str) and error["request_id"], body


def _read_back(session: requests.Session, base: str, auth: dict[str, str], path: str, created: dict) -> None:
    """What a create accepted is served by its GET."""
    kind = {"/v1/avatars/generate": "jobs", "/v1/avatars/save": "avatars", "/v1/webhook-endpoints": None}
    if path not in kind:
        return
    resource = kind[path] or "webhook-endpoints"
    got = session.get(f"{base}/v1/{resource}/{created['id']}", headers=auth, timeout=30)
    assert got.status_code == 200, (path, got.status_code, got.text[:500])
    assert got.json()["id"] == created["id"]


def test_every_route_answers_generated_requests_within_the_contract(surface: dict[str, Any]) -> None:
    base, keys, known, foreign = surface["base"], surface["keys"], surface["known"], surface["foreign"]
    session = requests.Session()

    def check(
        route: tuple[str, str], ids: list[str], query: str, sent_headers: dict[str, str], body: bytes | None
    ) -> None:
        method, template = route
        path = template
        for value in ids:
            start = path.find("{")
            if start < 0:
                break
            path = path[:start] + quote(value, safe="") + path[path.index("}", start) + 1 :]
        url = base + path + (f"?{query}" if query else "")
        response = session.request(method, url, headers=sent_headers, data=body, timeout=30)
        _assert_envelope(response)
        if response.status_code < 300 and sent_headers.get("Authorization", "").endswith(keys["a"]):
            # Tenant A never sees tenant B's ids.
            assert not any(f in response.text for f in foreign), (method, path, response.text[:500])
        if response.status_code in (200, 201, 202) and method == "POST":
            auth = {k: v for k, v in sent_headers.items() if k in ("Authorization", "X-Api-Key")}
            _read_back(session, base, auth, template, response.json())

    bounded = settings(
        max_examples=EXAMPLES_PER_ROUTE,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    for route in surface["routes"]:  # every route gets its share of the examples
        bounded(
            given(
                route=st.just(route),
                ids=st.lists(path_ids(known), min_size=2, max_size=2),
                query=queries(),
                sent_headers=headers(keys),
                body=bodies(known, route[1]),
            )(check)
        )()

    # Everything stored along the way is still served by every list, page after page.
    for key in keys.values():
        auth = {"Authorization": f"Bearer {key}"}
        for path in (
            "/v1/jobs",
            "/v1/avatars",
            "/v1/webhook-endpoints",
            "/v1/webhook-deliveries",
            "/v1/account",
        ):
            cursor: str | None = None
            for _ in range(100):
                params = {"limit": "7"} | ({"cursor": cursor} if cursor else {})
                listed = session.get(base + path, headers=auth, params=params, timeout=30)
                assert listed.status_code == 200, (path, listed.text[:500])
                cursor = listed.json().get("next_cursor")
                if not cursor:
                    break


def test_deeply_nested_bodies_are_a_400_on_every_json_route(surface: dict[str, Any]) -> None:
    auth = {"Authorization": f"Bearer {surface['keys']['a']}", "Content-Type": "application/json"}
    created = requests.post(
        surface["base"] + "/v1/webhook-endpoints", headers=auth, json={"url": URLS[0]}, timeout=30
    )
    assert created.status_code == 201, created.text
    json_routes = [
        "/v1/avatars/generate",
        "/v1/avatars/save",
        "/v1/webhook-endpoints",
        f"/v1/webhook-endpoints/{created.json()['id']}/rotate-secret",
        "/v1/webhook-callback-secret",
    ]
    failures: list[tuple[str, str]] = []
    for path in json_routes:
        for depth in (980, 100_000):
            body = '{"prompt":"x","hints":' + "[" * depth + "]" * depth + "}"
            response = requests.post(surface["base"] + path, headers=auth, data=body, timeout=30)
            _assert_envelope_or_record(response, failures, path)
    assert not failures, failures


def _assert_envelope_or_record(response: requests.Response, failures: list, path: str) -> None:
    try:
        _assert_envelope(response)
        assert response.status_code == 400, response.text[:300]
    except AssertionError as exc:
        failures.append((path, str(exc)[:200]))
