"""The local stack replaces one moto method. If a moto upgrade moves or reshapes it, fail loudly here."""

from __future__ import annotations

import inspect
from importlib.metadata import version

from moto.awslambda_simple.models import LambdaSimpleBackend


def test_moto_is_the_pinned_version() -> None:
    # Given the pin in pyproject.toml, When moto is imported, Then it is the version the adapter was built on
    assert version("moto") == "5.2.5", "moto changed: re-verify local/lambda_adapter.py, then update the pin"


def test_lambda_simple_backend_invoke_has_the_signature_the_adapter_replaces() -> None:
    params = list(inspect.signature(LambdaSimpleBackend.invoke).parameters)
    assert params == ["self", "function_name", "qualifier", "body", "headers", "response_headers"]


def test_the_adapter_installs_and_uninstalls_cleanly() -> None:
    from local import lambda_adapter

    original = LambdaSimpleBackend.invoke
    lambda_adapter.install()
    try:
        assert LambdaSimpleBackend.invoke is lambda_adapter._invoke
    finally:
        lambda_adapter.uninstall()
    assert LambdaSimpleBackend.invoke is original


def test_s3_post_handler_has_the_signature_the_policy_check_wraps() -> None:
    from moto.s3.responses import S3Response

    params = list(inspect.signature(S3Response._bucket_response_post).parameters)
    assert params == ["self", "request", "bucket_name"]


def test_s3_response_finds_the_request_path_as_the_policy_check_reads_it() -> None:
    """The check tells DeleteObjects (`?delete` in the request's own query) from a form by it."""
    from moto.s3.responses import S3Response

    request = type("Request", (), {"full_path": "/bucket?delete"})()
    assert S3Response._get_path(request) == "/bucket?delete"


def test_step_functions_service_clients_are_made_where_the_speedups_replace_them() -> None:
    """Step Functions' integrations make their clients here (with fixed credentials the emulator's gate
    refuses): local/moto_speedups.py replaces this function with clients signed by the stack."""
    from moto.stepfunctions.parser.asl.utils import boto_client

    params = list(inspect.signature(boto_client.boto_client_for).parameters)
    assert params == ["region", "service", "state_credentials"]


def test_the_post_policy_check_installs_and_uninstalls_cleanly() -> None:
    from moto.s3.responses import S3Response

    from local import s3_post_policy

    original = S3Response._bucket_response_post
    s3_post_policy.install()
    try:
        assert S3Response._bucket_response_post is s3_post_policy._post
    finally:
        s3_post_policy.uninstall()
    assert S3Response._bucket_response_post is original
