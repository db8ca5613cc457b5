"""local/moto_expressions.py answers every UpdateItem, TransactWriteItems and condition as moto does.

Each case runs twice on a fresh table, through boto3 and moto's request handler: once with moto as it
is, once with the expressions installed. The item afterwards, the response's Attributes and any error
(code and message) must be the same. The common forms must also really skip moto's update validator,
and everything else must really go to moto.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local import moto_expressions
from tests.tables import table_keys

TABLE = "exprs"
KEY = {"pk": {"S": "tenant#1"}, "sk": {"S": "job#1"}}
ITEM = {
    **KEY,
    "balance": {"N": "100"},
    "reserved": {"N": "1.5"},
    "label": {"S": "hello"},
    "gsi1pk": {"S": "tenant#1"},
    "tags": {"SS": ["a", "b"]},
    "doc": {"M": {"x": {"N": "1"}}},
    "status": {"S": "queued"},
}


@pytest.fixture
def validator_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every time moto's own update validator runs (only on the way to moto's update_item)."""
    import moto.dynamodb.models as models

    calls: list[str] = []
    original = models.UpdateExpressionValidator

    class Counting(original):  # type: ignore[misc, valid-type]
        def validate(self) -> Any:
            calls.append("validate")
            return super().validate()

    monkeypatch.setattr(models, "UpdateExpressionValidator", Counting)
    return calls


@pytest.fixture
def ddb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            **table_keys(more_attributes=("gsi1pk",)),
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "gsi1",
                    "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        yield client


def _outcome(client: Any, call: Any, seed: dict[str, Any] | None) -> dict[str, Any]:
    for item in client.scan(TableName=TABLE, ConsistentRead=True)["Items"]:
        client.delete_item(TableName=TABLE, Key={"pk": item["pk"], "sk": item["sk"]})
    if seed is not None:
        client.put_item(TableName=TABLE, Item=seed)
    try:
        response = call(client)
        result: dict[str, Any] = {"attributes": response.get("Attributes")}
    except ClientError as error:
        result = {"error": error.response["Error"].get("Code"), "message": error.response["Error"]["Message"]}
        result["old"] = error.response.get("Item")
        result["reasons"] = error.response.get("CancellationReasons")
    result["item"] = client.get_item(TableName=TABLE, Key=KEY, ConsistentRead=True).get("Item")
    return result


def _both(
    client: Any, call: Any, seed: dict[str, Any] | None = ITEM, calls: list[str] | None = None
) -> tuple[dict[str, Any], int, int]:
    """The outcome (the same both ways), and how often moto's validator ran without and with ours."""
    calls = calls if calls is not None else []
    moto_expressions.uninstall()
    with_moto = _outcome(client, call, seed)
    by_moto = len(calls)
    moto_expressions.install()
    try:
        with_ours = _outcome(client, call, seed)
    finally:
        moto_expressions.uninstall()
    assert with_ours == with_moto
    return with_ours, by_moto, len(calls) - by_moto


def update(
    expression: str, values: dict[str, Any] | None = None, names: dict[str, str] | None = None, **extra: Any
):
    def call(client: Any) -> Any:
        arguments: dict[str, Any] = {"TableName": TABLE, "Key": KEY, "UpdateExpression": expression, **extra}
        if values is not None:
            arguments["ExpressionAttributeValues"] = values
        if names is not None:
            arguments["ExpressionAttributeNames"] = names
        return client.update_item(**arguments)

    return call


N = {"N": "1"}
Case = tuple[str, Any, Any, dict[str, Any]]
COMMON: list[Case] = [
    ("SET label = :v", {":v": {"S": "bye"}}, None, {}),
    ("set label = :v, balance = :n", {":v": {"S": "x"}, ":n": {"N": "7"}}, None, {"ReturnValues": "ALL_NEW"}),
    (
        "SET balance = balance - :cost, reserved = if_not_exists(reserved, :zero) + :cost, "
        "running = if_not_exists(running, :zero) + :one, updated_at = :now",
        {":cost": {"N": "2.25"}, ":zero": {"N": "0"}, ":one": N, ":now": {"S": "2026-11-29T10:00:00Z"}},
        None,
        {"ReturnValues": "UPDATED_OLD"},
    ),
    ("SET balance = label2", None, None, {}),  # an attribute that does not exist: moto's error, via moto
    (
        "SET expires_at = :exp ADD submits :one",
        {":exp": {"N": "99"}, ":one": N},
        None,
        {"ReturnValues": "UPDATED_NEW"},
    ),
    ("ADD balance :one", {":one": {"N": "-3"}}, None, {}),
    (
        "SET #a0 = :v0, #a1 = :v1 REMOVE #r0, #r1",
        {":v0": {"S": "running"}, ":v1": {"L": [{"S": "x"}, {"M": {"k": N}}]}},
        {"#a0": "status", "#a1": "images", "#r0": "label", "#r1": "nothing"},
        {"ReturnValues": "ALL_OLD"},
    ),
    (
        "SET #s = :to",
        {":to": {"S": "running"}, ":from": {"S": "queued"}},
        {"#s": "status"},
        {"ConditionExpression": "#s IN (:from)"},
    ),
    (
        "SET #s = :to",
        {":to": {"S": "running"}, ":from": {"S": "done"}},
        {"#s": "status"},
        {"ConditionExpression": "#s IN (:from)", "ReturnValuesOnConditionCheckFailure": "ALL_OLD"},
    ),
    ("SET gsi1pk = :g", {":g": {"S": "tenant#2"}}, None, {}),
    ("SET flag = :t, nothing = :null", {":t": {"BOOL": True}, ":null": {"NULL": True}}, None, {}),
]
REFUSED: list[Case] = [  # each an error from moto; the fast path must not answer them differently
    ("SET label = :missing", {":v": {"S": "x"}}, None, {}),
    ("SET #nope = :v", {":v": {"S": "x"}}, {"#n": "label"}, {}),
    ("SET label = :v, label = :w", {":v": {"S": "x"}, ":w": {"S": "y"}}, None, {}),
    ("SET sk = :v", {":v": {"S": "x"}}, None, {}),
    ("SET gsi1pk = :n", {":n": N}, None, {}),
    ("SET gsi1pk = :e", {":e": {"S": ""}}, None, {}),
    ("SET status = :v", {":v": {"S": "x"}}, None, {}),
    ("SET label = label + :one", {":one": N}, None, {}),
    ("SET balance = missing - :one", {":one": N}, None, {}),
    ("ADD label :one", {":one": N}, None, {}),
    ("SET label = :v SET balance = :v", {":v": N}, None, {}),
    ("SET label = :v", {":v": {"S": "x"}, ":unused": N}, None, {}),
]
OTHER_FORMS: list[Case] = [  # valid, but not the common form: moto's update_item answers them
    ("SET doc.x = :v", {":v": {"N": "2"}}, None, {}),
    ("ADD tags :t", {":t": {"SS": ["c"]}}, None, {}),
    ("DELETE tags :t", {":t": {"SS": ["a"]}}, None, {}),
    (
        "SET items2 = list_append(if_not_exists(items2, :empty), :l)",
        {":empty": {"L": []}, ":l": {"L": [N]}},
        None,
        {},
    ),
]


@pytest.mark.parametrize(("expression", "values", "names", "extra"), COMMON)
def test_common_forms_give_moto_s_answer_without_moto_s_validator(
    ddb: Any, validator_calls: list[str], expression: str, values: Any, names: Any, extra: Any
) -> None:
    outcome, _, by_ours = _both(ddb, update(expression, values, names, **extra), calls=validator_calls)
    if expression != "SET balance = label2":
        assert "error" not in outcome or outcome["error"] == "ConditionalCheckFailedException"
        assert by_ours == 0, "the installed run went to moto's update_item"


@pytest.mark.parametrize(("expression", "values", "names", "extra"), REFUSED)
def test_requests_moto_refuses_are_refused_the_same_way(
    ddb: Any, expression: str, values: Any, names: Any, extra: Any
) -> None:
    assert "error" in _both(ddb, update(expression, values, names, **extra))[0]


@pytest.mark.parametrize(("expression", "values", "names", "extra"), OTHER_FORMS)
def test_other_forms_go_to_moto(
    ddb: Any, validator_calls: list[str], expression: str, values: Any, names: Any, extra: Any
) -> None:
    outcome, by_moto, by_ours = _both(ddb, update(expression, values, names, **extra), calls=validator_calls)
    assert "error" not in outcome
    assert by_moto >= 1 and by_ours == by_moto


def test_an_update_creates_the_item_it_does_not_find(ddb: Any, validator_calls: list[str]) -> None:
    outcome, by_moto, by_ours = _both(
        ddb,
        update(
            "SET expires_at = :exp ADD submits :one", {":exp": {"N": "60"}, ":one": N}, ReturnValues="ALL_NEW"
        ),
        seed=None,
        calls=validator_calls,
    )
    assert outcome["item"] == {**KEY, "expires_at": {"N": "60"}, "submits": N}
    assert (by_moto, by_ours) == (2, 0)  # moto validates a new item's update twice


def test_transactions_with_updates_and_conditions(ddb: Any) -> None:
    def transaction(cost: str) -> Any:
        def call(client: Any) -> Any:
            return client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": TABLE,
                            "Key": KEY,
                            "UpdateExpression": "SET balance = balance - :cost ADD submits :one",
                            "ConditionExpression": "attribute_exists(pk) AND balance >= :cost AND "
                            "(attribute_not_exists(submits) OR submits < :limit)",
                            "ExpressionAttributeValues": {
                                ":cost": {"N": cost},
                                ":one": N,
                                ":limit": {"N": "5"},
                            },
                        }
                    },
                    {
                        "Put": {
                            "TableName": TABLE,
                            "Item": {"pk": {"S": "tenant#1"}, "sk": {"S": "job#2"}, "n": N},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )

        return call

    assert "error" not in _both(ddb, transaction("40"))[0]
    refused = _both(ddb, transaction("400"))[0]
    assert refused["error"] == "TransactionCanceledException"


def test_a_cached_condition_still_reads_this_request_s_values(ddb: Any) -> None:
    """One expression text, different values: each request is judged by its own."""
    moto_expressions.install()
    try:
        ddb.put_item(TableName=TABLE, Item=ITEM)
        judged = []
        for limit in ("101", "100", "101", "99"):
            try:
                ddb.update_item(
                    TableName=TABLE,
                    Key=KEY,
                    UpdateExpression="SET label = :v",
                    ConditionExpression="balance < :limit",
                    ExpressionAttributeValues={":v": {"S": limit}, ":limit": {"N": limit}},
                )
                judged.append(True)
            except ClientError as error:
                assert error.response["Error"]["Code"] == "ConditionalCheckFailedException"
                judged.append(False)
        assert judged == [True, False, True, False]
    finally:
        moto_expressions.uninstall()


def test_uninstall_restores_moto() -> None:
    import moto.dynamodb.responses as responses
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.models import DynamoDBBackend

    before = (DynamoDBBackend.update_item, ConditionExpressionParser.parse, responses.UpdateExpressionParser)
    moto_expressions.install()
    try:
        assert DynamoDBBackend.update_item is not before[0]
        assert ConditionExpressionParser.parse is not before[1]
        assert responses.UpdateExpressionParser is not before[2]
    finally:
        moto_expressions.uninstall()
    assert (
        DynamoDBBackend.update_item,
        ConditionExpressionParser.parse,
        responses.UpdateExpressionParser,
    ) == before
