"""`make cost` prices what was measured: the table's rows follow from the usage records and the price file."""

from __future__ import annotations

import json
import math

import pytest

from benchmarks.cost import PRICES_FILE, handler_ms, price
from local.metering import _write_units, item_size

PRICES = json.loads(PRICES_FILE.read_text())


def _record(function: str, memory: int, cpu: float, aws: float, calls: list[dict]) -> dict:
    return {
        "function": function,
        "memory_mb": memory,
        "cpu_ms": cpu,
        "aws_ms": aws,
        "wait_ms": 0.0,
        "calls": calls,
    }


def test_the_price_file_names_its_region_and_date() -> None:
    assert PRICES["region"] and PRICES["as_of"]


def test_handler_time_stretches_cpu_below_a_full_vcpu_but_not_waits() -> None:
    assert handler_ms(_record("F", 1769, 100, 50, []), 1769) == pytest.approx(150)
    assert handler_ms(_record("F", 512, 100, 50, []), 1769) == pytest.approx(100 * 1769 / 512 + 50)
    assert handler_ms(_record("F", 4096, 100, 50, []), 1769) == pytest.approx(150)


def test_each_row_charges_the_measured_counts() -> None:
    # Given two jobs: 2 processor invocations of 1024 MB, one EXPRESS run each, DynamoDB and S3 requests
    records = [
        _record(
            "ProcessorFunction",
            1024,
            10.2,
            40,
            [
                {"service": "dynamodb", "operation": "TransactWriteItems", "units": {"write": 10.0}},
                {"service": "s3", "operation": "PutObject", "bytes": 1000},
                {"service": "s3", "operation": "HeadObject"},
            ],
        ),
        _record(
            "ProcessorFunction",
            1024,
            0.0,
            20.5,
            [{"service": "events", "operation": "PutEvents", "entries": 1}],
        ),
    ]
    executions = [
        {"type": "EXPRESS", "duration_ms": 250, "transitions": 6, "events_put": 1},
        {"type": "EXPRESS", "duration_ms": 301, "transitions": 6, "events_put": 1},
    ]
    usage = price(records, executions, {"s3_bytes": 2000, "dynamodb_bytes": 0}, 2, PRICES, set())
    rows = {service: dollars for service, _, dollars in usage.rows}
    # Then EXPRESS: 2 requests + (300 + 400) ms at 64 MB, per job
    sfn = PRICES["stepfunctions"]
    assert rows["Step Functions EXPRESS"] == pytest.approx(
        (2 * sfn["express_per_request"] + 0.7 * (64 / 1024) * sfn["express_per_gb_second"]) / 2
    )
    # Lambda: 2 requests, ceil(10.2 * 1769 / 1024 + 40) + ceil(20.5) ms at 1 GB
    billed = math.ceil(10.2 * 1769 / 1024 + 40) + 21
    lam = PRICES["lambda"]
    expected = (2 * lam["per_request"] + billed / 1000 * lam["arm64_per_gb_second"]) / 2
    assert rows["Lambda ProcessorFunction (1024 MB)"] == pytest.approx(expected)
    # DynamoDB 10 write units; S3 one PUT, one HEAD; EventBridge 1 handler event + 2 workflow events
    assert rows["DynamoDB on demand"] == pytest.approx(
        10 * PRICES["dynamodb"]["on_demand_per_write_unit"] / 2
    )
    s3 = PRICES["s3"]
    assert rows["S3 requests"] == pytest.approx(
        (s3["put_copy_post_list_per_request"] + s3["get_head_per_request"]) / 2
    )
    assert rows["EventBridge custom events"] == pytest.approx(
        3 * PRICES["eventbridge"]["custom_event_per_event"] / 2
    )
    assert usage.total == pytest.approx(sum(rows.values()))


def test_write_units_follow_item_size_indexes_and_transactions() -> None:
    small = {"pk": {"S": "T#1"}, "sk": {"S": "JOB#1"}, "status": {"S": "queued"}}
    big = {**small, "spec": {"S": "x" * 1500}}
    assert item_size(small) < 1024 < item_size(big) < 2048
    assert _write_units(None, small) == 1  # a new item, no index key
    assert _write_units(small, big, transactional=True) == 4  # 2 KB, doubled in a transaction
    queued = {**small, "gsi1pk": {"S": "T#1#S#queued"}}
    processing = {**small, "gsi1pk": {"S": "T#1#S#processing"}}
    assert _write_units(queued, processing) == 1 + 2  # the index entry moves: a delete and a put
    assert _write_units(queued, queued, transactional=True) == 2 + 1  # index writes are not doubled


def test_sqs_counts_only_the_events_the_webhook_rule_routes() -> None:
    from benchmarks.cost import routed_to_webhooks
    from local.template import load_template

    # Given the template's rule (an event is routed unless it says no endpoint wants it)
    rule = load_template()["Resources"]["JobEventsToWebhooksRule"]["Properties"]["EventPattern"]
    assert rule["detail"]["webhook_receivers"] == [{"exists": False}, {"numeric": [">", 0]}]
    assert routed_to_webhooks({}) and routed_to_webhooks({"webhook_receivers": 2})
    assert not routed_to_webhooks({"webhook_receivers": 0})
    # When two jobs each put one workflow event, one of them routed, and the dispatcher put one event
    records = [_record("DispatcherFunction", 256, 1, 20, [{"service": "events", "operation": "PutEvents"}])]
    executions = [
        {"type": "EXPRESS", "duration_ms": 100, "transitions": 3, "events_put": 1, "events_routed": 1},
        {"type": "EXPRESS", "duration_ms": 100, "transitions": 3, "events_put": 1, "events_routed": 0},
    ]
    usage = price(
        records, executions, {"s3_bytes": 0, "dynamodb_bytes": 0}, 2, PRICES, {"DispatcherFunction"}
    )
    rows = {service: (what, dollars) for service, what, dollars in usage.rows}
    # Then 3 events are billed on the bus, and SQS counts 2 deliveries + receive and delete of 1 batch
    assert rows["EventBridge custom events"][0] == "1.50 events"
    sqs = (2 + 2) * PRICES["sqs"]["standard_per_request"] / 2
    assert rows["SQS requests"][1] == pytest.approx(sqs)
