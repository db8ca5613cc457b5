"""Real Bedrock from a laptop: in a local function's process, bedrock-runtime clients made with
`boto3.client` (the Bedrock backend's and the prompt optimizer's) use the AWS profile named by
AVATARSMITH_BEDROCK_PROFILE and Bedrock's own regional endpoint; every other client keeps the execution
role's stand-in credentials and the emulator's endpoint.

Loaded by local/lambda_worker.py by path before the handler's import (it is not part of any artifact), so
the functions' code is the code that runs on AWS, where the function's IAM role reaches Bedrock.
With AWS_ENDPOINT_URL_BEDROCK_RUNTIME also set, that endpoint is used with the profile's credentials.
"""

from __future__ import annotations

import os
from typing import Any

PROFILE_ENV = "AVATARSMITH_BEDROCK_PROFILE"
ENDPOINT_ENV = "AWS_ENDPOINT_URL_BEDROCK_RUNTIME"
SERVICE = "bedrock-runtime"


def install(environ: Any = None) -> bool:
    """Route boto3.client("bedrock-runtime", ...) to the profile; False when no profile is set."""
    environ = os.environ if environ is None else environ
    profile = environ.get(PROFILE_ENV, "").strip()
    if not profile:
        return False
    import boto3
    import botocore.session

    core = botocore.session.Session(profile=profile)
    if not environ.get(ENDPOINT_ENV, "").strip():
        # AWS_ENDPOINT_URL points every client of this process at the emulator; this session alone
        # ignores it and resolves Bedrock's regional endpoint.
        core.set_config_variable("ignore_configured_endpoint_urls", True)
    bedrock_session: Any = boto3.session.Session(botocore_session=core)
    default_client: Any = boto3.client

    def client(service_name: str, *args: Any, **kwargs: Any) -> Any:
        if service_name == SERVICE:
            return bedrock_session.client(service_name, *args, **kwargs)
        return default_client(service_name, *args, **kwargs)

    setattr(boto3, "client", client)  # noqa: B010 - replace the module function for this process
    return True
