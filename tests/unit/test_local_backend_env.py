"""make run's backend variables: what reaches the template parameters and the functions, what is refused,
and AVATARSMITH_BEDROCK_PROFILE giving only Bedrock the profile's credentials and AWS's own endpoint."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from local import backend_env, bedrock_profile


def test_variables_become_the_template_parameters() -> None:
    local = backend_env.from_environment(
        {
            "AVATARSMITH_BACKENDS": "openai=http://127.0.0.1:9,fal=http://127.0.0.1:8",
            "AVATARSMITH_BACKEND_KEYS": '{"openai": "sk-one", "fal": "fal-two"}',
            "AVATARSMITH_PROMPT_CHAT_URL": "http://127.0.0.1:7",
            "AVATARSMITH_PROMPT_OPTIMIZER_MODEL": "amazon.nova-lite-v1:0",
            "AVATARSMITH_POLL_SECONDS": "fal=0,*=1",
            "AVATARSMITH_OFFLINE_FALLBACK": "refuse",
        }
    )
    assert local.parameters == {
        "GenerationBackends": "openai=http://127.0.0.1:9,fal=http://127.0.0.1:8",
        "PromptChatUrl": "http://127.0.0.1:7",
        "PromptOptimizerModelId": "amazon.nova-lite-v1:0",
        "BackendPollSeconds": "fal=0,*=1",
        "OfflineFallback": "refuse",
        "BackendSecretName": backend_env.LOCAL_SECRET_NAME,
    }
    assert local.keys == {"openai": "sk-one", "fal": "fal-two"}
    assert local.bedrock_env == {}
    # the console line and the object's repr name the backends, never a key
    assert "sk-one" not in local.describe() + repr(local) and "fal-two" not in repr(local)
    assert "keys for: fal, openai" in local.describe()


def test_a_bedrock_endpoint_goes_only_to_the_functions_that_call_backends() -> None:
    local = backend_env.from_environment(
        {"AVATARSMITH_BACKENDS": "bedrock", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://127.0.0.1:6"}
    )
    assert local.bedrock_env == {"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://127.0.0.1:6"}
    assert backend_env.calls_backends({"AVATARSMITH_BACKEND_SECRET": {"Ref": "BackendSecretName"}})
    assert not backend_env.calls_backends({"TABLE_NAME": {"Ref": "AvatarsmithTable"}})


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"AVATARSMITH_BACKENDS": "midjourney"}, "AVATARSMITH_BACKENDS"),
        ({"AVATARSMITH_BACKEND_KEYS": "{'openai': 'sk-quoted'}"}, "AVATARSMITH_BACKEND_KEYS"),
        ({"AVATARSMITH_BACKEND_KEYS": '{"openai": 42}'}, "AVATARSMITH_BACKEND_KEYS"),
        ({"AVATARSMITH_POLL_SECONDS": "fal=400"}, "AVATARSMITH_POLL_SECONDS"),
        ({"AVATARSMITH_BACKENDS": "bedrock"}, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME"),
        ({"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "127.0.0.1:6"}, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(backend_env.BackendSettingsError) as raised:
        backend_env.from_environment(environ)
    assert named in str(raised.value)
    assert "sk-quoted" not in str(raised.value)


def test_a_bedrock_profile_serves_bedrock_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given: a function's environment on the local stack (emulator endpoint, stand-in credentials) and a
    # profile with credentials of its own
    (tmp_path / "credentials").write_text(
        "[laptop]\naws_access_key_id = AKIAPROFILEONLY\naws_secret_access_key = profile-secret\n"
    )
    (tmp_path / "config").write_text("[profile laptop]\nregion = us-west-2\n")
    environ = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AVATARSMITH_BEDROCK_PROFILE": "laptop",
    }
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setattr(boto3, "client", boto3.client)  # restored after the test
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # credentials read afresh, as in a new worker
    # When: the worker installs the profile
    assert bedrock_profile.install(environ)
    bedrock = boto3.client("bedrock-runtime", region_name="eu-central-1")
    s3 = boto3.client("s3")
    # Then: Bedrock has the profile's key and AWS's regional endpoint; S3 stays on the emulator
    assert bedrock.meta.endpoint_url == "https://bedrock-runtime.eu-central-1.amazonaws.com"
    assert bedrock._request_signer._credentials.access_key == "AKIAPROFILEONLY"
    assert s3.meta.endpoint_url == "http://127.0.0.1:4566"
    assert s3._request_signer._credentials.access_key == "local"


def test_no_profile_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(boto3, "client", boto3.client)
    original = boto3.client
    assert not bedrock_profile.install({})
    assert boto3.client is original
