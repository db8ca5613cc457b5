"""The emulator speedups replace moto/jsonpath_ng names: they must exist, keep results, and uninstall."""

from __future__ import annotations

import importlib
import types
from typing import Any

import pytest

from local import moto_speedups
from tests.tables import table_keys


@pytest.fixture
def in_process_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3 clients for moto's in-process mock: no emulator endpoint, a region and test credentials."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def _current() -> dict[str, object]:
    out: dict[str, object] = {}
    for module_name, attribute in moto_speedups._JSONPATH_SITES:
        out[f"{module_name}.{attribute}"] = getattr(importlib.import_module(module_name), attribute)
    for module_name in moto_speedups._CLIENT_SITES:
        out[f"{module_name}.boto_client_for"] = importlib.import_module(module_name).boto_client_for
    worker = importlib.import_module(moto_speedups._WORKER).ExecutionWorker
    out["entrypoint"] = worker._get_evaluation_entrypoint
    dispatcher = importlib.import_module(moto_speedups._DISPATCHER).DomainDispatcherApplication
    out["dispatcher"] = dispatcher.get_application
    table = importlib.import_module(moto_speedups._TABLE).Table
    out["query"], out["put"], out["delete"] = table.query, table.put_item, table.delete_item
    responses = importlib.import_module(moto_speedups._RESPONSES)
    out["method_names"] = responses.method_names_from_class
    out["camelcase"] = responses.camelcase_to_underscores
    serializer = importlib.import_module(moto_speedups._SERIALIZE).BaseJSONSerializer
    out["attribute_values"] = serializer._serialize_type_structure
    sqs = importlib.import_module(moto_speedups._SQS)
    out["queue_attributes"] = sqs.SQSBackend.get_queue_attributes
    out["send_message"] = sqs.SQSBackend.send_message
    for name in ("messages", "approximate_number_of_messages", "approximate_number_of_messages_delayed"):
        out[name] = sqs.Queue.__dict__[name]
    return out


def test_install_replaces_every_site_and_uninstall_restores_them() -> None:
    before = _current()
    moto_speedups.install()
    try:
        during = _current()
        assert all(during[name] is not before[name] for name in before)
    finally:
        moto_speedups.uninstall()
    assert _current() == before


def test_cached_jsonpath_parse_finds_the_same_values() -> None:
    from jsonpath_ng.ext import parse as original

    document = {"job": {"images": [{"key": "a"}, {"key": "b"}]}}
    moto_speedups.install()
    try:
        from jsonpath_ng.ext import parse

        first, second = parse("$.job.images[*].key"), parse("$.job.images[*].key")
        assert first is second
        assert [m.value for m in first.find(document)] == ["a", "b"]
    finally:
        moto_speedups.uninstall()
    assert [m.value for m in original("$.job.images[*].key").find(document)] == ["a", "b"]


def test_one_parsed_program_per_definition() -> None:
    worker_cls = importlib.import_module(moto_speedups._WORKER).ExecutionWorker
    definition = '{"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}'

    def worker(text: str) -> object:
        details = types.SimpleNamespace(state_machine_details=types.SimpleNamespace(definition=text))
        return types.SimpleNamespace(_evaluation_details=details)

    moto_speedups.install()
    try:
        entry = worker_cls._get_evaluation_entrypoint
        assert entry(worker(definition)) is entry(worker(definition))
        other = definition.replace("Done", "End")
        assert entry(worker(other)) is not entry(worker(definition))
    finally:
        moto_speedups.uninstall()


def test_a_signed_request_finds_the_same_backend_app_as_moto_does() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    dispatcher = DomainDispatcherApplication(create_backend_app)
    scope = "Credential=local/20260101/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=x"

    def environ(service: str, target: str = "") -> dict[str, str]:
        return {
            "PATH_INFO": "/",
            "HTTP_HOST": "127.0.0.1:5000",
            "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 " + scope.format(service),
            "HTTP_X_AMZ_TARGET": target,
            "CONTENT_TYPE": "application/x-amz-json-1.0",
            "CONTENT_LENGTH": "0",
        }

    requests = [environ("dynamodb", "DynamoDB_20120810.GetItem"), environ("sqs", "AmazonSQS.SendMessage")]
    requests.append(environ("states", "AWSStepFunctions.StartExecution"))
    expected = [dispatcher.get_application(e) for e in requests]
    assert len({id(app) for app in expected}) == 3
    moto_speedups.install()
    try:
        for _ in range(2):
            assert [dispatcher.get_application(e) for e in requests] == expected
    finally:
        moto_speedups.uninstall()


def test_partition_queries_answer_exactly_as_moto_does(in_process_aws: None) -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        ddb = boto3.client("dynamodb")
        ddb.create_table(TableName="t", **table_keys())
        for tenant in ("T#a", "T#b"):
            for prefix in ("JOB#", "WHE#", "LED#"):
                for i in range(7):
                    ddb.put_item(
                        TableName="t",
                        Item={"pk": {"S": tenant}, "sk": {"S": f"{prefix}{i:03d}"}, "n": {"N": str(i)}},
                    )
        queries = [
            {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "T#a"}}},
            {
                "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                "ExpressionAttributeValues": {":p": {"S": "T#a"}, ":s": {"S": "WHE#"}},
                "Limit": 3,
            },
            {
                "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                "ExpressionAttributeValues": {":p": {"S": "T#b"}, ":s": {"S": "LED#"}},
                "ScanIndexForward": False,
                "Limit": 4,
            },
            {
                "KeyConditionExpression": "pk = :p AND sk BETWEEN :x AND :y",
                "ExpressionAttributeValues": {
                    ":p": {"S": "T#a"},
                    ":x": {"S": "JOB#002"},
                    ":y": {"S": "LED#004"},
                },
                "FilterExpression": "n > :z",
                "ExpressionAttributeValues2": None,
            },
            {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "T#none"}}},
        ]
        queries[3].pop("ExpressionAttributeValues2")
        queries[3]["ExpressionAttributeValues"][":z"] = {"N": "1"}

        def pages(query: dict) -> list[dict]:
            out, start = [], None
            while True:
                kwargs = {"TableName": "t", **query, **({"ExclusiveStartKey": start} if start else {})}
                page = ddb.query(**kwargs)
                out.append({k: page.get(k) for k in ("Items", "Count", "LastEvaluatedKey")})
                start = page.get("LastEvaluatedKey")
                if not start:
                    return out

        expected = [pages(q) for q in queries]
        moto_speedups.install()
        try:
            assert [pages(q) for q in queries] == expected
        finally:
            moto_speedups.uninstall()


def test_queue_counts_and_attributes_answer_as_moto_does(in_process_aws: None) -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
        for i in range(12):
            sqs.send_message(QueueUrl=url, MessageBody=str(i), DelaySeconds=300 if i % 4 == 0 else 0)
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=4)
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesDelayed",
            "ApproximateNumberOfMessagesNotVisible",
            "MessageRetentionPeriod",
            "VisibilityTimeout",
        ]
        expected = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        assert expected["ApproximateNumberOfMessages"] == "5"
        moto_speedups.install()
        try:
            assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"] == expected
            every = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            assert {k: every[k] for k in names} == expected
            received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
            assert len(received) == 5
            try:
                sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["NoSuchAttribute"])
                raise AssertionError("an unknown attribute name must still be refused")
            except sqs.exceptions.ClientError as exc:
                assert "InvalidAttributeName" in str(exc)
        finally:
            moto_speedups.uninstall()


def test_action_lookup_remembered_per_class_gives_moto_s_answers() -> None:
    from moto.core.utils import camelcase_to_underscores, method_names_from_class
    from moto.dynamodb.responses import DynamoHandler
    from moto.sqs.responses import SQSResponse

    moto_speedups.install()
    try:
        responses = importlib.import_module(moto_speedups._RESPONSES)
        for handler in (DynamoHandler, SQSResponse, DynamoHandler):
            assert responses.method_names_from_class(handler) == method_names_from_class(handler)
        for action in ("TransactWriteItems", "GetItem", "SendMessageBatch", "ListQueues", ""):
            assert responses.camelcase_to_underscores(action) == camelcase_to_underscores(action)
    finally:
        moto_speedups.uninstall()


def test_dynamodb_items_serialised_as_moto_serialises_them() -> None:
    """Rich items (every attribute kind, nested, binary, empty and unicode strings) read back through
    every read path: the same raw JSON bodies with the plain-value writer installed as without."""
    import base64

    import boto3
    from moto import mock_aws

    item = {
        "pk": {"S": "tenant#1"},
        "sk": {"S": "job#ü"},
        "n": {"N": "-12.50"},
        "empty": {"S": ""},
        "yes": {"BOOL": True},
        "no": {"BOOL": False},
        "nothing": {"NULL": True},
        "names": {"SS": ["a", "b"]},
        "counts": {"NS": ["1", "2.5"]},
        "doc": {
            "M": {"x": {"N": "1"}, "deep": {"L": [{"S": "é"}, {"M": {"t": {"BOOL": False}}}, {"NULL": True}]}}
        },
        "list": {"L": [{"N": "3"}, {"SS": ["z"]}]},
        "blob": {"B": base64.b64decode("aGVsbG8=")},
        "blobs": {"BS": [b"\x00\x01", b"\xff"]},
        "mixed": {"M": {"bin": {"B": b"\x02"}, "s": {"S": "v"}}},
    }

    def bodies() -> list[bytes]:
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            raw: list[bytes] = []
            client.meta.events.register(
                "before-parse.dynamodb.*", lambda response_dict, **_: raw.append(response_dict["body"])
            )
            client.create_table(TableName="t", **table_keys())
            raw.clear()
            key = {"pk": item["pk"], "sk": item["sk"]}
            client.put_item(TableName="t", Item=item, ReturnValues="ALL_OLD")
            client.get_item(TableName="t", Key=key)
            client.query(
                TableName="t",
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": item["pk"]},
            )
            client.scan(TableName="t")
            client.batch_get_item(RequestItems={"t": {"Keys": [key]}})
            client.transact_get_items(TransactItems=[{"Get": {"TableName": "t", "Key": key}}])
            client.update_item(
                TableName="t",
                Key=key,
                UpdateExpression="SET n = :n",
                ExpressionAttributeValues={":n": {"N": "7"}},
                ReturnValues="ALL_NEW",
            )
            client.delete_item(TableName="t", Key=key, ReturnValues="ALL_OLD")
            return [bytes(body) for body in raw]

    by_moto = bodies()
    moto_speedups.install()
    try:
        ours = bodies()
    finally:
        moto_speedups.uninstall()
    assert len(by_moto) == 8
    assert ours == by_moto
    assert b'"yes": {"BOOL": true}' in by_moto[1] or b'"yes":{"BOOL":true}' in by_moto[1]


def test_prefix_queries_follow_puts_and_deletes(in_process_aws: None) -> None:
    """The sorted keys behind prefix queries are kept as items come and go (puts, overwrites, updates
    that create, transactions, deletes, deletes of nothing): every query matches a full scan's answer."""
    import random

    import boto3
    from moto import mock_aws

    rng = random.Random(7)
    moto_speedups.install()
    try:
        with mock_aws():
            ddb = boto3.client("dynamodb")
            ddb.create_table(TableName="t", **table_keys())

            def key(tenant: str, sk: str) -> dict[str, Any]:
                return {"pk": {"S": tenant}, "sk": {"S": sk}}

            def check(tenant: str, prefix: str) -> None:
                queried = ddb.query(
                    TableName="t",
                    KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
                    ExpressionAttributeValues={":p": {"S": tenant}, ":s": {"S": prefix}},
                )["Items"]
                scanned = ddb.scan(
                    TableName="t",
                    FilterExpression="pk = :p AND begins_with(sk, :s)",
                    ExpressionAttributeValues={":p": {"S": tenant}, ":s": {"S": prefix}},
                )["Items"]
                assert queried == sorted(scanned, key=lambda item: item["sk"]["S"])

            prefixes = ["job#", "webhook#", "ledger#", "job#0", "é#", "j"]
            for step in range(300):
                tenant = rng.choice(["tenant#a", "tenant#b"])
                sk = f"{rng.choice([*prefixes[:3], 'é#'])}{rng.randrange(40):03d}"
                action = rng.randrange(5)
                if action == 0:
                    ddb.put_item(TableName="t", Item={**key(tenant, sk), "n": {"N": str(step)}})
                elif action == 1:
                    ddb.delete_item(TableName="t", Key=key(tenant, sk))
                elif action == 2:
                    ddb.update_item(
                        TableName="t",
                        Key=key(tenant, sk),
                        UpdateExpression="SET n = :n",
                        ExpressionAttributeValues={":n": {"N": str(step)}},
                    )
                elif action == 3:
                    ddb.transact_write_items(
                        TransactItems=[
                            {"Put": {"TableName": "t", "Item": {**key(tenant, sk), "t": {"S": "x"}}}},
                            {"Delete": {"TableName": "t", "Key": key(tenant, sk + "-gone")}},
                        ]
                    )
                else:
                    check(tenant, rng.choice(prefixes))
            for tenant in ("tenant#a", "tenant#b", "tenant#none"):
                for prefix in prefixes:
                    check(tenant, prefix)
    finally:
        moto_speedups.uninstall()


def test_sending_does_not_count_the_queue(in_process_aws: None) -> None:
    """SendMessage under a backlog: no pass over the queue's messages, same messages and counts after."""
    import boto3
    from moto import mock_aws

    moto_speedups.install()
    try:
        with mock_aws():
            sqs = boto3.client("sqs")
            url = sqs.create_queue(QueueName="q")["QueueUrl"]
            fifo = sqs.create_queue(
                QueueName="q.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
            )["QueueUrl"]
            for n in range(50):
                sqs.send_message(QueueUrl=url, MessageBody=str(n))
            from moto.sqs.models import sqs_backends

            queue = sqs_backends["123456789012"]["us-east-1"].queues["q"]
            passes: list[int] = []
            real = type(queue._messages)

            class Watched(real):  # type: ignore[misc, valid-type]
                def __iter__(self):  # type: ignore[no-untyped-def]
                    passes.append(1)
                    return super().__iter__()

            queue._messages = Watched(queue._messages)
            sqs.send_message(QueueUrl=url, MessageBody="one more")
            assert passes == []
            sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")
            sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")  # deduplicated by content
            counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            fifo_counts = sqs.get_queue_attributes(
                QueueUrl=fifo, AttributeNames=["ApproximateNumberOfMessages"]
            )
    finally:
        moto_speedups.uninstall()
    assert counts["Attributes"]["ApproximateNumberOfMessages"] == "51"
    assert fifo_counts["Attributes"]["ApproximateNumberOfMessages"] == "1"
