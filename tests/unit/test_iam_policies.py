"""The IAM the template generates, through the SAM transform, for each documented parameter form: the
processor (and the api, for the catalog) may make the calls the code makes, and nothing is granted for
an unset parameter.

Calls made by the code: Powertools `get_secret` -> secretsmanager:GetSecretValue (backend secret);
Powertools `get_parameter` -> ssm:GetParameter (model catalog); bedrock-runtime `invoke_model` and
`converse` -> bedrock:InvokeModel (images; the prompt optimizer).
"""

from __future__ import annotations

import copy
import fnmatch
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from scripts.validate_template import load_template, rewrite_local_artifacts, sam_transform

ROOT = Path(__file__).resolve().parents[2]
REGION, ACCOUNT = "eu-west-1", "123456789012"
PSEUDO = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::StackName": "avatarsmith",
    "AWS::URLSuffix": "amazonaws.com",
}
NO_VALUE = object()


@cache
def _transformed() -> dict[str, Any]:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    template = load_template(ROOT / "template.yaml")
    assert not rewrite_local_artifacts(template, ROOT)
    return sam_transform(template)


class Resolver:
    """Just enough CloudFormation to evaluate the transformed template's IAM for given parameters."""

    def __init__(self, template: dict[str, Any], parameters: dict[str, str]):
        self.template = template
        self.values = {
            name: str(parameters.get(name, spec.get("Default", "")))
            for name, spec in template.get("Parameters", {}).items()
        }
        self.conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self.conditions[name]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(item) for item in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                if arg == "AWS::NoValue":
                    return NO_VALUE
                return PSEUDO.get(arg) or self.values.get(arg, arg)
            if key == "Condition":
                return self.condition(arg)
            if key.startswith("Fn::"):
                return self._function(key[4:], arg)
        out = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}

    def _function(self, name: str, arg: Any) -> Any:
        if name == "If":
            condition, yes, no = arg
            return self.resolve(yes if self.condition(condition) else no)
        if name == "GetAtt":
            return f"{arg[0]}.{arg[1]}" if isinstance(arg, list) else arg
        if name == "Sub":
            text, names = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
            for found in set(re.findall(r"\$\{([^}]+)\}", text)):
                replacement = names.get(found) or PSEUDO.get(found) or self.values.get(found, found)
                text = text.replace("${" + found + "}", str(replacement))
            return text
        args = self.resolve(arg)
        if name == "Equals":
            return args[0] == args[1]
        if name == "Not":
            return not args[0]
        if name == "And":
            return all(args)
        if name == "Or":
            return any(args)
        if name == "Join":
            return str(args[0]).join(str(a) for a in args[1])
        if name == "Split":
            return str(args[1]).split(str(args[0]))
        if name == "Select":
            return args[1][int(args[0])]
        raise AssertionError(f"Fn::{name} is not handled by this test's resolver")


def role_statements(parameters: dict[str, str], function: str) -> list[dict[str, Any]]:
    template = copy.deepcopy(_transformed())
    resolver = Resolver(template, parameters)
    role = resolver.resolve(template["Resources"][f"{function}Role"]["Properties"])
    statements: list[dict[str, Any]] = []
    for policy in role.get("Policies", []):
        document = policy["PolicyDocument"]
        entries = document["Statement"]
        statements += entries if isinstance(entries, list) else [entries]
    return statements


def allows(statements: list[dict[str, Any]], action: str, arn: str) -> bool:
    def listed(value: Any) -> list[str]:
        return value if isinstance(value, list) else [value]

    return any(
        statement.get("Effect") == "Allow"
        and any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in listed(statement.get("Action", [])))
        and any(fnmatch.fnmatchcase(arn, r) for r in listed(statement.get("Resource", [])))
        for statement in statements
    )


SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:avatarsmith/backends-AbC123"


@pytest.mark.parametrize(
    "value",
    ["avatarsmith/backends", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:avatarsmith/backends"],
)
def test_backend_secret_by_name_or_arn(value: str) -> None:
    statements = role_statements({"BackendSecretName": value}, "ProcessorFunction")
    assert allows(statements, "secretsmanager:GetSecretValue", SECRET_ARN)
    other = SECRET_ARN.replace("avatarsmith/backends", "someone-else")
    assert not allows(statements, "secretsmanager:GetSecretValue", other)
    assert not allows(
        role_statements({"BackendSecretName": value}, "ApiFunction"), "secretsmanager:*", SECRET_ARN
    )


def test_a_full_secret_arn_with_its_suffix_is_allowed_as_given() -> None:
    statements = role_statements({"BackendSecretName": SECRET_ARN}, "ProcessorFunction")
    assert allows(statements, "secretsmanager:GetSecretValue", SECRET_ARN)


def test_no_secret_no_grant() -> None:
    statements = role_statements({}, "ProcessorFunction")
    assert not allows(statements, "secretsmanager:GetSecretValue", SECRET_ARN)


@pytest.mark.parametrize(
    ("value", "arn_path"),
    [
        ("avatarsmith-catalog", "avatarsmith-catalog"),
        ("avatarsmith/catalog", "avatarsmith/catalog"),
        ("/avatarsmith/catalog", "avatarsmith/catalog"),
    ],
)
def test_model_catalog_parameter_by_name_or_path(value: str, arn_path: str) -> None:
    arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{arn_path}"
    for function in ("ApiFunction", "ProcessorFunction"):
        statements = role_statements({"ModelCatalogParameterName": value}, function)
        assert allows(statements, "ssm:GetParameter", arn), (function, statements)
        assert not allows(statements, "ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/other")
    assert not allows(role_statements({}, "ApiFunction"), "ssm:GetParameter", arn)


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:bedrock:{REGION}::foundation-model/amazon.nova-canvas-v1:0",
        "arn:aws:bedrock:us-west-2::foundation-model/stability.sd3-5-large-v1:0",  # bedrock=us-west-2
        f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/eu.amazon.nova-lite-v1:0",
        "arn:aws:bedrock:eu-central-1::foundation-model/amazon.nova-lite-v1:0",  # where the profile routes
    ],
)
def test_bedrock_models_in_the_configured_region_another_region_and_through_profiles(arn: str) -> None:
    parameters = {
        "GenerationBackends": "bedrock=us-west-2",
        "PromptOptimizerModelId": "eu.amazon.nova-lite-v1:0",
    }
    assert allows(role_statements(parameters, "ProcessorFunction"), "bedrock:InvokeModel", arn)
    assert not allows(role_statements(parameters, "ApiFunction"), "bedrock:InvokeModel", arn)
    assert (
        not allows(
            role_statements(parameters, "ProcessorFunction"),
            "bedrock:InvokeModel",
            arn.replace(f":{ACCOUNT}:", ":999999999999:"),
        )
        or "::foundation-model" in arn
    )


def test_every_bedrock_image_route_is_granted_in_its_region() -> None:
    """The explicit image-model statement lists each catalog Bedrock route's model in its route's region."""
    import json

    catalog = json.loads((ROOT / "layers/common/avatarsmith/models_catalog.json").read_text())
    wanted = {
        f"arn:aws:bedrock:{route['options']['region']}::foundation-model/{route['backend_model']}"
        for model in catalog["models"]
        for route in model["routes"]
        if route["backend"] == "bedrock"
    }
    assert wanted, "the catalog has Bedrock routes, each naming its region"
    image = [
        s
        for s in role_statements({"GenerationBackends": "bedrock"}, "ProcessorFunction")
        if s.get("Sid") == "InvokeBedrockImageModels"
    ]
    assert len(image) == 1
    for arn in wanted:
        assert allows(image, "bedrock:InvokeModel", arn), arn
    assert not allows(image, "bedrock:InvokeModel", "arn:aws:bedrock:us-east-1::foundation-model/anthropic.x")
