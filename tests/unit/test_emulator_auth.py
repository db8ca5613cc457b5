"""The local emulator admits only what AWS would (issue 25, item 1), tried as an attacker on loopback
would: without credentials, with a forged or foreign signature, with an expired or tampered link, with a
form a web page could send. The stack's own signed calls keep working."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import boto3
import pytest
import requests
from botocore.config import Config

from local.emulator_auth import EmulatorCredentials, sign_headers
from local.emulator_server import EmulatorServer

BUCKET = "tenant-images"
SECRET_OBJECT = b"\x89PNG tenant A's avatar"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Emulator:
    url: str
    credentials: EmulatorCredentials

    def session(self, credentials: EmulatorCredentials | None = None) -> Any:
        used = credentials or self.credentials
        return boto3.session.Session(
            aws_access_key_id=used.access_key_id,
            aws_secret_access_key=used.secret_access_key,
            region_name="us-east-1",
        )

    def client(self, service: str, credentials: EmulatorCredentials | None = None, **config: Any) -> Any:
        return self.session(credentials).client(
            service, endpoint_url=self.url, config=Config(retries={"max_attempts": 1}, **config)
        )


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """One signed emulator, as the stack runs it; the stack's process holds the credentials."""
    credentials = EmulatorCredentials.generate()
    port = _free_port()
    server = EmulatorServer("127.0.0.1", port, credentials=credentials)
    server.start()
    from local import s3_post_policy

    s3_post_policy.install()
    emulator = Emulator(f"http://127.0.0.1:{port}", credentials)
    try:
        s3 = emulator.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="t_a/job/0.png", Body=SECRET_OBJECT, ContentType="image/png")
        emulator.client("dynamodb").create_table(
            TableName="secrets",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield emulator
    finally:
        server.stop()
        s3_post_policy.uninstall()


DELETE_XML = b"<Delete><Object><Key>t_a/job/0.png</Key></Object></Delete>"


def _stored(emulator: Emulator) -> bytes:
    return bytes(emulator.client("s3").get_object(Bucket=BUCKET, Key="t_a/job/0.png")["Body"].read())


def _error_code(response: requests.Response) -> str:
    text = response.text
    return text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in text else text


def _presigned_get(emulator: Emulator, key: str = "t_a/job/0.png", expires: int = 300) -> str:
    s3 = emulator.client("s3", signature_version="s3v4")
    return str(
        s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=expires)
    )


# -- the stack's own calls ----------------------------------------------------------------------------
def test_calls_signed_with_the_stack_credentials_work(emulator: Emulator) -> None:
    s3 = emulator.client("s3")
    assert s3.get_object(Bucket=BUCKET, Key="t_a/job/0.png")["Body"].read() == SECRET_OBJECT
    assert "secrets" in emulator.client("dynamodb").list_tables()["TableNames"]
    assert emulator.client("sqs").create_queue(QueueName="q")["QueueUrl"]
    fetched = requests.get(_presigned_get(emulator), timeout=10)
    assert fetched.status_code == 200 and fetched.content == SECRET_OBJECT


def test_a_plain_http_call_signed_by_the_helper_is_admitted(emulator: Emulator) -> None:
    url = f"{emulator.url}/{BUCKET}/t_a/job/0.png"
    answer = requests.get(url, headers=sign_headers(emulator.credentials, "GET", url), timeout=10)
    assert answer.status_code == 200 and answer.content == SECRET_OBJECT


# -- S3 without credentials -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", f"/{BUCKET}?list-type=2", {}),
        ("GET", "/", {}),
        ("GET", f"/{BUCKET}/t_a/job/0.png", {}),
        ("PUT", f"/{BUCKET}/t_a/job/0.png", {"data": b"replaced"}),
        ("PUT", "/new-bucket", {}),
        ("DELETE", f"/{BUCKET}/t_a/job/0.png", {}),
        (
            "POST",
            f"/{BUCKET}?delete",
            {"data": DELETE_XML},
        ),
        ("GET", "/moto-api/data.json", {}),
        ("POST", "/moto-api/reset", {}),
        ("POST", "/_avatarsmith/durable/compact", {}),
    ],
)
def test_anonymous_requests_are_refused_with_s3_s_error(
    emulator: Emulator, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    answer = requests.request(method, emulator.url + path, timeout=10, **kwargs)
    assert answer.status_code == 403, answer.text
    assert _error_code(answer) == "AccessDenied"
    assert b"t_a/job" not in answer.content
    assert (
        emulator.client("s3").get_object(Bucket=BUCKET, Key="t_a/job/0.png")["Body"].read() == SECRET_OBJECT
    )


def test_a_foreign_or_forged_signature_is_refused(emulator: Emulator) -> None:
    stranger = EmulatorCredentials.generate()
    answer = requests.get(
        f"{emulator.url}/{BUCKET}?list-type=2",
        headers=sign_headers(stranger, "GET", f"{emulator.url}/{BUCKET}?list-type=2"),
        timeout=10,
    )
    assert (answer.status_code, _error_code(answer)) == (403, "InvalidAccessKeyId")
    # the right key id with a guessed secret
    forged = EmulatorCredentials(emulator.credentials.access_key_id, "guessed")
    url = f"{emulator.url}/{BUCKET}/t_a/job/0.png"
    answer = requests.put(url, data=b"x", headers=sign_headers(forged, "PUT", url, b"x"), timeout=10)
    assert (answer.status_code, _error_code(answer)) == (403, "SignatureDoesNotMatch")
    # a real signature replayed with another body
    headers = sign_headers(emulator.credentials, "PUT", url, b"the signed body")
    answer = requests.put(url, data=b"another body", headers=headers, timeout=10)
    assert answer.status_code == 403
    assert (
        emulator.client("s3").get_object(Bucket=BUCKET, Key="t_a/job/0.png")["Body"].read() == SECRET_OBJECT
    )


# -- presigned GETs -----------------------------------------------------------------------------------
def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_a_tampered_presigned_get_is_refused(emulator: Emulator) -> None:
    url = _presigned_get(emulator)
    signature = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    assert requests.get(_with_query(url, **{"X-Amz-Signature": flipped}), timeout=10).status_code == 403
    # the same signature for another tenant's key, or a longer life
    other = url.replace("t_a/job/0.png", "t_b/job/0.png")
    assert requests.get(other, timeout=10).status_code == 403
    longer = _with_query(url, **{"X-Amz-Expires": "604800"})
    assert requests.get(longer, timeout=10).status_code == 403


def test_an_expired_presigned_get_is_refused(emulator: Emulator) -> None:
    url = _presigned_get(emulator, expires=1)
    assert requests.get(url, timeout=10).status_code == 200
    time.sleep(2.1)
    expired = requests.get(url, timeout=10)
    assert (expired.status_code, _error_code(expired)) == (403, "AccessDenied")
    assert "expired" in expired.text


def test_sigv2_links_and_any_signature_value_are_refused(emulator: Emulator) -> None:
    url = f"{emulator.url}/{BUCKET}/t_a/job/0.png"
    sigv2 = f"{url}?AWSAccessKeyId={emulator.credentials.access_key_id}&Signature=abc&Expires=9999999999"
    answer = requests.get(sigv2, timeout=10)
    assert answer.status_code == 400 and "AWS4-HMAC-SHA256" in answer.text
    signed_by_default = emulator.client("s3").generate_presigned_url(  # boto3's default is SigV2
        "get_object", Params={"Bucket": BUCKET, "Key": "t_a/job/0.png"}
    )
    assert requests.get(signed_by_default, timeout=10).status_code in (400, 403)


# -- browser-upload forms -----------------------------------------------------------------------------
def test_a_form_without_a_policy_is_refused(emulator: Emulator) -> None:
    """What any web page open in a developer's browser could send to loopback."""
    answer = requests.post(
        f"{emulator.url}/{BUCKET}",
        data={"key": "t_a/job/0.png", "Content-Type": "image/png"},
        files={"file": ("x.png", b"defaced")},
        timeout=10,
    )
    assert (answer.status_code, _error_code(answer)) == (403, "AccessDenied")
    assert (
        emulator.client("s3").get_object(Bucket=BUCKET, Key="t_a/job/0.png")["Body"].read() == SECRET_OBJECT
    )


def test_a_form_with_a_delete_field_or_a_forged_policy_is_refused(emulator: Emulator) -> None:
    s3 = emulator.client("s3", signature_version="s3v4")
    post = s3.generate_presigned_post(BUCKET, "uploads/u1", ExpiresIn=300)
    fields = dict(post["fields"])
    for forged in (
        {"key": "t_a/job/0.png", "delete": "", "policy": "e30="},
        {**fields, "key": "t_a/job/0.png"},  # a real form retargeted at another object
        {**fields, "x-amz-signature": "0" * 64},
    ):
        answer = requests.post(
            f"{emulator.url}/{BUCKET}", data=forged, files={"file": ("x.png", b"defaced")}, timeout=10
        )
        assert answer.status_code == 403, (forged, answer.text)
    assert (
        emulator.client("s3").get_object(Bucket=BUCKET, Key="t_a/job/0.png")["Body"].read() == SECRET_OBJECT
    )


def test_a_form_signed_by_the_stack_uploads_and_a_sigv2_form_does_not(emulator: Emulator) -> None:
    s3 = emulator.client("s3", signature_version="s3v4")
    post = s3.generate_presigned_post(BUCKET, "uploads/u2", ExpiresIn=300)
    answer = requests.post(post["url"], data=post["fields"], files={"file": ("a.png", b"photo")}, timeout=10)
    assert answer.status_code == 204, answer.text
    assert s3.get_object(Bucket=BUCKET, Key="uploads/u2")["Body"].read() == b"photo"
    legacy = emulator.client("s3").generate_presigned_post(BUCKET, "uploads/u3", ExpiresIn=300)
    assert "signature" in legacy["fields"]  # boto3's default presigned POST: SigV2
    refused = requests.post(legacy["url"], data=legacy["fields"], files={"file": ("a.png", b"p")}, timeout=10)
    assert refused.status_code == 400 and "AWS4-HMAC-SHA256" in refused.text


# -- other services --------------------------------------------------------------------------------------
def test_dynamodb_without_or_with_a_forged_signature_is_refused_in_its_own_shape(emulator: Emulator) -> None:
    target = {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"}
    anonymous = requests.post(emulator.url + "/", data=b"{}", headers=target, timeout=10)
    assert anonymous.status_code == 400
    assert anonymous.json()["__type"].endswith("#MissingAuthenticationTokenException")
    forged = {
        **target,
        "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
        "Authorization": "AWS4-HMAC-SHA256 Credential=local/20261129/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
    }
    answer = requests.post(emulator.url + "/", data=b"{}", headers=forged, timeout=10)
    assert answer.status_code == 400 and answer.json()["__type"].endswith("#UnrecognizedClientException")
    assert "secrets" not in answer.text
    stranger = emulator.client("dynamodb", EmulatorCredentials.generate())
    with pytest.raises(stranger.exceptions.ClientError) as refused:
        stranger.list_tables()
    assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"
    guessed = EmulatorCredentials(emulator.credentials.access_key_id, "guessed")
    with pytest.raises(stranger.exceptions.ClientError) as mismatch:
        emulator.client("dynamodb", guessed).scan(TableName="secrets")
    assert mismatch.value.response["Error"]["Code"] == "InvalidSignatureException"


@pytest.mark.parametrize("service", ["sqs", "stepfunctions", "events", "lambda", "sns"])
def test_other_services_refuse_a_stranger(emulator: Emulator, service: str) -> None:
    client = emulator.client(service, EmulatorCredentials.generate())
    calls = {
        "sqs": client.list_queues if service == "sqs" else None,
        "stepfunctions": getattr(client, "list_state_machines", None),
        "events": getattr(client, "list_event_buses", None),
        "lambda": getattr(client, "list_functions", None),
        "sns": getattr(client, "list_topics", None),
    }
    call = calls[service]
    assert call is not None
    with pytest.raises(client.exceptions.ClientError) as refused:
        call()
    code = refused.value.response["Error"]["Code"]
    assert code in {"UnrecognizedClientException", "InvalidClientTokenId"}, refused.value.response
