"""Bodies nested deeper than the JSON parser can follow are the caller's error (400), never a 500."""

from __future__ import annotations

import pytest

from tests.conftest import AwsAccount
from tests.integration.helpers import api_call

DEEP = "[" * 980 + "]" * 980
DEEPER = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    ("event", "path_params", "body"),
    [
        ("generate_avatar", None, '{"prompt": "x", "hints": ' + DEEP + "}"),
        ("generate_avatar", None, '{"prompt": "x", "hints": ' + DEEPER + "}"),
        ("generate_avatar", None, DEEPER),
        ("save_avatar", None, '{"job_id": ' + DEEPER + "}"),
        ("create_webhook_endpoint", None, '{"url": ' + DEEPER + "}"),
        ("rotate_webhook_endpoint_secret", {"endpoint_id": "we_x"}, DEEPER),
        ("rotate_webhook_callback_secret", None, '{"a": ' + DEEPER + "}"),
    ],
)
def test_deeply_nested_json_bodies_are_refused_in_the_envelope(
    aws: AwsAccount, event: str, path_params: dict[str, str] | None, body: str
) -> None:
    # Given a tenant, When it sends a JSON body nested ~1000 or 5000 levels deep
    _, key = aws.add_tenant("deep")
    status, _, answer = api_call(event, key, raw_body=body, path_params=path_params)
    # Then the answer is a 4xx in the error envelope, not a server error
    assert 400 <= status < 500, answer
    assert answer["error"]["code"] in ("invalid_request", "validation_error")
    assert answer["error"]["request_id"]
