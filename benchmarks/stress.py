"""`make stress`: every credit/idempotency race, 20 times in a row, two ways; figures printed.

1. Real threads against the api handler under in-process moto (a fresh account per round).
2. Real threads over HTTP against one running local stack (new tenants per round).
After every scenario the ledger must add up to the credit (balance == sum of entries, reserved == sum of
reservations, balance + reserved + charged == granted); any failure is printed and the exit code is 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _quiet() -> None:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    import logging

    logging.disable(logging.WARNING)


def _run_round(world: Any, results: Counter, failures: list[str], timings: dict[str, list[float]]) -> None:
    from tests import credit_scenarios as scenarios

    round_started = time.perf_counter()
    for name, scenario in scenarios.SCENARIOS.items():
        started = time.perf_counter()
        try:
            scenario(world)
            results[name] += 1
        except Exception:
            failures.append(f"{name}: {traceback.format_exc(limit=3)}")
        timings.setdefault(name, []).append(time.perf_counter() - started)
    done = len(timings[next(iter(timings))])
    print(
        f"  round {done}: {time.perf_counter() - round_started:5.1f} s, {len(failures)} failure(s) so far",
        flush=True,
    )


def _report(
    label: str, rounds: int, results: Counter, failures: list[str], timings: dict[str, list[float]]
) -> None:
    print(f"\n== {label}: {rounds} rounds ==")
    for name, samples in timings.items():
        mean_ms = sum(samples) / len(samples) * 1000
        print(f"{name:<18}: {results[name]:>3}/{rounds} passed   mean {mean_ms:6.0f} ms")
    for failure in failures[:5]:
        print("FAILED", failure)


def stress_handler(rounds: int) -> list[str]:
    import boto3
    from moto import mock_aws

    from avatarsmith.config import clear_settings_cache
    from avatarsmith.dal.clients import reset_clients
    from avatarsmith.logic.auth import clear_auth_cache
    from avatarsmith.logic.tenant_admin import TenantAdmin
    from local import lambda_adapter
    from local.provision import provision
    from local.template import load_template
    from tests import credit_scenarios as scenarios
    from tests.conftest import AwsAccount

    for key in ("AWS_ENDPOINT_URL", "MOTO_PORT"):
        os.environ.pop(key, None)
    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"}
    )
    results: Counter = Counter()
    failures: list[str] = []
    timings: dict[str, list[float]] = {}
    for _ in range(rounds):
        with mock_aws(config={"lambda": {"use_docker": False}}):  # type: ignore[arg-type]
            lambda_adapter.install()
            try:
                reset_clients()
                clear_auth_cache()
                provisioned = provision(
                    boto3.session.Session(), load_template(), {"EnableTestBackends": "true"}
                )
                os.environ.update(provisioned.environment)
                clear_settings_cache()
                import functions.api.app as api

                api.get_services.cache_clear()
                account = AwsAccount(provisioned.refs, provisioned.attrs, provisioned.environment, None)
                admin = TenantAdmin.for_table(provisioned.environment["TABLE_NAME"])
                world = scenarios.World(scenarios.handler_transport(), account.add_tenant, admin.audit)
                _run_round(world, results, failures, timings)
            finally:
                lambda_adapter.uninstall()
    _report("api handler under moto, real threads", rounds, results, failures, timings)
    return failures


def stress_http(rounds: int) -> list[str]:
    from avatarsmith.logic.tenant_admin import TenantAdmin
    from local.stack import EmbeddedStack
    from tests import credit_scenarios as scenarios

    results: Counter = Counter()
    failures: list[str] = []
    timings: dict[str, list[float]] = {}
    with EmbeddedStack(api_port=0, extra_env={"AVATARSMITH_TEST_BACKEND_POLL_SECONDS": "0"}) as info:
        stack_admin = TenantAdmin.for_table(info.environment["TABLE_NAME"])

        def new_tenant(name: str, *, credits: int, **limits: int) -> tuple[str, str]:
            from avatarsmith.models.billing import TenantLimits

            created = stack_admin.create_tenant(name, credits=credits, limits=TenantLimits(**limits))
            return created["tenant_id"], created["api_key"]

        world = scenarios.World(scenarios.http_transport(info.api_url), new_tenant, stack_admin.audit)
        for _ in range(rounds):
            _run_round(world, results, failures, timings)
    _report("local stack over HTTP, real threads", rounds, results, failures, timings)
    return failures


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--only", choices=("handler", "http"))
    args = parser.parse_args()
    sys.path[:0] = [str(ROOT), str(ROOT / "layers/common")]
    _quiet()
    failures: list[str] = []
    if args.only in (None, "handler"):
        failures += stress_handler(args.rounds)
    if args.only in (None, "http"):
        failures += stress_http(args.rounds)
    print(f"\n{'OK' if not failures else 'FAILED'}: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
