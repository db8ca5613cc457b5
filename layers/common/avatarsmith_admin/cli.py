"""`avatarsmith-admin`: tenants, API keys, credits and limits, straight against the stack's table.

Targets (one of):
  --local                       the running local stack (`make run`), found through .avatarsmith-local.json
  --table NAME [--region R]     a deployed stack's table (AWS credentials from the usual places)
  --stack NAME [--region R]     a deployed stack, its table read from the CloudFormation output TableName

Every command prints JSON with --json (the secret of a new key is shown once, in that output only).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

LOCAL_STATE_FILE = ".avatarsmith-local.json"


class CliError(Exception):
    pass


def find_local_state(start: Path | None = None) -> dict[str, Any]:
    explicit = os.environ.get("AVATARSMITH_LOCAL_STATE")
    if explicit:  # an explicit pointer is the only one looked at
        candidates = [Path(explicit)]
    else:
        here = (start or Path.cwd()).resolve()
        candidates = [d / LOCAL_STATE_FILE for d in (here, *here.parents)]
        candidates.append(Path(__file__).resolve().parents[3] / LOCAL_STATE_FILE)  # the source checkout
    stale: list[str] = []
    for path in candidates:
        if not path.is_file():
            continue
        try:
            state = dict(json.loads(path.read_text()))
        except ValueError:
            stale.append(f"{path} is unreadable")
            continue
        if _is_running(state):
            return state
        stale.append(f"{path} names pid {state.get('pid')}, which no longer runs")
    if stale:
        raise CliError(
            "no local stack is running (" + "; ".join(stale) + "); start one with `make run`: "
            "its state folder keeps the tenants and keys made before"
        )
    raise CliError(
        f"no running local stack found ({LOCAL_STATE_FILE} is written by `make run`); start it first"
    )


def demo_key(args: argparse.Namespace) -> str:
    """The demo tenant's key, from the running local stack's state folder (the file only it can read)."""
    if not args.local:
        raise CliError("demo-key needs --local: a deployed stack has no demo tenant")
    state = find_local_state()
    if not state.get("state_dir"):
        raise CliError("the running local stack keeps no state folder, so it has no saved demo key")
    path = Path(state["state_dir"]) / "demo-tenant.json"
    try:
        return str(json.loads(path.read_text())["api_key"])
    except (OSError, ValueError, KeyError) as exc:
        raise CliError(f"could not read the demo key from {path}: {exc}") from None


def _is_running(state: dict[str, Any]) -> bool:
    """The pointer is live when its process exists and its emulator answers (a stack killed with
    kill -9 leaves its pointer behind; a pid may also have been reused by another program)."""
    import socket
    from urllib.parse import urlsplit

    try:
        os.kill(int(state["pid"]), 0)
    except (KeyError, ValueError, ProcessLookupError):
        return False
    except PermissionError:
        pass  # exists, owned by someone else: let the port decide
    url = urlsplit(str(state.get("moto_url", "")))
    if url.hostname is None or url.port is None:
        return False
    try:
        with socket.create_connection((url.hostname, url.port), timeout=1):
            return True
    except OSError:
        return False


def _target(args: argparse.Namespace) -> str:
    """Point the AWS clients at the chosen stack and return its table name."""
    if args.local:
        state = find_local_state()
        if not state.get("aws_access_key_id") or not state.get("aws_secret_access_key"):
            raise CliError(
                "the running local stack does not say which emulator credentials it uses (it predates "
                "signed emulator calls): stop it and start it again with `make run`"
            )
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": state["moto_url"],
                # the stack's own emulator credentials (the emulator refuses any other signature)
                "AWS_ACCESS_KEY_ID": str(state["aws_access_key_id"]),
                "AWS_SECRET_ACCESS_KEY": str(state["aws_secret_access_key"]),
                "AWS_DEFAULT_REGION": state.get("region", "us-east-1"),
            }
        )
        return str(state["table_name"])
    if args.region:
        os.environ["AWS_DEFAULT_REGION"] = args.region
    if args.table:
        return str(args.table)
    if args.stack:
        import boto3

        stacks = boto3.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        if "TableName" not in outputs:
            raise CliError(f"stack {args.stack} has no TableName output")
        return outputs["TableName"]
    raise CliError("choose a target: --local, --table NAME or --stack NAME")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="avatarsmith-admin", description=__doc__.split("\n\n")[0])
    target = parser.add_argument_group("target")
    target.add_argument("--local", action="store_true", help="the running local stack")
    target.add_argument("--table", help="a deployed stack's DynamoDB table name")
    target.add_argument("--stack", help="a deployed CloudFormation stack name")
    target.add_argument("--region", help="AWS region of --table/--stack")
    parser.add_argument("--json", action="store_true", help="print JSON")
    commands = parser.add_subparsers(dest="command", required=True)

    def limits(p: argparse.ArgumentParser) -> None:
        p.add_argument("--max-concurrent-jobs", type=int)
        p.add_argument("--submits-per-minute", type=int)
        p.add_argument("--requests-per-minute", type=int)

    commands.add_parser(
        "demo-key", help="with --local: print the demo tenant's API key of the running stack's state folder"
    )
    p = commands.add_parser("create-tenant", help="create a tenant and its first API key")
    p.add_argument("name")
    p.add_argument("--credits", type=int, default=0)
    limits(p)
    commands.add_parser("list-tenants", help="every tenant with its balance")
    p = commands.add_parser("show-tenant", help="balance, reserved credits, limits and recent ledger entries")
    p.add_argument("tenant_id")
    p.add_argument("--entries", type=int, default=20)
    p = commands.add_parser("audit", help="check that the ledger adds up to the balance")
    p.add_argument("tenant_id")
    p = commands.add_parser("issue-key", help="issue another API key (the secret is shown once)")
    p.add_argument("tenant_id")
    p = commands.add_parser("list-keys", help="the tenant's keys: id, prefix, status, last use")
    p.add_argument("tenant_id")
    p = commands.add_parser("revoke-key", help="revoke a key")
    p.add_argument("tenant_id")
    p.add_argument("key_id")
    p = commands.add_parser("rotate-key", help="issue a new key and revoke the old one")
    p.add_argument("tenant_id")
    p.add_argument("key_id")
    p = commands.add_parser("grant-credits", help="add credits (a ledger entry)")
    p.add_argument("tenant_id")
    p.add_argument("amount", type=int)
    p.add_argument("--note")
    p = commands.add_parser("deduct-credits", help="remove credits (never below zero)")
    p.add_argument("tenant_id")
    p.add_argument("amount", type=int)
    p.add_argument("--note")
    p = commands.add_parser("set-limits", help="per-tenant limits (unset ones keep their value)")
    p.add_argument("tenant_id")
    limits(p)
    p = commands.add_parser("list-community", help="the community gallery, newest first, with owners")
    p.add_argument("--limit", type=int, default=50)
    p = commands.add_parser(
        "takedown", help="remove an entry (and its image copies) from the community gallery"
    )
    p.add_argument("entry_id")
    p.add_argument("--bucket", help="the images bucket (found by itself with --local and --stack)")
    p = commands.add_parser(
        "check-backends",
        help="one minimal generation per configured backend model, through the public API (run after deploy)",
    )
    p.add_argument("--model", action="append", help="check only this model id (repeatable)")
    p.add_argument("--timeout", type=float, default=300, help="seconds to wait for each job (default 300)")
    p.add_argument("--api-url", help="the API's base URL (found by itself with --local and --stack)")
    return parser


def _limits(args: argparse.Namespace) -> dict[str, int | None]:
    return {
        "max_concurrent_jobs": args.max_concurrent_jobs,
        "submits_per_minute": args.submits_per_minute,
        "requests_per_minute": args.requests_per_minute,
    }


def run(args: argparse.Namespace) -> Any:
    from avatarsmith.dal.clients import reset_clients
    from avatarsmith.logic.tenant_admin import TenantAdmin
    from avatarsmith.models.billing import TenantLimits

    table = _target(args)
    reset_clients()  # the target may have changed the endpoint or region
    admin = TenantAdmin.for_table(table)
    command = args.command
    if command in ("grant-credits", "deduct-credits") and args.amount <= 0:
        raise CliError("amount must be a positive number of credits")
    if command == "create-tenant":
        if args.credits < 0:
            raise CliError("--credits cannot be negative")
        chosen = {k: v for k, v in _limits(args).items() if v is not None}
        created = admin.create_tenant(args.name, credits=args.credits, limits=TenantLimits(**chosen))
        return {
            "tenant_id": created["tenant_id"],
            "name": created["name"],
            "api_key": created["api_key"],
            "key_id": created["key"]["key_id"],
            "key_prefix": created["key"]["prefix"],
            "credits": created["credits"],
        }
    if command == "list-tenants":
        return {"tenants": admin.list_tenants()}
    if command == "show-tenant":
        return admin.account(args.tenant_id, ledger_limit=args.entries)
    if command == "audit":
        return admin.audit(args.tenant_id)
    if command == "issue-key":
        issued = admin.issue_key(args.tenant_id)
        return {"tenant_id": args.tenant_id, "api_key": issued["api_key"], **issued["key"]}
    if command == "list-keys":
        return {"tenant_id": args.tenant_id, "keys": admin.list_keys(args.tenant_id)}
    if command == "revoke-key":
        return admin.revoke_key(args.tenant_id, args.key_id)
    if command == "rotate-key":
        rotated = admin.rotate_key(args.tenant_id, args.key_id)
        return {"api_key": rotated["api_key"], **rotated["key"], "revoked": rotated["revoked"]}
    if command in ("grant-credits", "deduct-credits"):
        amount = args.amount if command == "grant-credits" else -args.amount
        entry = admin.adjust_credits(args.tenant_id, amount, note=args.note)
        balance = admin.account(args.tenant_id, ledger_limit=1)["balance"]
        return {"tenant_id": args.tenant_id, "entry": entry.model_dump(exclude_none=True), "balance": balance}
    if command in ("list-community", "takedown"):
        return _community(table, args)
    if command == "check-backends":
        from .check_backends import run_checks

        try:
            return run_checks(admin, _api_url(args), only=args.model, timeout=args.timeout)
        except RuntimeError as exc:  # the deployment's API could not even list its models
            raise CliError(str(exc)) from None
    if command == "set-limits":
        return {
            "tenant_id": args.tenant_id,
            "limits": admin.set_limits(args.tenant_id, **_limits(args)).model_dump(),
        }
    raise CliError(f"unknown command {command}")


def _api_url(args: argparse.Namespace) -> str:
    if args.api_url:
        return str(args.api_url)
    if args.local:
        return str(find_local_state()["api_url"])
    if args.stack:
        import boto3

        stacks = boto3.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        if "ApiUrl" in outputs:
            return outputs["ApiUrl"]
    raise CliError("check-backends calls the public API: pass --api-url URL (the ApiUrl output)")


def _images_bucket(args: argparse.Namespace) -> str:
    if args.bucket:
        return str(args.bucket)
    if args.local:
        return str(find_local_state()["images_bucket_name"])
    if args.stack:
        import boto3

        stacks = boto3.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        if "ImagesBucketName" in outputs:
            return outputs["ImagesBucketName"]
    raise CliError(
        "takedown also deletes the entry's images: pass --bucket NAME (the ImagesBucketName output)"
    )


def _community(table: str, args: argparse.Namespace) -> dict[str, Any]:
    from avatarsmith.dal.community import CommunityRepository
    from avatarsmith.dal.storage import ImageStore
    from avatarsmith.dal.table import Table
    from avatarsmith.errors import NotFoundError
    from avatarsmith.logic.community import take_down

    community = CommunityRepository(Table(table))
    if args.command == "list-community":
        entries, _ = community.list_page(limit=max(1, min(args.limit, 500)), after_entry_id=None)
        return {"entries": [e.model_dump(exclude={"image_key", "thumbnail_key"}) for e in entries]}
    try:
        entry = take_down(community, ImageStore(_images_bucket(args)), args.entry_id)
    except NotFoundError as exc:
        raise CliError(exc.message) from exc
    return {"taken_down": entry.id, "tenant_id": entry.tenant_id, "avatar_id": entry.avatar_id}


def _human(result: dict[str, Any]) -> str:
    lines = []
    for key, value in result.items():
        if isinstance(value, list):
            lines.append(f"{key}:")
            lines.extend(f"  - {json.dumps(v, sort_keys=True)}" for v in value)
        elif isinstance(value, dict):
            lines.append(f"{key}: {json.dumps(value, sort_keys=True)}")
        else:
            lines.append(f"{key}: {value}")
    if "api_key" in result:
        lines.append("(the API key is shown only now: store it safely)")
    return "\n".join(lines)


def _aws_problem(exc: Exception) -> str:
    """One line for an AWS failure: what is wrong and what to do."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, NoRegionError

    if isinstance(exc, NoCredentialsError):
        return (
            "no AWS credentials found: run `aws configure` (or set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY), or use --local for the local stack"
        )
    if isinstance(exc, NoRegionError):
        return "no AWS region: pass --region (or set AWS_REGION)"
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach AWS: {exc}"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"AWS refused {exc.operation_name}: {error.get('Message') or error.get('Code') or exc}"
    return f"AWS call failed: {exc}"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError

    from avatarsmith.errors import AvatarsmithError
    from avatarsmith.logic.tenant_admin import AdminError

    try:
        if args.command == "demo-key":  # a bare key on stdout, for KEY=$(avatarsmith-admin --local demo-key)
            print(demo_key(args))
            return 0
        try:
            result = run(args)
        except (BotoCoreError, ClientError) as exc:
            raise CliError(_aws_problem(exc)) from None
        except AvatarsmithError as exc:  # the data layer wraps AWS failures; name the AWS one
            if not isinstance(exc, AdminError) and isinstance(exc.__cause__, BotoCoreError | ClientError):
                raise CliError(_aws_problem(exc.__cause__)) from None
            raise
    except (CliError, AdminError) as exc:
        if args.json:
            print(json.dumps({"error": str(exc)}))
        else:
            print(f"avatarsmith-admin: {exc}", file=sys.stderr)
        return 2
    if args.command == "check-backends":
        from .check_backends import human

        print(json.dumps(result, indent=2, sort_keys=True) if args.json else human(result))
        return 0 if result["ok"] else 1
    print(json.dumps(result, indent=2, sort_keys=True) if args.json else _human(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
