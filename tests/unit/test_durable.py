"""The durable emulator: the journal holds exactly the acknowledged writes, a torn last line is ignored,
compaction keeps everything and replays nothing twice. Each "restart" empties moto's backends, as a new
process would, and recovers from the state folder alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import boto3
import pytest
from botocore.exceptions import ClientError

from local import durable
from local.stack import free_port
from tests.tables import table_keys

TABLE = "durable-test"
BUCKET = "durable-test-bucket"


class Emulator:
    def __init__(self, state_dir: Path, compact_every: int = durable.DEFAULT_COMPACT_EVERY):
        self.state_dir = state_dir
        self.compact_every = compact_every
        self.server: Any = None
        self.url = ""

    def start(self) -> dict[str, Any]:
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()  # a new process: nothing in memory
        port = free_port()
        self.server = durable.durable_moto_server("127.0.0.1", port, self.state_dir)
        self.server.start()
        self.server.durable.compact_every = self.compact_every
        self.url = f"http://127.0.0.1:{port}"
        self.ddb.create_table(TableName=TABLE, **table_keys(sort_key=False))
        self.s3.create_bucket(Bucket=BUCKET)
        return durable.recover(self.url)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def _client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    @property
    def ddb(self) -> Any:
        return self._client("dynamodb")

    @property
    def s3(self) -> Any:
        return self._client("s3")

    def counter(self) -> int | None:
        item = self.ddb.get_item(TableName=TABLE, Key={"pk": {"S": "counter"}}).get("Item")
        return int(item["n"]["N"]) if item else None

    def bump(self) -> None:
        self.ddb.update_item(
            TableName=TABLE,
            Key={"pk": {"S": "counter"}},
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    emu = Emulator(tmp_path / "state")
    try:
        yield emu
    finally:
        emu.stop()


def test_acknowledged_writes_come_back_and_refused_ones_do_not(emulator: Emulator) -> None:
    emulator.start()
    ddb, s3 = emulator.ddb, emulator.s3
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "a"}, "v": {"S": "1"}})
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "gone"}, "v": {"S": "x"}})
    ddb.delete_item(TableName=TABLE, Key={"pk": {"S": "gone"}})
    with pytest.raises(ClientError):  # refused: must not be journaled
        ddb.put_item(
            TableName=TABLE,
            Item={"pk": {"S": "a"}, "v": {"S": "overwritten"}},
            ConditionExpression="attribute_not_exists(pk)",
        )
    ddb.transact_write_items(
        TransactItems=[{"Put": {"TableName": TABLE, "Item": {"pk": {"S": "t"}, "v": {"S": "tx"}}}}]
    )
    for _ in range(3):
        emulator.bump()
    payload = bytes(range(256)) * 40
    s3.put_object(
        Bucket=BUCKET, Key="img/0.png", Body=payload, ContentType="image/png", Metadata={"seed": "7"}
    )
    s3.put_object(Bucket=BUCKET, Key="img/tmp.png", Body=b"temp")
    s3.delete_object(Bucket=BUCKET, Key="img/tmp.png")
    emulator.stop()

    recovered = emulator.start()  # restart: nothing in memory, everything from the folder

    assert recovered["replayed"] == 10 and recovered["replay_failed"] == 0
    items = {i["pk"]["S"]: i for i in emulator.ddb.scan(TableName=TABLE)["Items"]}
    assert sorted(items) == ["a", "counter", "t"]
    assert items["a"]["v"]["S"] == "1"
    assert emulator.counter() == 3
    obj = emulator.s3.get_object(Bucket=BUCKET, Key="img/0.png")
    assert obj["Body"].read() == payload
    assert (obj["ContentType"], obj["Metadata"]) == ("image/png", {"seed": "7"})
    keys = [o["Key"] for o in emulator.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert keys == ["img/0.png"]


def test_a_torn_last_journal_line_is_ignored(emulator: Emulator) -> None:
    emulator.start()
    emulator.bump()
    emulator.bump()
    emulator.stop()
    journal = next(emulator.state_dir.glob("journal-*.log"))
    with journal.open("ab") as fh:  # the process died in the middle of writing an entry
        fh.write(b'{"method":"POST","path":"/","que')

    recovered = emulator.start()

    assert recovered["replayed"] == 2
    assert emulator.counter() == 2
    # and what is written after it survives the next restart (the torn tail was cut, not appended to)
    emulator.bump()
    emulator.stop()
    emulator.start()
    assert emulator.counter() == 3


def test_compaction_keeps_everything_and_replays_nothing_twice(tmp_path: Path) -> None:
    emulator = Emulator(tmp_path / "state", compact_every=5)
    try:
        emulator.start()
        for _ in range(12):  # crosses two compactions
            emulator.bump()
        emulator.s3.put_object(Bucket=BUCKET, Key="k", Body=b"bytes")
        snapshot = json.loads((emulator.state_dir / "snapshot.json").read_text())
        assert snapshot["generation"] >= 3
        assert len(list(emulator.state_dir.glob("journal-*.log"))) == 1
        emulator.stop()

        emulator.start()
        assert emulator.counter() == 12  # ADD is not idempotent: a double replay would show
        assert emulator.s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == b"bytes"
        emulator.bump()
        emulator.stop()

        emulator.start()
        assert emulator.counter() == 13
    finally:
        emulator.stop()


def test_compaction_waits_for_as_many_entries_as_the_state_has_records(tmp_path: Path) -> None:
    """A snapshot costs in proportion to the state: past `compact_every`, the journal grows to the last
    snapshot's size before the next one, so compaction work per write stays constant."""
    emulator = Emulator(tmp_path / "state", compact_every=5)
    try:
        emulator.start()
        for n in range(30):  # 30 items: the snapshot taken at the first compaction holds 5 of them
            emulator.ddb.put_item(TableName=TABLE, Item={"pk": {"S": f"item-{n}"}})
        stats = json.loads(urlopen(emulator.url + durable.STATS_PATH, data=b"").read())
        snapshot = json.loads((emulator.state_dir / "snapshot.json").read_text())
        held = len(snapshot["tables"][0]["items"])
        # recovery's compaction (an empty state), then at 5, 10 and 20 entries: 5, 10 and 20 records
        assert stats["compactions"] == 4 and held == 20
        assert stats["journal_entries"] == 10
        emulator.stop()
        emulator.start()
        assert len(emulator.ddb.scan(TableName=TABLE)["Items"]) == 30
    finally:
        emulator.stop()


def test_an_old_journal_left_by_a_crash_during_compaction_is_not_replayed(emulator: Emulator) -> None:
    emulator.start()
    emulator.bump()
    emulator.stop()
    emulator.start()  # recovery compacted: the snapshot holds the counter
    generation = json.loads((emulator.state_dir / "snapshot.json").read_text())["generation"]
    stale = emulator.state_dir / f"journal-{generation - 1}.log"
    stale.write_text("")  # a crash after the snapshot's rename but before the old journal's removal
    emulator.bump()
    emulator.stop()

    emulator.start()

    assert emulator.counter() == 2


def test_is_mutating_tells_writes_from_reads() -> None:
    def dynamo(op: str) -> dict[str, str]:
        return {"HTTP_X_AMZ_TARGET": f"DynamoDB_20120810.{op}", "REQUEST_METHOD": "POST", "PATH_INFO": "/"}

    def s3(method: str, path: str, query: str = "") -> dict[str, str]:
        auth = "AWS4-HMAC-SHA256 Credential=local/20261129/us-east-1/s3/aws4_request, Signature=x"
        return {
            "HTTP_AUTHORIZATION": auth,
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
        }

    assert durable.is_mutating(dynamo("TransactWriteItems"))
    assert durable.is_mutating(dynamo("UpdateItem"))
    assert not durable.is_mutating(dynamo("Query"))
    assert not durable.is_mutating(dynamo("CreateTable"))
    assert durable.is_mutating(s3("PUT", "/bucket/a/b.png"))
    assert durable.is_mutating(s3("DELETE", "/bucket/a/b.png"))
    assert durable.is_mutating(s3("POST", "/bucket", "delete"))
    assert not durable.is_mutating(s3("PUT", "/bucket"))  # bucket settings: provisioning's job
    assert not durable.is_mutating(s3("GET", "/bucket/a/b.png"))


def test_a_snapshot_holds_every_item_of_tables_with_and_without_sort_keys() -> None:
    from moto import mock_aws
    from moto.dynamodb.models import dynamodb_backends

    from local.durable_state import _unsorted_items

    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(TableName="ranged", **table_keys())
        ddb.create_table(TableName="plain", **table_keys(sort_key=False))
        for n in range(30):
            ddb.put_item(TableName="ranged", Item={"pk": {"S": f"p{n % 4}"}, "sk": {"S": f"s{n}"}})
            ddb.put_item(TableName="plain", Item={"pk": {"S": f"p{n}"}})
        tables = dynamodb_backends["123456789012"]["us-east-1"].tables
        for name in ("ranged", "plain"):
            ours = sorted(json.dumps(i.to_json(), sort_keys=True) for i in _unsorted_items(tables[name]))
            motos = sorted(json.dumps(i.to_json(), sort_keys=True) for i in tables[name].all_items())
            assert ours == motos and len(ours) == 30
