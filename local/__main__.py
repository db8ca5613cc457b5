"""`make run` / `python -m local`: start the whole local stack and wait for Ctrl-C."""

from __future__ import annotations

import os
import signal
import sys
import threading


def main() -> int:
    port = int(os.environ.get("PORT", "3000"))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", os.environ["LOG_LEVEL"])
    from pathlib import Path

    from .stack import EmbeddedStack

    print_events = os.environ.get("AVATARSMITH_PRINT_EVENTS", "1") != "0"
    stack = EmbeddedStack(
        watch_events=print_events,
        state_file=Path(__file__).resolve().parent.parent / ".avatarsmith-local.json",
        api_port=port,
        api_key=os.environ.get("AVATARSMITH_API_KEY") or None,
        # Added to every function's environment: local settings, and the console's log level.
        extra_env={
            "AVATARSMITH_ALLOW_LOOPBACK_URLS": os.environ.get("AVATARSMITH_ALLOW_LOOPBACK_URLS", "0"),
            "LOG_LEVEL": os.environ["LOG_LEVEL"],
            "POWERTOOLS_LOG_LEVEL": os.environ["POWERTOOLS_LOG_LEVEL"],
        },
    )
    try:
        info = stack.start()
    except OSError as exc:
        print(
            f"could not start the local stack: {exc} (is port {port} in use? set PORT=...)", file=sys.stderr
        )
        return 1
    admin = _admin_command()
    print(
        f"""
Avatarsmith local stack is running (state lives as long as this process; Ctrl-C stops it).

  API base URL : {info.api_url}
  API key      : {info.api_key}
  AWS emulator : {info.moto_url}   (moto: DynamoDB, SQS, S3, Step Functions, EventBridge)
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
