"""Offline validation of the SAM template, after the SAM transform.

`cfn-lint template.yaml` checks AWS::Serverless::* resources only against the SAM schema, so a typo
in a `!Ref` inside Globals, an environment variable, a policy template or DefinitionSubstitutions
passes. This script closes that gap without AWS credentials or network:

1. checks that the `${Name}` placeholders of every state machine definition and its
   DefinitionSubstitutions keys match exactly (drift cfn-lint cannot see);
2. rewrites local CodeUri/ContentUri/DefinitionUri paths to `s3://local-artifacts/<path>`, as
   `sam package` would, after checking that each path exists;
3. runs the SAM translator with a stub managed-policy loader (no IAM calls);
4. runs cfn-lint on the transformed CloudFormation template.

Any cfn-lint error or warning fails (exit 1); informational findings are printed only.

Usage: python scripts/validate_template.py template.yaml [--output transformed.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeGuard

from cfnlint.api import lint_file
from cfnlint.config import ManualArgs
from cfnlint.decode import decode_str
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform

ARTIFACT_BUCKET = "local-artifacts"

# Properties that point at local files or folders, per SAM resource type (`sam package` uploads them).
LOCAL_ARTIFACT_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
    "AWS::Serverless::Api": "DefinitionUri",
    "AWS::Serverless::HttpApi": "DefinitionUri",
}

# Managed policies the translator itself may attach (X-Ray tracing, basic execution role).
IMPLICIT_MANAGED_POLICIES = (
    "AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess",
    "AWSXRayDaemonWriteAccess",
)

# cfn-lint rules ignored on the transformed template, each with the reason. Keep this empty unless a
# finding is caused by the translator's output rather than by our template.
IGNORED_RULES: dict[str, str] = {}

PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


class ValidationError(Exception):
    """A problem the script reports and exits non-zero on."""


class OfflineManagedPolicyLoader(ManagedPolicyLoader):
    """Maps AWS managed policy names to ARNs without calling IAM."""

    def __init__(self, names: Iterable[str]) -> None:  # no IAM client on purpose
        self._policy_map = {name: f"arn:aws:iam::aws:policy/{name}" for name in sorted(set(names))}
        self.max_items = 0

    def load(self) -> dict[str, str]:
        return dict(self._policy_map)


def load_template(path: Path) -> dict[str, Any]:
    template, matches = decode_str(path.read_text(encoding="utf-8"))
    if matches or not isinstance(template, dict):
        details = "\n".join(f"  {m.rule.id} {m.message}" for m in matches)
        raise ValidationError(f"{path} could not be parsed:\n{details}")
    # cfn-lint's node types -> plain dicts/lists/strings for the translator.
    plain: dict[str, Any] = json.loads(json.dumps(template, default=str))
    return plain


def _is_local(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and not value.startswith("s3://")


def _artifact_slots(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(label, owner mapping, property name) of every local artifact property."""
    function_globals = template.get("Globals", {}).get("Function", {})
    if _is_local(function_globals.get("CodeUri")):
        yield "Globals.Function", function_globals, "CodeUri"
    for logical_id, resource in template.get("Resources", {}).items():
        prop = LOCAL_ARTIFACT_PROPERTIES.get(resource.get("Type", ""))
        properties = resource.get("Properties") or {}
        if prop and _is_local(properties.get(prop)):
            yield logical_id, properties, prop


def check_definition_substitutions(template: dict[str, Any], base_dir: Path) -> list[str]:
    """Every ${Name} in a state machine definition is substituted, and every substitution is used."""
    problems: list[str] = []
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::StateMachine":
            continue
        properties = resource.get("Properties") or {}
        uri = properties.get("DefinitionUri")
        if _is_local(uri):
            asl_path = base_dir / uri
            if not asl_path.is_file():
                problems.append(
                    f"{logical_id}: state machine definition {asl_path} does not exist yet, so its "
                    "${...} placeholders cannot be checked against DefinitionSubstitutions"
                )
                continue
            text = asl_path.read_text(encoding="utf-8")
            try:
                json.loads(text)
            except json.JSONDecodeError as exc:
                problems.append(f"{logical_id}: {uri} is not valid JSON: {exc}")
        elif "Definition" in properties:
            text = json.dumps(properties["Definition"])
        else:
            continue  # definition in S3: nothing local to compare
        used = set(PLACEHOLDER.findall(text))
        declared = set((properties.get("DefinitionSubstitutions") or {}).keys())
        if missing := sorted(used - declared):
            problems.append(f"{logical_id}: placeholders without a DefinitionSubstitutions entry: {missing}")
        if unused := sorted(declared - used):
            problems.append(f"{logical_id}: DefinitionSubstitutions keys the definition never uses: {unused}")
        if used == declared:
            print(f"ok: {logical_id} DefinitionSubstitutions match the definition: {sorted(used)}")
    return problems


def rewrite_local_artifacts(template: dict[str, Any], base_dir: Path) -> list[str]:
    problems: list[str] = []
    for label, owner, prop in _artifact_slots(template):
        local = str(owner[prop])
        if not (base_dir / local).exists():
            problems.append(f"{label}: {prop} {local} does not exist")
        owner[prop] = f"s3://{ARTIFACT_BUCKET}/{local.strip('/')}"
    return problems


def managed_policy_names(template: dict[str, Any]) -> set[str]:
    """AWS managed policy names (not ARNs) listed in any Policies property, plus implicit ones."""
    names = set(IMPLICIT_MANAGED_POLICIES)
    owners = [template.get("Globals", {}).get("Function", {})]
    owners += [
        r.get("Properties") or {}
        for r in template.get("Resources", {}).values()
        if str(r.get("Type", "")).startswith("AWS::Serverless::")
    ]
    for properties in owners:
        policies = properties.get("Policies")
        entries = policies if isinstance(policies, list) else [policies]
        names.update(p for p in entries if isinstance(p, str) and not p.startswith("arn:"))
    return names


def sam_transform(template: dict[str, Any]) -> dict[str, Any]:
    loader = OfflineManagedPolicyLoader(managed_policy_names(template))
    try:
        return transform(template, {}, loader)
    except InvalidDocumentException as exc:
        causes = "\n".join(f"  {cause.message}" for cause in exc.causes)
        raise ValidationError(f"SAM transform failed:\n{causes}") from exc


def lint(path: Path) -> tuple[int, int]:
    """Run cfn-lint on path and print findings. Returns (errors, warnings)."""
    config = ManualArgs(ignore_checks=sorted(IGNORED_RULES))
    counts = {"error": 0, "warning": 0, "informational": 0}
    for match in lint_file(path, config=config):
        severity = str(match.rule.severity).lower()
        counts[severity] = counts.get(severity, 0) + 1
        where = f"{path}:{match.linenumber}:{match.columnnumber}"
        print(f"{match.rule.id} [{severity}] {match.message}\n  {where}")
    return counts["error"], counts["warning"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("template", type=Path, nargs="?", default=Path("template.yaml"))
    parser.add_argument("--output", type=Path, help="keep the transformed template at this path")
    args = parser.parse_args(argv)

    # The translator derives the partition (and managed policy ARNs) from the region; no credentials used.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    template_path: Path = args.template
    if not template_path.is_file():
        print(f"error: {template_path} not found", file=sys.stderr)
        return 2
    base_dir = template_path.resolve().parent

    try:
        template = load_template(template_path)
        for check in (check_definition_substitutions, rewrite_local_artifacts):
            if problems := check(template, base_dir):
                raise ValidationError("\n".join(f"  {p}" for p in problems))
        transformed = sam_transform(template)
    except ValidationError as exc:
        print(f"error: {template_path}:\n{exc}", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory(prefix="avatarsmith-cfn-") as tmp:
        out = args.output or Path(tmp) / "transformed.json"
        out.write_text(json.dumps(transformed, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        errors, warnings = lint(out)

    resources = len(transformed.get("Resources", {}))
    for rule_id, reason in IGNORED_RULES.items():
        print(f"note: ignored {rule_id}: {reason}")
    print(
        f"SAM transform: {resources} CloudFormation resources; "
        f"cfn-lint: {errors} error(s), {warnings} warning(s)"
    )
    return 1 if errors or warnings else 0


if __name__ == "__main__":
    sys.exit(main())
