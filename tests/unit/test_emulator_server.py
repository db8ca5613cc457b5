"""The emulator's server keeps connections alive (one TCP connection serves many AWS calls) and still
finds every request's end; Step Functions' Lambda tasks reach the function's workers directly."""

from __future__ import annotations

import http.client
import io
import json
import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local import lambda_adapter
from local.emulator_server import EmulatorServer
from local.moto_speedups import _DirectLambda
from local.workers import FunctionError
from tests.tables import table_keys


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    port = _free_port()
    emulator = EmulatorServer("127.0.0.1", port)
    emulator.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        emulator.stop()


def _get(connection: http.client.HTTPConnection, path: str, **kwargs: Any) -> http.client.HTTPResponse:
    connection.request(kwargs.pop("method", "GET"), path, **kwargs)
    response = connection.getresponse()
    response.read()
    return response


def test_one_connection_serves_many_requests(server: str) -> None:
    connection = http.client.HTTPConnection(server, timeout=10)
    first = _get(connection, "/moto-api/data.json")
    sock = connection.sock
    assert first.status == 200 and first.getheader("Connection") != "close"
    for _ in range(5):
        assert _get(connection, "/moto-api/data.json").status == 200
    assert connection.sock is sock  # never reopened: the server kept it


def test_a_body_the_app_leaves_unread_does_not_spoil_the_next_request(server: str) -> None:
    connection = http.client.HTTPConnection(server, timeout=10)
    ignored = b'{"GET": "with a body nobody reads"}' * 100
    assert _get(connection, "/moto-api/data.json", method="GET", body=ignored).status == 200
    sock = connection.sock
    after = _get(connection, "/moto-api/data.json")
    assert after.status == 200 and connection.sock is sock


def test_chunked_requests_and_clients_that_ask_to_close_get_a_closed_connection(server: str) -> None:
    connection = http.client.HTTPConnection(server, timeout=10)
    chunked = _get(connection, "/moto-api/data.json", method="GET", body=iter([b"ab", b"cd"]))
    assert chunked.status == 200 and chunked.getheader("Connection") == "close"
    asked = http.client.HTTPConnection(server, timeout=10)
    closing = _get(asked, "/moto-api/data.json", headers={"Connection": "close"})
    assert closing.status == 200 and closing.getheader("Connection") == "close"


def test_aws_calls_over_kept_connections_answer_as_before(server: str) -> None:
    ddb = boto3.client("dynamodb", endpoint_url=f"http://{server}")
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(20):
        ddb.put_item(TableName="t", Item={"pk": {"S": f"k{i}"}, "v": {"N": str(i)}})
    assert ddb.get_item(TableName="t", Key={"pk": {"S": "k7"}})["Item"]["v"] == {"N": "7"}
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.put_item(TableName="t", Item={"pk": {"S": "k7"}}, ConditionExpression="attribute_not_exists(pk)")
    s3 = boto3.client("s3", endpoint_url=f"http://{server}")
    s3.create_bucket(Bucket="images-bucket")
    s3.put_object(Bucket="images-bucket", Key="img.png", Body=b"\x89PNG" + bytes(5000))
    head = s3.head_object(Bucket="images-bucket", Key="img.png")
    assert head["ContentLength"] == 5004  # HEAD keeps the object's length, with no body sent
    assert s3.get_object(Bucket="images-bucket", Key="img.png")["Body"].read()[:4] == b"\x89PNG"


class _EmulatorClient:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **parameters: Any) -> dict[str, Any]:
        self.calls.append(parameters)
        return {"StatusCode": 202, "Payload": io.BytesIO(b"")}


def test_step_functions_lambda_tasks_run_registered_functions_directly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[str, Any]] = []

    def invoke(name: str, event: Any) -> Any:
        seen.append((name, event))
        if event.get("fail"):
            raise FunctionError("GenerationClaimedError", "another run is generating")
        return {"ok": event["n"]}

    monkeypatch.setattr(lambda_adapter.REGISTRY, "invoke", invoke)
    monkeypatch.setattr(lambda_adapter.REGISTRY, "_specs", {"Processor": ("m", "f", 3, 128)})
    emulator = _EmulatorClient()
    client = _DirectLambda(emulator)
    arn = "arn:aws:lambda:us-east-1:123456789012:function:Processor"

    done = client.invoke(FunctionName=arn, Payload=b'{"n": 7}')
    assert done["StatusCode"] == 200 and "FunctionError" not in done
    assert json.loads(done["Payload"].read()) == {"ok": 7}

    failed = client.invoke(FunctionName=arn, Payload=b'{"fail": true}')
    assert failed["FunctionError"] == "Unhandled"  # what moto's Invoke answers, so Retry/Catch match
    assert json.loads(failed["Payload"].read()) == {
        "errorType": "GenerationClaimedError",
        "errorMessage": "another run is generating",
    }
    assert seen == [("Processor", {"n": 7}), ("Processor", {"fail": True})]
    assert emulator.calls == []

    # Asynchronous invocations and functions the stack does not run still go to the emulator.
    client.invoke(FunctionName=arn, Payload=b"{}", InvocationType="Event")
    client.invoke(FunctionName="arn:aws:lambda:us-east-1:123456789012:function:Other", Payload=b"{}")
    assert len(emulator.calls) == 2 and len(seen) == 2


# -- JSON-protocol calls without Flask around them --------------------------------------------------------
def _wsgi(app: Any, service: str, target: str, body: dict[str, Any]) -> tuple[str, dict[str, str], Any]:
    from werkzeug.test import EnvironBuilder

    headers: dict[str, str] = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": target,
        "Authorization": "AWS4-HMAC-SHA256 Credential=local/20261129/us-east-1/"
        f"{service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=0",
    }
    environ = EnvironBuilder(
        method="POST",
        path="/",
        base_url="http://127.0.0.1:5000",
        data=json.dumps(body),
        headers=list(headers.items()),
    ).get_environ()
    started: list[Any] = []
    chunks = b"".join(app(environ, lambda status, headers, exc_info=None: started.extend([status, headers])))
    ignored = {"date", "x-amzn-requestid", "x-amz-crc32", "access-control-allow-origin", "vary"}
    kept = {k.lower(): v for k, v in started[1] if k.lower() not in ignored}
    answer = json.loads(chunks) if chunks else None
    if isinstance(answer, dict):
        answer.pop("ResponseMetadata", None)
    return started[0], kept, answer


CALLS = [
    ("dynamodb", "DynamoDB_20120810.DescribeTable", {"TableName": "direct"}),
    ("dynamodb", "DynamoDB_20120810.GetItem", {"TableName": "direct", "Key": {"pk": {"S": "a"}}}),
    ("dynamodb", "DynamoDB_20120810.GetItem", {"TableName": "direct", "Key": {"pk": {"S": "missing"}}}),
    ("dynamodb", "DynamoDB_20120810.GetItem", {"TableName": "nope", "Key": {"pk": {"S": "a"}}}),
    (
        "dynamodb",
        "DynamoDB_20120810.Query",
        {
            "TableName": "direct",
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "a"}},
        },
    ),
    (
        "dynamodb",
        "DynamoDB_20120810.PutItem",
        {
            "TableName": "direct",
            "Item": {"pk": {"S": "a"}},
            "ConditionExpression": "attribute_not_exists(pk)",
        },
    ),
    ("sqs", "AmazonSQS.GetQueueUrl", {"QueueName": "direct"}),
    ("sqs", "AmazonSQS.GetQueueUrl", {"QueueName": "absent"}),
    ("events", "AWSEvents.ListEventBuses", {}),
    ("states", "AWSStepFunctions.ListStateMachines", {}),
]


@pytest.mark.parametrize(("service", "target", "body"), CALLS)
def test_json_calls_answered_without_flask_as_flask_answers_them(
    monkeypatch: pytest.MonkeyPatch, service: str, target: str, body: dict[str, Any]
) -> None:
    """The same request through moto's app and through DirectDispatch: same status, headers and body
    (the request id and date aside); and DirectDispatch really did not go through Flask."""
    from flask import Flask
    from moto import mock_aws
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from local.emulator_server import DirectDispatch

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        boto3.client("dynamodb", region_name="us-east-1").create_table(
            TableName="direct", **table_keys(sort_key=False)
        )
        boto3.client("dynamodb", region_name="us-east-1").put_item(
            TableName="direct", Item={"pk": {"S": "a"}, "n": {"N": "1"}}
        )
        boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="direct")
        moto_app = DomainDispatcherApplication(create_backend_app)
        by_flask = _wsgi(moto_app, service, target, body)
        flask_calls: list[str] = []
        original = Flask.wsgi_app

        def counted(*args: Any, **kwargs: Any) -> Any:
            flask_calls.append("flask")
            return original(*args, **kwargs)

        monkeypatch.setattr(Flask, "wsgi_app", counted)
        direct = _wsgi(DirectDispatch(moto_app), service, target, body)
    assert direct == by_flask
    assert flask_calls == []
    assert by_flask[0].split()[0] in {"200", "400"}


def test_a_browser_s_call_keeps_flask_s_cors_answer() -> None:
    from moto import mock_aws
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from local.emulator_server import DirectDispatch

    with mock_aws():
        app = DirectDispatch(DomainDispatcherApplication(create_backend_app))
        from werkzeug.test import EnvironBuilder

        browser: dict[str, str] = {
            "X-Amz-Target": "AWSEvents.ListEventBuses",
            "Origin": "http://127.0.0.1:3000",
            "Authorization": "AWS4-HMAC-SHA256 Credential=local/20261129/us-east-1/events/aws4_request, "
            "SignedHeaders=host, Signature=0",
        }
        environ = EnvironBuilder(
            method="POST", path="/", data="{}", headers=list(browser.items())
        ).get_environ()
        headers: list[Any] = []
        b"".join(app(environ, lambda status, h, exc_info=None: headers.extend(h)))
    assert any(name.lower() == "access-control-allow-origin" for name, _ in headers)


def test_step_functions_put_events_reach_the_bus_directly(server: str) -> None:
    """Plain entries through _DirectEvents: the same answer and the same delivered event as through the
    emulator's PutEvents; an entry moto refuses is refused the same way; anything else goes by HTTP."""
    from botocore.exceptions import ClientError

    from local.moto_speedups import _DirectEvents

    endpoint = f"http://{server}"
    events = boto3.client("events", endpoint_url=endpoint, region_name="us-east-1")
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
    queue = sqs.create_queue(QueueName="direct-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.create_event_bus(Name="jobs")
    events.put_rule(Name="all", EventBusName="jobs", EventPattern=json.dumps({"source": ["avatarsmith"]}))
    events.put_targets(Rule="all", EventBusName="jobs", Targets=[{"Id": "q", "Arn": arn}])

    http_calls: list[Any] = []

    class Counting:
        def __init__(self, client: Any):
            self.meta, self._request_signer = client.meta, client._request_signer
            self._client = client

        def put_events(self, **parameters: Any) -> Any:
            http_calls.append(parameters)
            return self._client.put_events(**parameters)

    direct = _DirectEvents(Counting(events))
    entry: dict[str, Any] = {
        "Source": "avatarsmith",
        "DetailType": "Job Completed",
        "Detail": json.dumps({"job_id": "j1"}),
        "EventBusName": "jobs",
        "Resources": ["arn:aws:states:us-east-1:123456789012:stateMachine:m"],
    }

    def delivered() -> dict[str, Any]:
        message = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2)["Messages"][0]
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        body = json.loads(message["Body"])
        return {k: v for k, v in body.items() if k not in ("id", "time", "ingestion-time")}

    by_http = events.put_events(Entries=[entry])
    from_http = delivered()
    answer = direct.put_events(Entries=[entry])
    assert http_calls == []
    assert delivered() == from_http
    assert set(answer) == {"FailedEntryCount", "Entries"} and answer["FailedEntryCount"] == 0
    assert [set(e) for e in answer["Entries"]] == [set(e) for e in by_http["Entries"]] == [{"EventId"}]

    malformed = {**entry, "Detail": "{not json"}
    refused = events.put_events(Entries=[malformed])
    assert direct.put_events(Entries=[malformed]) == {
        "FailedEntryCount": refused["FailedEntryCount"],
        "Entries": refused["Entries"],
    }
    assert http_calls == []

    with pytest.raises(ClientError) as too_many:  # moto's own validation, through the emulator
        direct.put_events(Entries=[entry] * 11)
    assert too_many.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as absent:
        direct.put_events(Entries=[{**entry, "EventBusName": "absent"}])
    assert absent.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert len(http_calls) == 2
