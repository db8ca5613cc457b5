"""Credit and idempotency races, written once and run two ways: real threads against the api handler
under moto (tests/integration/test_credits.py) and real threads over HTTP against the local stack
(tests/e2e/test_credits_http.py, and 20 times in a row by `make stress`).

A transport is `call(method, path, api_key, body=None, headers=None, query=None) -> (status, headers, body)`.
`audit(tenant_id)` reads the table directly (as the operator's `avatarsmith-admin audit` does).
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

Transport = Callable[..., tuple[int, dict[str, str], dict[str, Any]]]
COST = 1  # model "flux", one variation: with no real backend configured, the offline fallback's price


@dataclass
class World:
    call: Transport
    new_tenant: Callable[..., tuple[str, str]]  # (name, credits=..., **limits) -> (tenant id, key)
    audit: Callable[[str], dict[str, Any]]


def _race(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run fn(i) for i in range(n) on n threads released together."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _assert_balanced(world: World, tenant_id: str) -> dict[str, Any]:
    audit = world.audit(tenant_id)
    assert audit["balanced"], f"ledger does not add up: {audit}"
    assert audit["balance"] >= 0 and audit["reserved"] >= 0, audit
    return audit


def same_key_race(world: World, n: int = 32) -> dict[str, Any]:
    """n simultaneous requests with one Idempotency-Key: one job, one reservation, one answer."""
    tenant_id, key = world.new_tenant("same-key", credits=100)
    ref = f"ref-{uuid.uuid4().hex}"
    body = {"prompt": "race", "model": "flux", "client_reference_id": ref}
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    results = _race(n, lambda _i: world.call("POST", "/v1/avatars/generate", key, body=body, headers=headers))
    statuses = Counter(r[0] for r in results)
    assert statuses == {202: n}, f"statuses {statuses}: {[r[2] for r in results if r[0] != 202][:2]}"
    assert len({r[2]["id"] for r in results}) == 1, "every caller gets the same job"
    assert all(r[2] == results[0][2] for r in results), "every caller gets the same body"
    assert sum(_lower(r[1]).get("idempotent-replayed") == "true" for r in results) == n - 1
    status, _, listed = world.call("GET", "/v1/jobs", key, query={"client_reference_id": ref})
    assert status == 200 and [j["id"] for j in listed["data"]] == [results[0][2]["id"]], listed
    audit = _assert_balanced(world, tenant_id)
    assert audit["entries_by_kind"].get("reserve") == 1, f"exactly one reservation: {audit}"
    assert audit["balance"] + audit["reserved"] + audit["charged"] == 100, audit
    return {"requests": n, "jobs": 1, "balance": audit["balance"]}


def mismatched_body(world: World) -> dict[str, Any]:
    tenant_id, key = world.new_tenant("mismatch", credits=100)
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = world.call(
        "POST", "/v1/avatars/generate", key, body={"prompt": "a", "model": "flux"}, headers=headers
    )
    again = world.call(
        "POST", "/v1/avatars/generate", key, body={"model": "flux", "prompt": "a"}, headers=headers
    )
    other = world.call(
        "POST", "/v1/avatars/generate", key, body={"prompt": "b", "model": "flux"}, headers=headers
    )
    assert first[0] == 202 and again[0] == 202 and again[2] == first[2], "key order does not change a body"
    assert other[0] == 409 and other[2]["error"]["code"] == "idempotency_key_mismatch", other
    # the same key is a different key for another tenant
    _, key_b = world.new_tenant("mismatch-b", credits=100)
    mine = world.call(
        "POST", "/v1/avatars/generate", key_b, body={"prompt": "b", "model": "flux"}, headers=headers
    )
    assert mine[0] == 202 and mine[2]["id"] != first[2]["id"], "keys are scoped per tenant"
    audit = _assert_balanced(world, tenant_id)
    assert audit["entries_by_kind"].get("reserve") == 1, audit
    return {"mismatch": other[0]}


def exhaust_race(world: World, k: int = 5) -> dict[str, Any]:
    """Credits for k jobs, 3k simultaneous requests: exactly k accepted, the rest 402, the ledger balances."""
    tenant_id, key = world.new_tenant("exhaust", credits=k * COST)
    body = {"prompt": "spend", "model": "flux"}
    results = _race(3 * k, lambda _i: world.call("POST", "/v1/avatars/generate", key, body=body))
    statuses = Counter(r[0] for r in results)
    assert statuses == {202: k, 402: 2 * k}, f"statuses {statuses}"
    refused = [r for r in results if r[0] == 402]
    assert all(r[2]["error"]["code"] == "insufficient_credits" for r in refused)
    assert all(r[2]["error"]["details"][0]["cost"] == COST for r in refused)
    audit = _assert_balanced(world, tenant_id)
    assert audit["entries_by_kind"].get("reserve") == k, f"one reservation per accepted job: {audit}"
    assert audit["balance"] + audit["reserved"] + audit["charged"] == k * COST, audit
    return {"accepted": statuses[202], "refused": statuses[402], "balance": audit["balance"]}


def cross_tenant(world: World, job_body: dict[str, Any] | None = None) -> dict[str, Any]:
    """A second tenant's key sees none of the first tenant's jobs or account: 404 on every route."""
    tenant_a, key_a = world.new_tenant("owner", credits=100)
    tenant_b, key_b = world.new_tenant("intruder", credits=100)
    ref = f"ref-{uuid.uuid4().hex}"
    status, _, job = world.call(
        "POST", "/v1/avatars/generate", key_a, body=job_body or {"prompt": "mine", "client_reference_id": ref}
    )
    assert status == 202, job
    job_id = job["id"]
    for method, path in (("GET", f"/v1/jobs/{job_id}"), ("POST", f"/v1/jobs/{job_id}/cancel")):
        status, _, body = world.call(method, path, key_b)
        assert status == 404 and body["error"]["code"] == "not_found", (method, path, status, body)
    status, _, listed = world.call("GET", "/v1/jobs", key_b, query={"client_reference_id": ref})
    assert status == 200 and listed["data"] == []
    status, _, listed = world.call("GET", "/v1/jobs", key_b)
    assert all(j["id"] != job_id for j in listed["data"])
    status, _, account = world.call("GET", "/v1/account", key_b)
    assert status == 200 and account["tenant_id"] == tenant_b and account["balance"] == 100
    assert all(e.get("job_id") != job_id for e in account["recent_ledger_entries"])
    status, _, saved = world.call("POST", "/v1/avatars/save", key_b, body={"job_id": job_id})
    assert status == 404, saved
    _assert_balanced(world, tenant_a)
    _assert_balanced(world, tenant_b)
    return {"job_id": job_id, "owner": tenant_a}


def cancel_twice(world: World) -> dict[str, Any]:
    """Concurrent cancels of one job refund its credits exactly once."""
    tenant_id, key = world.new_tenant("cancel", credits=100)
    status, _, job = world.call("POST", "/v1/avatars/generate", key, body={"prompt": "x", "model": "imagen3"})
    assert status == 202
    results = _race(8, lambda _i: world.call("POST", f"/v1/jobs/{job['id']}/cancel", key))
    statuses = Counter(r[0] for r in results)
    canceled = [r for r in results if r[0] == 200]
    if not canceled:  # the job finished before the cancel (possible on a fast local stack)
        assert statuses == {409: 8}, statuses
    else:
        assert statuses == {200: 8}, statuses
        assert all(r[2]["status"] == "canceled" for r in canceled)
        assert canceled[0][2]["credits"] == {"reserved": COST, "charged": 0, "refunded": COST}
    audit = _assert_balanced(world, tenant_id)
    assert audit["entries_by_kind"].get("refund", 0) == (1 if canceled else 0), f"refunded once: {audit}"
    return {"canceled": len(canceled), "balance": audit["balance"]}


SCENARIOS: dict[str, Callable[[World], dict[str, Any]]] = {
    "same_key_race": same_key_race,
    "mismatched_body": mismatched_body,
    "exhaust_race": exhaust_race,
    "cross_tenant": cross_tenant,
    "cancel_twice": cancel_twice,
}


# --- transports ---------------------------------------------------------------------------------------
def http_transport(base_url: str) -> Transport:
    import requests

    def call(
        method: str,
        path: str,
        api_key: str | None,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        sent = dict(headers or {})
        if api_key:
            sent["Authorization"] = f"Bearer {api_key}"
        response = requests.request(
            method, base_url + path, json=body, headers=sent, params=query, timeout=60
        )
        payload = response.json() if response.content else {}
        return response.status_code, dict(response.headers), payload

    return call


_HANDLER_ROUTES = (
    ("POST", "/v1/avatars/generate", "generate_avatar", None),
    ("POST", "/v1/avatars/save", "save_avatar", None),
    ("GET", "/v1/account", "get_account", None),
    ("GET", "/v1/jobs", "list_jobs", None),
    ("POST", "/v1/jobs/{job_id}/cancel", "cancel_job", "job_id"),
    ("GET", "/v1/jobs/{job_id}", "get_job", "job_id"),
    ("GET", "/v1/avatars/{avatar_id}", "get_avatar", "avatar_id"),
    ("GET", "/v1/avatars", "list_avatars", None),
)


def handler_transport() -> Transport:
    """The api handler in-process (moto must be active), driven with the events/api fixtures."""
    from tests.integration.helpers import api_call

    def call(
        method: str,
        path: str,
        api_key: str | None,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        for route_method, template, event, param in _HANDLER_ROUTES:
            if route_method != method:
                continue
            head, _, tail = template.partition("{" + param + "}") if param else (template, "", "")
            if param and path.startswith(head) and path.endswith(tail) and len(path) > len(head + tail):
                value = path[len(head) : len(path) - len(tail)]
                if "/" not in value:
                    return api_call(
                        event,
                        api_key,
                        body=body,
                        headers=headers,
                        query=query or {},
                        path_params={param: value},
                    )
            elif not param and path == template:
                if method == "POST" and body is None:
                    body = {}
                return api_call(event, api_key, body=body, headers=headers, query=query or {})
        raise AssertionError(f"no event for {method} {path}")

    return call
