"""Table definitions the emulator tests create: a partition key `pk`, a sort key `sk` when asked for,
string-typed, on-demand billing (`create_table(TableName=..., **table_keys())`)."""

from __future__ import annotations

from typing import Any


def table_keys(*, sort_key: bool = True, more_attributes: tuple[str, ...] = ()) -> dict[str, Any]:
    names = ["pk", *(["sk"] if sort_key else [])]
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    if sort_key:
        schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
    return {
        "KeySchema": schema,
        "AttributeDefinitions": [
            {"AttributeName": n, "AttributeType": "S"} for n in [*names, *more_attributes]
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
