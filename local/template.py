"""Read template.yaml (with its CloudFormation short-form tags) so the local stack provisions exactly
what the template declares: tables with their keys and indexes, queues with their redrive policies,
the bucket, the bus, the functions (handler, timeout, environment, events) and the state machine."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


@dataclass
class FunctionDecl:
    logical_id: str
    module: str  # importable module path from the repository root, e.g. functions.api.app
    attribute: str  # e.g. lambda_handler
    timeout: int
    memory: int
    environment: dict[str, Any]
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    handler: str = ""  # as the template says, relative to the artifact: app.lambda_handler
    layers: list[str] = field(default_factory=list)  # logical ids of its layers (Globals first)
    reserved_concurrency: int | None = None

    def http_routes(self) -> list[tuple[str, str]]:
        return [
            (e["Properties"]["Method"].upper(), e["Properties"]["Path"])
            for e in self.events.values()
            if e.get("Type") == "HttpApi"
        ]

    def sqs_sources(self) -> list[tuple[str, int]]:
        """(queue logical id, batch size) for each SQS event source."""
        out = []
        for event in self.events.values():
            if event.get("Type") == "SQS":
                props = event["Properties"]
                out.append((_ref_target(props["Queue"]), int(props.get("BatchSize", 10))))
        return out

    def schedules(self) -> list[float]:
        """The period in seconds of each Schedule event (`rate(N minutes)` and friends)."""
        return [
            parse_rate(e["Properties"]["Schedule"])
            for e in self.events.values()
            if e.get("Type") == "Schedule"
        ]


_RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def parse_rate(expression: str) -> float:
    """`rate(5 minutes)` -> 300.0. cron() expressions are not run locally."""
    inner = expression.strip()
    if not (inner.startswith("rate(") and inner.endswith(")")):
        raise ValueError(f"only rate() schedules run locally, not {expression!r}")
    amount, unit = inner[5:-1].split()
    return float(amount) * _RATE_UNITS[unit]


def _ref_target(value: Any) -> str:
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    raise ValueError(f"expected a !Ref or !GetAtt, got {value!r}")


def resources_of_type(template: dict[str, Any], type_name: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_name}


def workflow_functions(template: dict[str, Any]) -> set[str]:
    """The functions the state machines invoke (named in their DefinitionSubstitutions)."""
    names = set(resources_of_type(template, "AWS::Serverless::Function"))
    out = set()
    for machine in resources_of_type(template, "AWS::Serverless::StateMachine").values():
        for value in (machine["Properties"].get("DefinitionSubstitutions") or {}).values():
            target = value.get("Fn::GetAtt", [None])[0] if isinstance(value, dict) else None
            if target in names:
                out.add(str(target))
    return out


def execution_starters(template: dict[str, Any]) -> set[str]:
    """The functions whose environment names a state machine: those that start executions."""
    machines = set(resources_of_type(template, "AWS::Serverless::StateMachine"))
    starters = set()
    for name, decl in functions(template).items():
        for value in decl.environment.values():
            names_one = isinstance(value, dict) and bool({"Ref", "Fn::GetAtt"} & set(value))
            if names_one and _ref_target(value) in machines:
                starters.add(name)
    return starters


def functions(template: dict[str, Any]) -> dict[str, FunctionDecl]:
    globals_fn = template.get("Globals", {}).get("Function", {})
    shared_env = globals_fn.get("Environment", {}).get("Variables", {})
    out: dict[str, FunctionDecl] = {}
    for logical_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        props = resource["Properties"]
        code_dir = str(props["CodeUri"]).strip("/").replace("/", ".")
        module_name, _, attribute = str(props["Handler"]).rpartition(".")
        env = dict(shared_env)
        env.update(props.get("Environment", {}).get("Variables", {}))
        out[logical_id] = FunctionDecl(
            logical_id=logical_id,
            module=f"{code_dir}.{module_name}",
            attribute=attribute,
            timeout=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
            memory=int(props.get("MemorySize", globals_fn.get("MemorySize", 128))),
            environment=env,
            events=props.get("Events", {}) or {},
            handler=str(props["Handler"]),
            layers=[
                _ref_target(layer) for layer in [*globals_fn.get("Layers", []), *props.get("Layers", [])]
            ],
            reserved_concurrency=props.get("ReservedConcurrentExecutions"),
        )
    return out
