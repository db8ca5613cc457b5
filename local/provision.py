"""Create, with plain boto3 against the moto server, every resource template.yaml declares.

(moto's CloudFormation cannot create a SAM-transformed stack its Step Functions engine can use.)
`!Ref`/`!GetAtt` in environments and DefinitionSubstitutions are resolved to the local resources.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .lambda_adapter import REGISTRY
from .template import ROOT, FunctionDecl, functions, resources_of_type

ACCOUNT = "123456789012"
REGION = "us-east-1"
PREFIX = "avatarsmith-local"


@dataclass
class Provisioned:
    refs: dict[str, str] = field(default_factory=dict)
    attrs: dict[tuple[str, str], str] = field(default_factory=dict)
    functions: dict[str, FunctionDecl] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and "Ref" in value:
            return self.refs[value["Ref"]]
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            return self.attrs[(logical_id, attribute)]
        if isinstance(value, dict) and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
            return re.sub(r"\$\{([\w.:]+)\}", lambda m: self._sub(m.group(1)), value["Fn::Sub"])
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else str(value)

    def _sub(self, name: str) -> str:
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            return self.attrs[(logical_id, attribute)]
        return {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": PREFIX,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::Partition": "aws",
        }.get(name) or self.refs[name]


def provision(session: Any, template: dict[str, Any], parameter_overrides: dict[str, str]) -> Provisioned:
    out = Provisioned()
    for name, param in template.get("Parameters", {}).items():
        out.refs[name] = str(parameter_overrides.get(name, param.get("Default", "")))
    _tables(session.client("dynamodb"), template, out)
    _queues(session.client("sqs"), template, out)
    _buckets(session.client("s3"), template, out)
    _buses(session.client("events"), template, out)
    _rules(session.client("events"), template, out)
    _queue_policies(session.client("sqs"), template, out)
    role_arn = _role(session.client("iam"))
    _functions(session.client("lambda"), template, out, role_arn)
    _state_machines(session.client("stepfunctions"), template, out, role_arn)
    for decl in out.functions.values():
        for key, value in decl.environment.items():
            out.environment[key] = out.resolve(value)
    return out


def _physical(logical_id: str) -> str:
    return f"{PREFIX}-{logical_id}"


def _tables(ddb: Any, template: dict[str, Any], out: Provisioned) -> None:
    for logical_id, resource in resources_of_type(template, "AWS::DynamoDB::Table").items():
        props = resource["Properties"]
        name = _physical(logical_id)
        kwargs: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        ddb.create_table(**kwargs)
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={
                    "AttributeName": ttl["AttributeName"],
                    "Enabled": bool(ttl.get("Enabled", True)),
                },
            )
        out.refs[logical_id] = name
        out.attrs[(logical_id, "Arn")] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def _queues(sqs: Any, template: dict[str, Any], out: Provisioned) -> None:
    queues = resources_of_type(template, "AWS::SQS::Queue")
    # Dead-letter queues first: the others' redrive policies point at them.
    ordered = sorted(queues.items(), key=lambda kv: "RedrivePolicy" in kv[1].get("Properties", {}))
    for logical_id, resource in ordered:
        props = resource.get("Properties", {})
        attributes: dict[str, str] = {}
        for key in (
            "VisibilityTimeout",
            "MessageRetentionPeriod",
            "DelaySeconds",
            "ReceiveMessageWaitTimeSeconds",
        ):
            if key in props:
                attributes[key] = str(props[key])
        if "RedrivePolicy" in props:
            policy = props["RedrivePolicy"]
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": out.resolve(policy["deadLetterTargetArn"]),
                    "maxReceiveCount": int(policy["maxReceiveCount"]),
                }
            )
        name = _physical(logical_id)
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        out.refs[logical_id] = url
        out.attrs[(logical_id, "Arn")] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
        out.attrs[(logical_id, "QueueName")] = name
        out.attrs[(logical_id, "QueueUrl")] = url


def _buckets(s3: Any, template: dict[str, Any], out: Provisioned) -> None:
    for logical_id in resources_of_type(template, "AWS::S3::Bucket"):
        name = _physical(logical_id).lower()
        s3.create_bucket(Bucket=name)
        out.refs[logical_id] = name
        out.attrs[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"


def _buses(events: Any, template: dict[str, Any], out: Provisioned) -> None:
    for logical_id in resources_of_type(template, "AWS::Events::EventBus"):
        name = _physical(logical_id)
        arn = events.create_event_bus(Name=name)["EventBusArn"]
        out.refs[logical_id] = name
        out.attrs[(logical_id, "Arn")] = arn
        out.attrs[(logical_id, "Name")] = name


def _rules(events: Any, template: dict[str, Any], out: Provisioned) -> None:
    """EventBridge rules and their targets (moto delivers to SQS targets; Lambda/SNS targets it cannot)."""
    for logical_id, resource in resources_of_type(template, "AWS::Events::Rule").items():
        props = resource["Properties"]
        name = _physical(logical_id)
        bus = out.resolve(props["EventBusName"]) if "EventBusName" in props else "default"
        arn = events.put_rule(
            Name=name,
            EventBusName=bus,
            EventPattern=json.dumps(props["EventPattern"]),
            State=props.get("State", "ENABLED"),
            Description=props.get("Description", ""),
        )["RuleArn"]
        targets = [{"Id": t["Id"], "Arn": out.resolve(t["Arn"])} for t in props.get("Targets", [])]
        if targets:
            events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        out.refs[logical_id] = name
        out.attrs[(logical_id, "Arn")] = arn


def _queue_policies(sqs: Any, template: dict[str, Any], out: Provisioned) -> None:
    for resource in resources_of_type(template, "AWS::SQS::QueuePolicy").values():
        props = resource["Properties"]
        document = _resolve_deep(out, props["PolicyDocument"])
        for queue in props["Queues"]:
            sqs.set_queue_attributes(QueueUrl=out.resolve(queue), Attributes={"Policy": json.dumps(document)})


def _resolve_deep(out: Provisioned, value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("Ref", "Fn::GetAtt", "Fn::Sub"):
        return out.resolve(value)
    if isinstance(value, dict):
        return {k: _resolve_deep(out, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_deep(out, v) for v in value]
    return value


def _role(iam: Any) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
            }
        ],
    }
    return str(
        iam.create_role(RoleName=f"{PREFIX}-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    )


def _functions(lam: Any, template: dict[str, Any], out: Provisioned, role_arn: str) -> None:
    for logical_id, decl in functions(template).items():
        response = lam.create_function(
            FunctionName=logical_id,
            Runtime="python3.12",
            Role=role_arn,
            Handler=f"{decl.module}.{decl.attribute}",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
            Timeout=decl.timeout,
            MemorySize=decl.memory,
        )
        REGISTRY.register(logical_id, decl.module, decl.attribute, timeout=decl.timeout, memory=decl.memory)
        out.functions[logical_id] = decl
        out.refs[logical_id] = logical_id
        out.attrs[(logical_id, "Arn")] = response["FunctionArn"]


def _state_machines(sfn: Any, template: dict[str, Any], out: Provisioned, role_arn: str) -> None:
    for logical_id, resource in resources_of_type(template, "AWS::Serverless::StateMachine").items():
        props = resource["Properties"]
        definition = (ROOT / props["DefinitionUri"]).read_text()
        substitutions = {k: out.resolve(v) for k, v in props.get("DefinitionSubstitutions", {}).items()}
        missing = set(re.findall(r"\$\{(\w+)\}", definition)) - set(substitutions)
        if missing:
            raise RuntimeError(f"{props['DefinitionUri']} uses undeclared substitutions: {sorted(missing)}")
        for key, value in substitutions.items():
            definition = definition.replace("${" + key + "}", value)
        name = _physical(logical_id)
        arn = sfn.create_state_machine(
            name=name, definition=definition, roleArn=role_arn, type=props.get("Type", "STANDARD")
        )["stateMachineArn"]
        out.refs[logical_id] = arn
        out.attrs[(logical_id, "Arn")] = arn
        out.attrs[(logical_id, "Name")] = name
