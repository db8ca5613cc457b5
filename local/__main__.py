"""`make run` / `python -m local`: start the whole local stack and wait for Ctrl-C."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path


def state_dir_from_env(root: Path) -> Path:
    """AVATARSMITH_STATE_DIR, else .avatarsmith/ in the checkout."""
    configured = os.environ.get("AVATARSMITH_STATE_DIR")
    return Path(configured).expanduser().resolve() if configured else root / ".avatarsmith"


def reset() -> None:
    """`make reset`: empty the state folder (refused while a stack is using it)."""
    from . import durable

    state_dir = state_dir_from_env(Path(__file__).resolve().parent.parent)
    try:
        fd = durable.lock_state_dir(state_dir)
    except BlockingIOError:
        sys.exit(f"a local stack is using {state_dir}: stop it first")
    durable.reset_state_dir(state_dir)
    os.close(fd)
    print(f"emptied {state_dir}")


def local_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """Added to every function's environment: local settings (the loopback switch, the test-async
    model's pace), and the console's log level."""
    settings = {
        "AVATARSMITH_ALLOW_LOOPBACK_URLS": environ.get("AVATARSMITH_ALLOW_LOOPBACK_URLS", "0"),
        "LOG_LEVEL": environ["LOG_LEVEL"],
        "POWERTOOLS_LOG_LEVEL": environ["POWERTOOLS_LOG_LEVEL"],
    }
    settings.update({k: v for k, v in environ.items() if k.startswith("AVATARSMITH_TEST_BACKEND_")})
    return settings


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    from .backend_env import BackendSettingsError, from_environment, unset_keys_variable

    try:
        backends = from_environment(os.environ)
    except BackendSettingsError as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 2
    unset_keys_variable()
    root = Path(__file__).resolve().parent.parent
    state_dir = state_dir_from_env(root)
    from . import durable

    if "--reset" in args:  # start empty: forget the state folder first
        durable.reset_state_dir(state_dir)
    try:
        durable.lock_state_dir(state_dir)
    except BlockingIOError:
        print(
            f"another local stack is using {state_dir} (stop it, or set AVATARSMITH_STATE_DIR)",
            file=sys.stderr,
        )
        return 1
    port = int(os.environ.get("PORT", "3000"))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", os.environ["LOG_LEVEL"])
    from .stack import EmbeddedStack

    print_events = os.environ.get("AVATARSMITH_PRINT_EVENTS", "1") != "0"
    stack = EmbeddedStack(
        watch_events=print_events,
        state_file=Path(os.environ.get("AVATARSMITH_LOCAL_STATE") or root / ".avatarsmith-local.json"),
        state_dir=state_dir,
        api_port=port,
        api_key=os.environ.get("AVATARSMITH_API_KEY") or None,
        extra_env=local_settings(os.environ),
        backends=backends,
    )
    started = time.monotonic()
    print(
        "starting the local stack: the emulator, the function artifacts (their dependencies are"
        " installed on the first start only) and the workers...",
        flush=True,
    )
    from .stack import StackConfigError

    try:
        info = stack.start()
    except StackConfigError as exc:
        print(f"could not start the local stack: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(
            f"could not start the local stack: {exc} (is port {port} in use? set PORT=...)", file=sys.stderr
        )
        return 1
    recovered = stack.recovered or {}
    summary = (
        f"{recovered.get('items', 0)} items, {recovered.get('objects', 0)} objects,"
        f" {recovered.get('replayed', 0)} journal entries in {recovered.get('seconds', 0)} s"
    )
    admin = _admin_command()
    print(
        f"""
Avatarsmith local stack is running (started in {time.monotonic() - started:.1f} s; Ctrl-C stops it).

  State folder : {state_dir}   (kept across restarts and crashes; `make reset` empties it)
  Recovered    : {summary}

  API base URL : {info.api_url}
  API key      : {info.api_key}
  AWS emulator : {info.moto_url}   (moto: DynamoDB, SQS, S3, Step Functions, EventBridge)
  Backends     : {backends.describe()}
  Emulator keys: {state_dir / "emulator.json"}   (every call must be signed with them; docs/local-stack.md)
  Job events   : one line per event below (AVATARSMITH_PRINT_EVENTS=0 to silence)
  Webhooks     : receivers on 127.0.0.1 work when AVATARSMITH_ALLOW_LOOPBACK_URLS=1 is set
  Demo tenant  : {info.tenant_id}
  Admin command: {admin} --local --help   (tenants, keys, credits)

Try it:
  curl -s -X POST {info.api_url}/v1/avatars/generate \\
    -H "Authorization: Bearer {info.api_key}" -H "Content-Type: application/json" \\
    -d '{{"prompt": "smiling woman with red hair and glasses", "style": "professional", "num_variations": 2}}'
  curl -s "{info.api_url}/v1/jobs/<job id>?wait_for_completion=true&timeout_seconds=30" \\
    -H "Authorization: Bearer {info.api_key}"

Or with the CLI (installed into .venv by make):
  export AVATARSMITH_BASE_URL={info.api_url} AVATARSMITH_API_KEY={info.api_key}
  .venv/bin/avatarsmith generate "smiling woman with red hair and glasses" \\
    --style professional --num 2 --wait -o out/

Playground: open {info.api_url}/ in a browser and paste the API key.
""",
        flush=True,
    )
    printer = None
    if print_events:
        import boto3

        from .event_watch import EventPrinter

        printer = EventPrinter(boto3.session.Session().client("sqs"), info.event_watch_queue_url)
        printer.start()
    stopped = threading.Event()
    # Explicit handlers: a shell may start us with SIGINT ignored (background jobs), and Ctrl-C must work.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    while not stopped.wait(0.5):
        pass
    print("stopping…", flush=True)
    if printer is not None:
        printer.stop()
    stack.stop()
    return 0


def _admin_command() -> str:
    """Where avatarsmith-admin is (the venv's bin folder, as `make run` installs it), relative if short."""
    from pathlib import Path

    path = Path(sys.executable).parent / "avatarsmith-admin"
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
