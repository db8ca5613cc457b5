"""The emulator admits only what AWS would: every request signed (SigV4) with the stack's credentials.

moto checks no signature: anyone who could reach its port could list and replace every tenant's images
and read the table (key hashes, webhook secrets, the thumbnail signing key). `AuthGate`, a WSGI
middleware around moto's app, verifies each request the way AWS does before moto sees it:

- `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` (every SDK call): the
  access key must be the stack's, the date within 15 minutes, the payload hash the body's, and the
  signature the one botocore's SigV4 signer computes from the canonical request and the stack's secret;
- query-string SigV4 (a presigned URL: `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
  `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Signature`): the same, and not expired;
- an unsigned browser-upload form (`POST /<bucket>`, multipart/form-data, no query) passes on to the
  POST-policy check (local/s3_post_policy.py), which refuses a form without a matching signed policy;
- CORS preflights (OPTIONS) pass, as S3 answers them without credentials.
Anything else is refused in the service's own error shape: S3's XML (403 AccessDenied,
InvalidAccessKeyId, SignatureDoesNotMatch; 400 for SigV2, which S3 buckets made since 2020 refuse),
a JSON-protocol service's `__type` document (DynamoDB, SQS, Step Functions, EventBridge: 400
MissingAuthenticationTokenException, UnrecognizedClientException, InvalidSignatureException), Lambda's
REST error, or the query protocol's ErrorResponse.

The credentials are made per state folder (`emulator.json`, mode 0600, with the emulator's port, so
links signed before a restart stay valid after it) or per stack when there is no state folder. Only the
stack's processes get them (its own environment, the function workers' environment) and
`avatarsmith-admin --local`, through the stack's pointer file (mode 0600).
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import hmac
import io
import json
import logging
import os
import re
import secrets
import string
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

log = logging.getLogger("avatarsmith.local.emulator_auth")

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_CLOCK_SKEW_SECONDS = 15 * 60  # AWS: RequestTimeTooSkewed / Signature expired beyond this
MAX_PRESIGNED_SECONDS = 7 * 24 * 3600  # SigV4 query auth's longest X-Amz-Expires
SETTINGS_FILE = "emulator.json"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_CREDENTIAL_FIELDS = re.compile(r"(\w+)=([^,\s]*)")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True)
class EmulatorCredentials:
    access_key_id: str
    secret_access_key: str

    @classmethod
    def generate(cls) -> EmulatorCredentials:
        alphabet = string.ascii_uppercase + string.digits
        key_id = "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))
        return cls(key_id, secrets.token_urlsafe(30))

    def environment(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}


# -- the state folder's emulator settings ------------------------------------------------------------
def load_settings(state_dir: Path) -> tuple[EmulatorCredentials, int | None]:
    """This state folder's credentials and emulator port (made, without a port, on the first start)."""
    path = Path(state_dir) / SETTINGS_FILE
    if path.exists():
        saved = json.loads(path.read_text())
        credentials = EmulatorCredentials(saved["aws_access_key_id"], saved["aws_secret_access_key"])
        port = saved.get("port")
        return credentials, int(port) if port else None
    return EmulatorCredentials.generate(), None


def save_settings(state_dir: Path, credentials: EmulatorCredentials, port: int) -> None:
    from .private_files import write_private

    settings = {
        "aws_access_key_id": credentials.access_key_id,
        "aws_secret_access_key": credentials.secret_access_key,
        "port": port,
    }
    write_private(Path(state_dir) / SETTINGS_FILE, json.dumps(settings, indent=2) + "\n")


# -- signing (internal callers that are not boto3 clients) --------------------------------------------
def sign_headers(
    credentials: EmulatorCredentials,
    method: str,
    url: str,
    body: bytes = b"",
    *,
    service: str = "s3",
    region: str = "us-east-1",
) -> dict[str, str]:
    """The headers that sign a plain HTTP request to the emulator (botocore's SigV4 signer)."""
    request = AWSRequest(method=method, url=url, data=body, headers={})
    signer = S3SigV4Auth if service == "s3" else SigV4Auth
    request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    signer(Credentials(credentials.access_key_id, credentials.secret_access_key), service, region).add_auth(
        request
    )
    return dict(request.headers.items())


# -- verification ------------------------------------------------------------------------------------
class Refusal(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind, self.message = kind, message


_MISSING, _UNKNOWN_KEY, _MISMATCH, _EXPIRED, _MALFORMED, _SIGV2 = (
    "missing",
    "unknown_key",
    "mismatch",
    "expired",
    "malformed",
    "sigv2",
)


def _split_query(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query.split("&") if query else []:
        key, _, value = part.partition("=")
        pairs.append((unquote(key), unquote(value)))
    return pairs


def _canonical_query(pairs: list[tuple[str, str]]) -> str:
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def _header(environ: dict[str, Any], name: str) -> str | None:
    if name == "content-type":
        return environ.get("CONTENT_TYPE")
    if name == "content-length":
        return environ.get("CONTENT_LENGTH")
    value = environ.get("HTTP_" + name.upper().replace("-", "_"))
    return None if value is None else str(value)


def _timestamp_seconds(stamp: str) -> int:
    """An X-Amz-Date (YYYYMMDDTHHMMSSZ) as epoch seconds."""
    if not re.fullmatch(r"\d{8}T\d{6}Z", stamp):
        raise Refusal(_MALFORMED, "the request's X-Amz-Date is not a valid date")
    fields = (int(stamp[0:4]), int(stamp[4:6]), int(stamp[6:8]), int(stamp[9:11]), int(stamp[11:13]))
    if not (1 <= fields[1] <= 12 and 1 <= fields[2] <= 31 and fields[3] < 24 and fields[4] < 60):
        raise Refusal(_MALFORMED, "the request's X-Amz-Date is not a valid date")
    return calendar.timegm((*fields, int(stamp[13:15]), 0, 0, 0))


@functools.lru_cache(maxsize=64)
def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """SigV4's derived key (botocore's HMAC chain), the same for every request of a day and scope."""
    signer: Any = SigV4Auth(None, service, region)  # type: ignore[arg-type]  # only its HMAC step
    key = signer._sign(f"AWS4{secret}".encode(), date)
    for part in (region, service, "aws4_request"):
        key = signer._sign(key, part)
    return bytes(key)


def expected_signature(
    credentials: EmulatorCredentials,
    *,
    method: str,
    raw_path: str,
    query: list[tuple[str, str]],
    headers: list[tuple[str, str]],
    payload_hash: str,
    timestamp: str,
    region: str,
    service: str,
) -> str:
    """The SigV4 signature the stack's secret gives this canonical request (botocore computes it)."""
    signer_class = S3SigV4Auth if service == "s3" else SigV4Auth
    signer = signer_class(
        Credentials(credentials.access_key_id, credentials.secret_access_key), service, region
    )
    canonical_headers = "\n".join(f"{name}:{' '.join(value.split())}" for name, value in headers)
    canonical_request = "\n".join(
        [
            method.upper(),
            signer._normalize_url_path(raw_path),  # type: ignore[attr-defined]
            _canonical_query(query),
            canonical_headers + "\n",
            ";".join(name for name, _ in headers),
            payload_hash,
        ]
    )
    request = AWSRequest(method=method, url="http://emulator/")
    request.context["timestamp"] = timestamp
    string_to_sign = signer.string_to_sign(request, canonical_request)
    key = _signing_key(credentials.secret_access_key, timestamp[:8], region, service)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def _scope(credential: str, credentials: EmulatorCredentials, timestamp: str) -> tuple[str, str]:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise Refusal(_MALFORMED, "the credential scope is malformed")
    key_id, date, region, service, _ = parts
    if not hmac.compare_digest(key_id, credentials.access_key_id):
        raise Refusal(_UNKNOWN_KEY, "The security token included in the request is invalid.")
    if date != timestamp[:8]:
        raise Refusal(_MALFORMED, "the credential's date is not the request's date")
    return region, service


def verify(
    environ: dict[str, Any], read_body: Callable[[], bytes], credentials: EmulatorCredentials, now: float
) -> str:
    """Check the request's signature; return the service it was signed for. Raises Refusal.
    The body is read (`read_body`) only once the access key, the date and the scheme are right."""
    raw_uri = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/"))
    parts = urlsplit(raw_uri)
    raw_path = parts.path or "/"
    query = _split_query(parts.query)
    authorization = _header(environ, "authorization") or ""
    fields = {k.lower(): v for k, v in query}
    if authorization.startswith("AWS ") or "signature" in fields or "awsaccesskeyid" in fields:
        raise Refusal(_SIGV2, "The authorization mechanism you have provided is not supported.")
    method = str(environ.get("REQUEST_METHOD", "GET"))
    if authorization:
        scheme, _, rest = authorization.partition(" ")
        given = dict(_CREDENTIAL_FIELDS.findall(rest))
        if scheme != ALGORITHM or not {"Credential", "SignedHeaders", "Signature"} <= set(given):
            raise Refusal(_MALFORMED, "the Authorization header is malformed")
        timestamp = _header(environ, "x-amz-date") or ""
        region, service = _scope(given["Credential"], credentials, timestamp)
        if abs(now - _timestamp_seconds(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
            raise Refusal(_EXPIRED, "Signature expired: the request's date is over 15 minutes from now.")
        signed_names = given["SignedHeaders"].lower().split(";")
        declared = _header(environ, "x-amz-content-sha256")
        body = read_body()
        actual = hashlib.sha256(body).hexdigest() if body else _EMPTY_SHA256
        if declared is None:
            payload_hash = actual
        elif re.fullmatch(r"[0-9a-f]{64}", declared):
            if declared != actual:
                raise Refusal(_MISMATCH, "The provided 'x-amz-content-sha256' header does not match.")
            payload_hash = declared
        else:  # UNSIGNED-PAYLOAD, STREAMING-…: the literal is what was signed
            payload_hash = declared
        signature = given["Signature"]
        signed_query = query
    elif "x-amz-signature" in fields:
        if fields.get("x-amz-algorithm") != ALGORITHM:
            raise Refusal(_MALFORMED, "X-Amz-Algorithm must be AWS4-HMAC-SHA256")
        timestamp = fields.get("x-amz-date", "")
        region, service = _scope(fields.get("x-amz-credential", ""), credentials, timestamp)
        expires = fields.get("x-amz-expires", "")
        if not expires.isdigit() or int(expires) > MAX_PRESIGNED_SECONDS:
            raise Refusal(_MALFORMED, "X-Amz-Expires must be a number of seconds up to 604800")
        signed_at = _timestamp_seconds(timestamp)
        if now > signed_at + int(expires) or signed_at > now + MAX_CLOCK_SKEW_SECONDS:
            raise Refusal(_EXPIRED, "Request has expired")
        signed_names = fields.get("x-amz-signedheaders", "").lower().split(";")
        payload_hash = UNSIGNED_PAYLOAD if service == "s3" else hashlib.sha256(read_body()).hexdigest()
        signature = fields["x-amz-signature"]
        signed_query = [(k, v) for k, v in query if k != "X-Amz-Signature"]
    else:
        raise Refusal(_MISSING, "Access Denied")
    if "host" not in signed_names:
        raise Refusal(_MALFORMED, "the signed headers must include host")
    headers = []
    for name in sorted(set(signed_names)):
        value = _header(environ, name)
        if value is None:
            raise Refusal(_MISMATCH, f"a signed header is missing: {name}")
        headers.append((name, value))
    expected = expected_signature(
        credentials,
        method=method,
        raw_path=raw_path,
        query=signed_query,
        headers=headers,
        payload_hash=payload_hash,
        timestamp=timestamp,
        region=region,
        service=service,
    )
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise Refusal(
            _MISMATCH,
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
        )
    return service


# -- refusals, in each protocol's shape ----------------------------------------------------------------
_S3_CODES = {
    _MISSING: (403, "AccessDenied"),
    _UNKNOWN_KEY: (403, "InvalidAccessKeyId"),
    _MISMATCH: (403, "SignatureDoesNotMatch"),
    _EXPIRED: (403, "AccessDenied"),
    _MALFORMED: (400, "AuthorizationQueryParametersError"),
    _SIGV2: (400, "InvalidRequest"),
}
_JSON_CODES = {
    _MISSING: "MissingAuthenticationTokenException",
    _UNKNOWN_KEY: "UnrecognizedClientException",
    _MISMATCH: "InvalidSignatureException",
    _EXPIRED: "InvalidSignatureException",
    _MALFORMED: "IncompleteSignatureException",
    _SIGV2: "IncompleteSignatureException",
}
_QUERY_CODES = {
    _MISSING: "MissingAuthenticationToken",
    _UNKNOWN_KEY: "InvalidClientTokenId",
    _MISMATCH: "SignatureDoesNotMatch",
    _EXPIRED: "SignatureDoesNotMatch",
    _MALFORMED: "IncompleteSignature",
    _SIGV2: "IncompleteSignature",
}


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def refusal_response(environ: dict[str, Any], refusal: Refusal) -> tuple[str, list[tuple[str, str]], bytes]:
    """The refusal as the addressed service answers it: (status line, headers, body)."""
    authorization = _header(environ, "authorization") or ""
    scope = re.search(r"Credential=[^/,]*/[^/,]*/[^/,]*/([^/,]*)/", authorization)
    service = scope.group(1) if scope else ""
    if _header(environ, "x-amz-target"):
        code = _JSON_CODES[refusal.kind]
        message = "Request is missing Authentication Token" if refusal.kind == _MISSING else refusal.message
        data = json.dumps({"__type": f"com.amazon.coral.service#{code}", "message": message})
        headers = [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-ErrorType", code)]
        return "400 Bad Request", headers, data.encode()
    if service in ("", "s3"):
        status, code = _S3_CODES[refusal.kind]
        if refusal.kind == _SIGV2:
            message = refusal.message + " Please use AWS4-HMAC-SHA256."
        else:
            message = refusal.message
        data = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{_xml_escape(message)}</Message>"
            "<RequestId>local</RequestId></Error>"
        )
        reason = "Forbidden" if status == 403 else "Bad Request"
        return f"{status} {reason}", [("Content-Type", "application/xml")], data.encode()
    code = _QUERY_CODES[refusal.kind]
    if service == "lambda":  # REST-JSON
        data = json.dumps({"Type": "User", "message": refusal.message})
        return (
            "403 Forbidden",
            [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)],
            data.encode(),
        )
    data = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
        f"<Message>{_xml_escape(refusal.message)}</Message></Error><RequestId>local</RequestId></ErrorResponse>"
    )
    return "403 Forbidden", [("Content-Type", "text/xml")], data.encode()


def _is_browser_form_upload(environ: dict[str, Any]) -> bool:
    """`POST /<bucket>` with a multipart form and no query: S3's POST Object, whose credential is the
    signed policy inside the form (checked by local/s3_post_policy.py)."""
    path = str(environ.get("PATH_INFO", ""))
    return (
        environ.get("REQUEST_METHOD") == "POST"
        and re.fullmatch(r"/[^/]+/?", path) is not None
        and not environ.get("QUERY_STRING")
        and str(environ.get("CONTENT_TYPE", "")).lower().startswith("multipart/form-data")
    )


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    length = str(environ.get("CONTENT_LENGTH") or "")
    if stream is None:
        return b""
    if length.isdigit():
        body = stream.read(int(length)) if int(length) else b""
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    return bytes(body)


class AuthGate:
    """The WSGI middleware: a request reaches moto only when signed with the stack's credentials."""

    def __init__(self, app: WsgiApp, credentials: EmulatorCredentials):
        self.app = app
        self.credentials = credentials
        self.refused = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        signed = _header(environ, "authorization") or "X-Amz-" in str(environ.get("QUERY_STRING", ""))
        if not signed and environ.get("REQUEST_METHOD") == "OPTIONS":
            return self.app(environ, start_response)
        if not signed and _is_browser_form_upload(environ):
            from . import s3_post_policy

            s3_post_policy.install()  # the form's policy is its credential: never left unchecked
            environ[s3_post_policy.CREDENTIALS_ENVIRON_KEY] = self.credentials.environment()
            return self.app(environ, start_response)
        try:
            verify(environ, lambda: _read_body(environ), self.credentials, time.time())
        except Refusal as refusal:
            self.refused += 1
            log.warning(
                "the emulator refused a request (%s): %s %s",
                refusal.kind,
                environ.get("REQUEST_METHOD"),
                environ.get("PATH_INFO"),
            )
            status, headers, data = refusal_response(environ, refusal)
            start_response(status, [*headers, ("Content-Length", str(len(data)))])
            return [data]
        return self.app(environ, start_response)


def credentials_from_env() -> EmulatorCredentials:
    """The credentials this process holds (the stack sets them in its environment and its workers')."""
    return EmulatorCredentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])


def stack_client(region: str, service: str) -> Any:
    """moto's client for a service integration (its endpoint, no retries, its timeouts), signed with the
    stack's credentials from this process's environment instead of moto's fixed "ak"/"sk", which the
    emulator refuses (local/emulator_auth.py)."""
    import boto3
    from botocore.config import Config
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

    credentials = credentials_from_env()  # now: boto3's default session keeps what it first resolved
    factory: Any = boto3.session.Session().client
    return factory(
        service_name=service,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        region_name=region,
        endpoint_url=f"http://localhost:{moto_server_port()}",
        config=Config(
            parameter_validation=False,
            retries={"max_attempts": 0, "total_max_attempts": 1},
            connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
            read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
        ),
    )
