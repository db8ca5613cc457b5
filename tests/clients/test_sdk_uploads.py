"""Local reference files go through `POST /v1/uploads` when the server has it: the SDK sends the bytes
to the presigned S3 POST (a real one, signed by the local stack's S3 emulator) without the API key, then
puts the upload id in `reference_images`. The API here is a loopback stand-in for that route only."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import avatarsmith_client as sdk
import boto3
import httpx
import pytest
from botocore.config import Config

from local.stack import StackInfo

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "astronaut.jpg"


class UploadingApi:
    """`POST /v1/uploads` answers a real presigned POST into the stack's bucket; generate echoes a job."""

    def __init__(self, bucket: str):
        self.bucket = bucket
        self.keys: dict[str, str] = {}
        self.generate_bodies: list[dict[str, Any]] = []
        self.upload_requests: list[dict[str, Any]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if self.path == "/v1/uploads":
                    api.upload_requests.append({"body": body, "key": self.headers.get("Idempotency-Key")})
                    upload_id = f"upl_{uuid.uuid4().hex[:12]}"
                    key = f"uploads/{upload_id}"
                    api.keys[upload_id] = key
                    # as the API signs: SigV4, with the running stack's credentials (a new session reads them)
                    s3 = boto3.session.Session().client("s3", config=Config(signature_version="s3v4"))
                    post = s3.generate_presigned_post(
                        api.bucket,
                        key,
                        Conditions=[["content-length-range", 1, 15 * 1024 * 1024]],
                        ExpiresIn=300,
                    )
                    reply = {
                        "id": upload_id,
                        "upload_url": post["url"],
                        "method": "POST",
                        "fields": post["fields"],
                    }
                    self._reply(201, reply)
                else:
                    api.generate_bodies.append(body)
                    job = {
                        "id": "job_up",
                        "object": "job",
                        "status": "queued",
                        "created_at": "2026-01-01T00:00:00Z",
                    }
                    self._reply(202, job)

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def uploading_api(info: StackInfo) -> Iterator[UploadingApi]:
    api = UploadingApi(info.environment["IMAGES_BUCKET_NAME"])
    try:
        yield api
    finally:
        api.httpd.shutdown()
        api.httpd.server_close()


def test_local_files_are_uploaded_and_referenced_by_id(uploading_api: UploadingApi) -> None:
    client = sdk.Client(base_url=uploading_api.url, api_key="sk_test")
    data = FIXTURE.read_bytes()
    sent: list[httpx.Request] = []
    client._http.event_hooks["request"] = [sent.append]
    client.generate("from an upload", reference_images=[FIXTURE, "https://example.test/b.png"])
    # The API was asked for an upload of the right type and size, once per local file
    assert [r["body"] for r in uploading_api.upload_requests] == [
        {"content_type": "image/jpeg", "size": len(data)}
    ]
    # The bytes landed in the bucket through the presigned POST
    ((upload_id, key),) = uploading_api.keys.items()
    s3 = boto3.session.Session().client("s3")
    stored = s3.get_object(Bucket=uploading_api.bucket, Key=key)["Body"].read()
    assert stored == data
    # And generate referenced the upload by id; the URL went through untouched
    assert uploading_api.generate_bodies[0]["reference_images"] == [upload_id, "https://example.test/b.png"]
    assert client._uploads_supported is True
    # The API key went to the API only, never to the bucket
    api_port = httpx.URL(uploading_api.url).port
    to_bucket = [r for r in sent if r.url.port != api_port]
    to_api = [r for r in sent if r.url.port == api_port]
    assert len(to_bucket) == 1 and "authorization" not in to_bucket[0].headers
    assert len(to_api) == 2 and all(r.headers["authorization"] == "Bearer sk_test" for r in to_api)
